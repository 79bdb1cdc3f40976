//! Hashes, base64, punycode and zlib/gzip streams for the KQL functions that need them, from
//! maintained crates (`sha2`, `sha1`, `md-5`, `twox-hash`, `base64`, `idna`, `flate2`). The
//! functions keep Kusto's conventions: lowercase hex digests, xxHash64 with seed 0, lenient
//! base64 decoding, and compressed streams in Kusto's own form.

use std::io::{Read, Write};

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use flate2::Compression;
use sha2::Digest as _;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of `data` as lowercase hex.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex(&sha2::Sha256::digest(data))
}

/// SHA-1 of `data` as lowercase hex.
pub(crate) fn sha1_hex(data: &[u8]) -> String {
    hex(&sha1::Sha1::digest(data))
}

/// MD5 of `data` as lowercase hex.
pub(crate) fn md5_hex(data: &[u8]) -> String {
    hex(&md5::Md5::digest(data))
}

/// xxHash64 of `data` with seed 0, the hash Kusto's `hash()` and `hash_xxhash64()` use.
pub(crate) fn xxhash64(data: &[u8]) -> u64 {
    twox_hash::XxHash64::oneshot(0, data)
}

/// Standard base64 with padding.
pub(crate) fn base64_encode(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// Decoding as Kusto's functions accept it: padding optional and read up to the first `=`, bits
/// left over at the end ignored.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(true),
);

/// Decodes standard or URL-safe base64 (surrounding whitespace ignored); None when the text is
/// not base64.
pub(crate) fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let data = text.trim().split('=').next().unwrap_or_default();
    let standard: String = data
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    LENIENT.decode(standard).ok()
}

/// The Punycode (RFC 3492) form of `input`; None when it cannot be encoded.
pub(crate) fn punycode_encode(input: &str) -> Option<String> {
    idna::punycode::encode_str(input)
}

/// The text a Punycode string stands for; None when it is not Punycode.
pub(crate) fn punycode_decode(input: &str) -> Option<String> {
    idna::punycode::decode_to_string(input)
}

/// Kusto writes stored (uncompressed) DEFLATE blocks: its documented
/// `zlib_compress_to_base64_string("1234567890qwertyuiop")` is a stored stream, byte for byte
/// what level 0 gives, where any compressing level gives different bytes.
const KUSTO_LEVEL: Compression = Compression::none();

/// Everything `encoder` writes for `data`.
fn compress<W: Write>(
    mut encoder: W,
    data: &[u8],
    finish: impl FnOnce(W) -> std::io::Result<Vec<u8>>,
) -> Vec<u8> {
    encoder
        .write_all(data)
        .and_then(|()| finish(encoder))
        .expect("compressing into memory cannot fail")
}

/// What `decoder` reads, or None when the stream is malformed or holds more than `limit` bytes.
fn decompress(decoder: impl Read, limit: usize) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    decoder.take(limit as u64 + 1).read_to_end(&mut out).ok()?;
    (out.len() <= limit).then_some(out)
}

/// A zlib stream (RFC 1950) of `data`.
pub(crate) fn zlib_compress(data: &[u8]) -> Vec<u8> {
    compress(
        flate2::write::ZlibEncoder::new(Vec::new(), KUSTO_LEVEL),
        data,
        flate2::write::ZlibEncoder::finish,
    )
}

/// The data of a zlib stream; None when it is not one or holds more than `limit` bytes.
pub(crate) fn zlib_decompress(data: &[u8], limit: usize) -> Option<Vec<u8>> {
    decompress(flate2::read::ZlibDecoder::new(data), limit)
}

/// A gzip stream (RFC 1952) of `data`, with Kusto's header (no name, no time, OS unknown).
pub(crate) fn gzip_compress(data: &[u8]) -> Vec<u8> {
    let mut out = compress(
        flate2::GzBuilder::new().write(Vec::new(), KUSTO_LEVEL),
        data,
        flate2::write::GzEncoder::finish,
    );
    // The header's extra-flags byte: flate2 marks level 0 "fastest" (4), Kusto leaves it 0. No
    // checksum covers the header, so the stream stays valid.
    out[8] = 0;
    out
}

