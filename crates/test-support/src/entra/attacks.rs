//! Forgeries of a compact JWS, for the validator's "every way a token can be wrong" matrix.
//! Each helper panics if its input is not three dot-separated base64url parts (test code only).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Map, Value};

fn parts(token: &str) -> [&str; 3] {
    let mut it = token.split('.');
    match (it.next(), it.next(), it.next(), it.next()) {
        (Some(h), Some(p), Some(s), None) => [h, p, s],
        _ => panic!("not a compact JWS (header.payload.signature): {token:?}"),
    }
}

fn decode_json(part: &str) -> Map<String, Value> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .unwrap_or_else(|e| panic!("JWS part is not base64url: {e}"));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("JWS part is not a JSON object: {e}"))
}

fn encode_json(map: &Map<String, Value>) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(map).unwrap_or_default())
}

fn with_alg(header: &str, alg: &str) -> String {
    let mut h = decode_json(header);
    h.insert("alg".into(), Value::String(alg.into()));
    encode_json(&h)
}

/// The same header (with `alg: "none"`) and payload, and an empty signature: `h.p.`.
pub fn alg_none(token: &str) -> String {
    let [h, p, _] = parts(token);
    format!("{}.{p}.", with_alg(h, "none"))
}

/// Re-signs the same header (with `alg: "HS256"`) and payload with HMAC-SHA256, using the bytes
/// of `secret_pem` as the secret: the classic RS256→HS256 key-confusion attack when given the
/// issuer's public key PEM.
pub fn hs256_with_key(token: &str, secret_pem: &str) -> String {
    let [h, p, _] = parts(token);
    let message = format!("{}.{p}", with_alg(h, "HS256"));
    let key = EncodingKey::from_secret(secret_pem.as_bytes());
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &key, Algorithm::HS256)
        .unwrap_or_else(|e| panic!("HMAC signing failed: {e}"));
    format!("{message}.{signature}")
}

/// Sets `claim` to `value` in the payload and keeps the original header and signature.
pub fn tamper_payload(token: &str, claim: &str, value: Value) -> String {
    let [h, p, s] = parts(token);
    let mut payload = decode_json(p);
    payload.insert(claim.into(), value);
    format!("{h}.{}.{s}", encode_json(&payload))
}

/// Flips bits in the signature (same length, still valid base64url).
pub fn tamper_signature(token: &str) -> String {
    let [h, p, s] = parts(token);
    let mut sig = URL_SAFE_NO_PAD
        .decode(s)
        .unwrap_or_else(|e| panic!("signature is not base64url: {e}"));
    if sig.is_empty() {
        sig.push(0);
    }
    let mid = sig.len() / 2;
    sig[0] ^= 0x01;
    sig[mid] ^= 0x80;
    format!("{h}.{p}.{}", URL_SAFE_NO_PAD.encode(sig))
}
