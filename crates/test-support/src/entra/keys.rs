//! The three committed test signing keys (see `keys/README.md`), parsed once per process.

use std::sync::OnceLock;

use jsonwebtoken::jwk::{AlgorithmParameters, Jwk};
use jsonwebtoken::{Algorithm, EncodingKey};

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
    TestKey {
        encoding,
        kid: thumbprint.clone(),
        x5t: thumbprint,
        n: rsa.n,
        e: rsa.e,
        x5c,
        public_pem: PUBLIC_PEMS[i],
    }
}