/// The data of a gzip stream; None when it is not one or holds more than `limit` bytes.
pub(crate) fn gzip_decompress(data: &[u8], limit: usize) -> Option<Vec<u8>> {
    decompress(flate2::read::GzDecoder::new(data), limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_matches_known_digests() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn sha1_md5_and_xxhash64_match_known_digests() {
        assert_eq!(sha1_hex(b"abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(md5_hex(b"abc"), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(xxhash64(b""), 0xEF46_DB37_51D8_E999);
        assert_eq!(xxhash64(b"a"), 0xD24E_C4F1_A98C_6E5B);
        assert_eq!(
            xxhash64(b"Nobody inspects the spammish repetition"),
            0xFBCE_A83C_8A37_8BF1
        );
    }

    #[test]
    fn punycode_matches_rfc_3492_samples() {
        assert_eq!(punycode_encode("bücher").as_deref(), Some("bcher-kva"));
        assert_eq!(punycode_encode("艺术").as_deref(), Some("cqv902d"));
        assert_eq!(punycode_decode("bcher-kva").as_deref(), Some("bücher"));
        assert_eq!(
            punycode_decode("acadmie-franaise-npb1a").as_deref(),
            Some("académie-française")
        );
        assert!(punycode_decode("a-b!").is_none());
    }

    #[test]
    fn zlib_and_gzip_round_trip_and_inflate_compressed_streams() {
        let text = b"1234567890qwertyuiop";
        assert_eq!(
            base64_encode(&zlib_compress(text)),
            "eAEBFADr/zEyMzQ1Njc4OTBxd2VydHl1aW9wOAkGdw=="
        );
        assert_eq!(
            base64_encode(&gzip_compress(text)),
            "H4sIAAAAAAAA/wEUAOv/MTIzNDU2Nzg5MHF3ZXJ0eXVpb3A6m7f2FAAAAA=="
        );
        let long: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        assert_eq!(
            zlib_decompress(&zlib_compress(&long), 1 << 20),
            Some(long.clone())
        );
        assert_eq!(gzip_decompress(&gzip_compress(&long), 1 << 20), Some(long));
        // Fixed-Huffman data as zlib writes it (Python: zlib.compress(b"Test string 123")).
        let z = base64_decode("eJwLSS0uUSguKcrMS1cwNDIGACxqBQ4=").unwrap();
        assert_eq!(zlib_decompress(&z, 1 << 20).unwrap(), b"Test string 123");
        // Dynamic-Huffman data (Python: zlib.compress of 400 random letters, level 9).
        let z = base64_decode(
            "eNo1UAkCwyAI+wpfSwAR/v+ABbfVVilCDoAAiV2gAd7OgQKg4EFXEIQTldrvwYBH1XH8It1pzUDGGHQKBUdIF/Rr2nFnsRaH9E564NYtcS70/7n7Q9hwEZa/n6ix1HFYkjNWdh4DkMOeebF4GIXoOhKpMrJzIUtwsSwTbN7nydXfq02ZZ1sdTGW9tvLQT9PJ5KLc1jwMjzNKdmPtqHPNbnJHgv2m5k0M3Pp2CUgxCdVgstr4Cd/xfKMj1tYl9aZGnguFD3G8lYc=",
        )
        .unwrap();
        let text = zlib_decompress(&z, 1 << 20).unwrap();
        assert_eq!(text.len(), 400);
        assert_eq!(
            sha256_hex(&text),
            "0c74bd496e6e2a61cc0676d52305e7546f21da936703b02bc88867811898ccc2"
        );
        assert!(zlib_decompress(b"nope", 1 << 20).is_none());
        assert!(zlib_decompress(&z, 100).is_none());
    }

    #[test]
    fn base64_round_trips() {
        assert_eq!(base64_encode(b"Kusto"), "S3VzdG8=");
        assert_eq!(base64_decode("S3VzdG8=").unwrap(), b"Kusto");
        assert_eq!(base64_encode(b"ab"), "YWI=");
        assert!(base64_decode("**").is_none());
    }
}
