//! The three committed test signing keys (see `keys/README.md`), parsed once per process.

use std::sync::OnceLock;

use jsonwebtoken::jwk::{AlgorithmParameters, Jwk};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Validation};
use serde_json::{Map, Value};

/// How many test keys exist; `rotate` cycles through them.
pub(crate) const KEY_COUNT: usize = 3;

const PRIVATE_PEMS: [&str; KEY_COUNT] = [
    include_str!("../../keys/test-key-1.pem"),
    include_str!("../../keys/test-key-2.pem"),
    include_str!("../../keys/test-key-3.pem"),
];
const PUBLIC_PEMS: [&str; KEY_COUNT] = [
    include_str!("../../keys/test-key-1.pub.pem"),
    include_str!("../../keys/test-key-2.pub.pem"),
    include_str!("../../keys/test-key-3.pub.pem"),
];
const CERT_PEMS: [&str; KEY_COUNT] = [
    include_str!("../../keys/test-key-1.crt"),
    include_str!("../../keys/test-key-2.crt"),
    include_str!("../../keys/test-key-3.crt"),
];
const THUMBPRINTS: [&str; KEY_COUNT] = [
    include_str!("../../keys/test-key-1.x5t"),
    include_str!("../../keys/test-key-2.x5t"),
    include_str!("../../keys/test-key-3.x5t"),
];

/// One signing key with everything the JWKS document and token header need.
pub(crate) struct TestKey {
    pub(crate) encoding: EncodingKey,
    pub(crate) decoding: DecodingKey,
    /// Entra uses the certificate's SHA-1 thumbprint as both `kid` and `x5t`.
    pub(crate) kid: String,
    pub(crate) x5t: String,
    /// base64url big-endian modulus and exponent, as JWKS carries them.
    pub(crate) n: String,
    pub(crate) e: String,
    /// Standard base64 DER certificate, as `x5c` carries it.
    pub(crate) x5c: String,
    pub(crate) public_pem: &'static str,
}

/// The test keys, parsed on first use (RSA parsing is slow in debug builds, so only once).
pub(crate) fn test_keys() -> &'static [TestKey] {
    static KEYS: OnceLock<Vec<TestKey>> = OnceLock::new();
    KEYS.get_or_init(|| (0..KEY_COUNT).map(load).collect())
}

fn load(i: usize) -> TestKey {
    let encoding = EncodingKey::from_rsa_pem(PRIVATE_PEMS[i].as_bytes())
        .unwrap_or_else(|e| panic!("committed test key {} does not parse: {e}", i + 1));
    let jwk = Jwk::from_encoding_key(&encoding, Algorithm::RS256)
        .unwrap_or_else(|e| panic!("committed test key {} has no public part: {e}", i + 1));
    let AlgorithmParameters::RSA(rsa) = jwk.algorithm else {
        panic!("committed test key {} is not RSA", i + 1);
    };
    let thumbprint = THUMBPRINTS[i].trim().to_string();
    let x5c = CERT_PEMS[i]
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<String>();
    let decoding = DecodingKey::from_rsa_pem(PUBLIC_PEMS[i].as_bytes())
        .unwrap_or_else(|e| panic!("committed test key {} has no public PEM: {e}", i + 1));
    TestKey {
        encoding,
        decoding,
        kid: thumbprint.clone(),
        x5t: thumbprint,
        n: rsa.n,
        e: rsa.e,
        x5c,
        public_pem: PUBLIC_PEMS[i],
    }
}

/// Why a token the fake Entra is shown was not one it issued (or no longer counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unverified {
    /// Not a JWS, or signed by no test key (forged, tampered, another issuer's).
    Signature,
    /// Signed by a test key, but past its `exp`.
    Expired,
}

/// The claims of a token signed (RS256) by one of the test keys, with `exp` checked and nothing
/// else: callers check issuer and audience the way the service they fake does. The key is found
/// by `kid` when the header names a test key, else each key is tried.
pub(crate) fn verify_issued(token: &str) -> Result<Map<String, Value>, Unverified> {
    let kid = jsonwebtoken::decode_header(token)
        .map_err(|_| Unverified::Signature)?
        .kid;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_aud = false;
    validation.leeway = 0;
    validation.set_required_spec_claims(&["exp"]);
    let keys = test_keys();
    let mut candidates: Vec<&TestKey> = keys
        .iter()
        .filter(|k| Some(&k.kid) == kid.as_ref())
        .collect();
    if candidates.is_empty() {
        candidates = keys.iter().collect();
    }
    let mut expired = false;
    for key in candidates {
        match jsonwebtoken::decode::<Map<String, Value>>(token, &key.decoding, &validation) {
            Ok(data) => return Ok(data.claims),
            Err(e) if matches!(e.kind(), jsonwebtoken::errors::ErrorKind::ExpiredSignature) => {
                expired = true
            }
            Err(_) => {}
        }
    }
    Err(if expired {
        Unverified::Expired
    } else {
        Unverified::Signature
    })
}

/// The fake app registration's certificate credential: the private key and certificate PEMs.
pub(crate) const CLIENT_CERT_KEY_PEM: &str = include_str!("../../keys/client-cert.pem");
pub(crate) const CLIENT_CERT_PEM: &str = include_str!("../../keys/client-cert.crt");

/// Test key `index`'s private key and certificate, for a certificate the app does not trust.
pub(crate) fn signing_key_pems(index: usize) -> (&'static str, &'static str) {
    (PRIVATE_PEMS[index], CERT_PEMS[index])
}
