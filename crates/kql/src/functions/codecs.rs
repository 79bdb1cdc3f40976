//! Encoding functions: base64, URL encoding, Punycode, zlib and gzip, hashes (the codecs
//! themselves are in encoding.rs).

use super::*;

/// The functions of this family.
pub(super) static FUNCTIONS: &[Function] = &[
    fixed(
        "base64_decode_toarray",
        T::Dynamic,
        |args, _| match encoding::base64_decode(&text(args, 0)) {
            Some(bytes) => Value::dynamic(J::Array(bytes.into_iter().map(J::from).collect())),
            None => Value::Null,
        },
    )
    .grows(Growth::Elements),
    fixed("base64_encode_fromarray", T::String, |args, _| {
        match args.first().and_then(dynamic_array) {
            Some(items) => {
                let bytes: Vec<u8> = items
                    .iter()
                    .filter_map(J::as_u64)
                    .map(|b| b as u8)
                    .collect();
                Value::str(encoding::base64_encode(&bytes))
            }
            None => Value::Null,
        }
    }),
    fixed("base64_encode_fromguid", T::String, |args, _| {
        match arg(args, 0) {
            Value::Guid(g) => Value::str(encoding::base64_encode(&g.to_bytes_le())),
            _ => Value::Null,
        }
    }),
    fixed(
        "base64_decode_toguid",
        T::Guid,
        |args, _| match encoding::base64_decode(&text(args, 0)).map(<[u8; 16]>::try_from) {
            Some(Ok(bytes)) => Value::Guid(uuid::Uuid::from_bytes_le(bytes)),
            _ => Value::Null,
        },
    ),
    fixed("hash_sha256", T::String, |args, _| {
        Value::str(encoding::sha256_hex(text(args, 0).as_bytes()))
    }),
    fixed("hash_sha1", T::String, |args, _| {
        Value::str(encoding::sha1_hex(text(args, 0).as_bytes()))
    }),
    fixed("zlib_compress_to_base64_string", T::String, |args, _| {
        Value::str(encoding::base64_encode(&encoding::zlib_compress(
            text(args, 0).as_bytes(),
        )))
    }),
    fixed("gzip_compress_to_base64_string", T::String, |args, _| {
        Value::str(encoding::base64_encode(&encoding::gzip_compress(
            text(args, 0).as_bytes(),
        )))
    }),
    fixed(
        "zlib_decompress_from_base64_string",
        T::String,
        |args, _| decompress(args, encoding::zlib_decompress),
    )
    .builds(size::product::decompress),
    fixed(
        "gzip_decompress_from_base64_string",
        T::String,
        |args, _| decompress(args, encoding::gzip_decompress),
    )
    .builds(size::product::decompress),
    fixed("punycode_from_string", T::String, |args, _| {
        encoding::punycode_encode(&text(args, 0)).map_or(Value::Null, Value::str)
    }),
    fixed("punycode_to_string", T::String, |args, _| {
        encoding::punycode_decode(&text(args, 0)).map_or(Value::Null, Value::str)
    }),
    fixed("punycode_domain_to_string", T::String, |args, _| {
        punycode_domain(args, true)
    }),
    fixed("punycode_domain_from_string", T::String, |args, _| {
        punycode_domain(args, false)
    }),
    fixed("hash_md5", T::String, |args, _| {
        Value::str(encoding::md5_hex(text(args, 0).as_bytes()))
    }),
    // The xxHash64 bits read as a signed long; a modulo keeps the result in [0, m).
    Function::new(
        "hash",
        &["hash_xxhash64"],
        Returns::Fixed(T::Long),
        |args, _| {
            let h = xxhash_of(&arg(args, 0));
            match as_i64(&arg(args, 1)) {
                Some(m) if m > 0 => Value::Long(h.rem_euclid(m)),
                _ => Value::Long(h),
            }
        },
    ),
    // hash() of each value, combined; hash_combine combines hashes already taken. Kusto does not
    // document how it combines (only that a query gets one way throughout), so the numbers
    // differ from Kusto's: see `combine_hashes`.
    fixed("hash_many", T::Long, |args, _| {
        combine_hashes(args.iter().map(xxhash_of))
    }),
    fixed("hash_combine", T::Long, |args, _| {
        if args.iter().any(Value::is_null) {
            return Value::Null;
        }
        combine_hashes(args.iter().map(|a| as_i64(a).unwrap_or(0)))
    }),
    Function::new(
        "base64_encode_tostring",
        &["base64_encodestring"],
        Returns::Fixed(T::String),
        |args, _| Value::str(encoding::base64_encode(text(args, 0).as_bytes())),
    ),
    Function::new(
        "base64_decode_tostring",
        &["base64_decodestring"],
        Returns::Fixed(T::String),
        |args, _| {
            match encoding::base64_decode(&text(args, 0)) {
                // Bytes that are not UTF-8 decode to an empty string, as in Kusto.
                Some(bytes) => Value::str(String::from_utf8(bytes).unwrap_or_default()),
                None => Value::Null,
            }
        },
    ),
    Function::new(
        "url_decode",
        &["url_decode_component"],
        Returns::Fixed(T::String),
        |args, _| Value::str(url_decode(&text(args, 0))),
    ),
    // The two differ only in a space: `+` in a URL's query, `%20` in one of its components.
    Function::new("url_encode", &[], Returns::Fixed(T::String), |args, _| {
        Value::str(url_encode(&text(args, 0), "+"))
    }),
    Function::new(
        "url_encode_component",
        &[],
        Returns::Fixed(T::String),
        |args, _| Value::str(url_encode(&text(args, 0), "%20")),
    ),
];

