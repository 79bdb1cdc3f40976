//! Encoding functions: base64, URL encoding, Punycode, zlib and gzip, hashes (the codecs
//! themselves are in encoding.rs).

use super::*;

/// The result type of a function of this family, or None when `name` is not one of them.
pub(super) fn return_type(name: &str, _args: &[ScalarType]) -> Option<ScalarType> {
    use ScalarType::*;
    Some(match name {
        "hash_sha256"
        | "hash_sha1"
        | "hash_md5"
        | "punycode_from_string"
        | "zlib_compress_to_base64_string"
        | "zlib_decompress_from_base64_string"
        | "gzip_compress_to_base64_string"
        | "gzip_decompress_from_base64_string"
        | "base64_encode_fromguid"
        | "punycode_to_string"
        | "punycode_domain_to_string"
        | "punycode_domain_from_string"
        | "base64_encode_tostring"
        | "base64_decode_tostring"
        | "url_decode"
        | "url_encode"
        | "base64_encodestring"
        | "base64_decodestring" => String,
        "hash" | "hash_xxhash64" => Long,
        "url_encode_component" | "url_decode_component" => String,
        "base64_decode_toguid" => Guid,
        "base64_decode_toarray" => Dynamic,
        "base64_encode_fromarray" => String,
        _ => return None,
    })
}

/// Evaluates a function of this family, or None when `name` is not one of them.
pub(super) fn call(name: &str, args: &[Value], result: ScalarType) -> Option<Value> {
    let s = |i: usize| text(args, i);
    Some(match name {
        "base64_decode_toarray" => match encoding::base64_decode(&s(0)) {
            Some(bytes) => Value::dynamic(J::Array(bytes.into_iter().map(J::from).collect())),
            None => Value::Null,
        },
        "base64_encode_fromarray" => match args.first().and_then(dynamic_array) {
            Some(items) => {
                let bytes: Vec<u8> = items
                    .iter()
                    .filter_map(J::as_u64)
                    .map(|b| b as u8)
                    .collect();
                Value::str(encoding::base64_encode(&bytes))
            }
            None => Value::Null,
        },
        "base64_encode_fromguid" => match arg(args, 0) {
            Value::Guid(g) => Value::str(encoding::base64_encode(&g.to_bytes_le())),
            _ => Value::Null,
        },
        "base64_decode_toguid" => match encoding::base64_decode(&s(0)).map(<[u8; 16]>::try_from) {
            Some(Ok(bytes)) => Value::Guid(uuid::Uuid::from_bytes_le(bytes)),
            _ => Value::Null,
        },
        "url_encode_component" => super::call("url_encode", args, result),
        "url_decode_component" => super::call("url_decode", args, result),
        "hash_sha256" => Value::str(encoding::sha256_hex(s(0).as_bytes())),
        "hash_sha1" => Value::str(encoding::sha1_hex(s(0).as_bytes())),
        "zlib_compress_to_base64_string" => Value::str(encoding::base64_encode(
            &encoding::zlib_compress(s(0).as_bytes()),
        )),
        "gzip_compress_to_base64_string" => Value::str(encoding::base64_encode(
            &encoding::gzip_compress(s(0).as_bytes()),
        )),
        // Text that is not base64 of a stream of UTF-8 decompresses to an empty string.
        "zlib_decompress_from_base64_string" | "gzip_decompress_from_base64_string" => {
            const LIMIT: usize = 64 << 20;
            let bytes = encoding::base64_decode(&s(0)).and_then(|b| {
                if name.starts_with("zlib") {
                    encoding::zlib_decompress(&b, LIMIT)
                } else {
                    encoding::gzip_decompress(&b, LIMIT)
                }
            });
            Value::str(
                bytes
                    .and_then(|b| String::from_utf8(b).ok())
                    .unwrap_or_default(),
            )
        }
        "punycode_from_string" => encoding::punycode_encode(&s(0)).map_or(Value::Null, Value::str),
        "punycode_to_string" => encoding::punycode_decode(&s(0)).map_or(Value::Null, Value::str),
        // Domains: each label (split at any Unicode full stop) with non-ASCII text becomes
        // `xn--` and its Punycode, and back.
        "punycode_domain_to_string" | "punycode_domain_from_string" => {
            let labels: Option<Vec<String>> = s(0)
                .split(['.', '\u{3002}', '\u{FF0E}', '\u{FF61}'])
                .map(|label| {
                    if name == "punycode_domain_to_string" {
                        if label.is_ascii() {
                            Some(label.to_string())
                        } else {
                            encoding::punycode_encode(label).map(|p| format!("xn--{p}"))
                        }
                    } else {
                        match label.get(..4).filter(|p| p.eq_ignore_ascii_case("xn--")) {
                            Some(_) => encoding::punycode_decode(&label[4..]),
                            None => Some(label.to_string()),
                        }
                    }
                })
                .collect();
            labels.map_or(Value::Null, |l| Value::str(l.join(".")))
        }
        "hash_md5" => Value::str(encoding::md5_hex(s(0).as_bytes())),
        // The xxHash64 bits read as a signed long; a modulo keeps the result in [0, m).
        // Datetimes and timespans hash their .NET ticks (little-endian), other values their text.
        "hash" | "hash_xxhash64" => {
            const DOTNET_EPOCH_TICKS: i64 = 621_355_968_000_000_000;
            let bytes = match arg(args, 0) {
                Value::DateTime(t) => t.wrapping_add(DOTNET_EPOCH_TICKS).to_le_bytes().to_vec(),
                Value::TimeSpan(t) => t.to_le_bytes().to_vec(),
                _ => s(0).into_bytes(),
            };
            let h = encoding::xxhash64(&bytes) as i64;
            match as_i64(&arg(args, 1)) {
                Some(m) if m > 0 => Value::Long(h.rem_euclid(m)),
                _ => Value::Long(h),
            }
        }
        "base64_encode_tostring" | "base64_encodestring" => {
            Value::str(encoding::base64_encode(s(0).as_bytes()))
        }
        "base64_decode_tostring" | "base64_decodestring" => match encoding::base64_decode(&s(0)) {
            // Bytes that are not UTF-8 decode to an empty string, as in Kusto.
            Some(bytes) => Value::str(String::from_utf8(bytes).unwrap_or_default()),
            None => Value::Null,
        },
        "url_decode" => {
            let t = s(0);
            let bytes = t.as_bytes();
            let mut out = Vec::new();
            let mut i = 0;
            while i < bytes.len() {
                let b = bytes[i];
                if b == b'%'
                    && i + 2 < bytes.len()
                    && let Ok(x) = u8::from_str_radix(t.get(i + 1..i + 3).unwrap_or(""), 16)
                {
                    out.push(x);
                    i += 3;
                    continue;
                }
                out.push(if b == b'+' { b' ' } else { b });
                i += 1;
            }
            Value::str(String::from_utf8_lossy(&out))
        }
        "url_encode" => {
            let mut out = String::new();
            for b in s(0).bytes() {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    out.push(b as char);
                } else {
                    out.push_str(&format!("%{b:02x}"));
                }
            }
            Value::str(out)
        }
        _ => return None,
    })
}