/// `text` percent-encoded (lower-case hex, as Kusto writes it), a space as `space`.
fn url_encode(text: &str, space: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b' ' => out.push_str(space),
            b if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) => out.push(b as char),
            b => out.push_str(&format!("%{b:02x}")),
        }
    }
    out
}

// Text that is not base64 of a stream of UTF-8 decompresses to an empty string.
/// The text `inflate` (zlib's or gzip's, up to a size limit) makes of the base64 bytes of the
/// first argument (empty when they are not valid).
fn decompress(args: &[Value], inflate: fn(&[u8], usize) -> Option<Vec<u8>>) -> Value {
    const LIMIT: usize = 64 << 20;
    let bytes = encoding::base64_decode(&text(args, 0)).and_then(|b| inflate(&b, LIMIT));
    Value::str(
        bytes
            .and_then(|b| String::from_utf8(b).ok())
            .unwrap_or_default(),
    )
}

/// Domains: each label (split at any Unicode full stop) with non-ASCII text becomes `xn--` and
/// its Punycode (`to_punycode`), and back.
fn punycode_domain(args: &[Value], to_punycode: bool) -> Value {
    let labels: Option<Vec<String>> = text(args, 0)
        .split(['.', '\u{3002}', '\u{FF0E}', '\u{FF61}'])
        .map(|label| {
            if to_punycode {
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

/// Text with its `%xx` escapes decoded and `+` as a space.
pub(super) fn url_decode(t: &str) -> String {
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
    String::from_utf8_lossy(&out).into_owned()
}

/// `hash()` of a value: the xxHash64 bits as a signed long. Datetimes and timespans hash their
/// .NET ticks (little-endian), other values their text.
fn xxhash_of(v: &Value) -> i64 {
    const DOTNET_EPOCH_TICKS: i64 = 621_355_968_000_000_000;
    let bytes = match v {
        Value::DateTime(t) => t.wrapping_add(DOTNET_EPOCH_TICKS).to_le_bytes().to_vec(),
        Value::TimeSpan(t) => t.to_le_bytes().to_vec(),
        other => to_text(other).into_bytes(),
    };
    encoding::xxhash64(&bytes) as i64
}

/// Hashes combined in order into one (null without any), by the 64-bit form of Boost's
/// `hash_combine`. Kusto's own combination is not documented and is not this one: its example
/// `hash_combine(hash("Hello"), hash("World"))` is -1440138333540407281, which no common
/// combination of the two xxHash64 values gives.
fn combine_hashes(hashes: impl Iterator<Item = i64>) -> Value {
    hashes
        .map(|h| h as u64)
        .reduce(|seed, h| {
            seed ^ h
                .wrapping_add(0x9e37_79b9_7f4a_7c15)
                .wrapping_add(seed << 6)
                .wrapping_add(seed >> 2)
        })
        .map_or(Value::Null, |h| Value::Long(h as i64))
}
