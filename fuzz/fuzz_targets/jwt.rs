//! Arbitrary text as a bearer token, through the parsing that happens before any signature check:
//! our read of the header and tenant (`read_unverified`), then jsonwebtoken's own decoding of the
//! header and segments on the way to its signature check. None may panic; a token our reader
//! accepts names a kid and a well-formed tenant.
#![no_main]

use std::sync::OnceLock;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use libfuzzer_sys::fuzz_target;

/// A 2048-bit RSA public key (the modulus of a throwaway key; no private half is needed).
const N: &str = "p3eQpHZnPDXXC3nWgyrc23bYLkvn4cuiM-tcIP_U8OMJJ4HqsU2MCrOk-N2qObPjviWuUXnNI70_2GxYgpjxHwrEllS2y5LFIJGXirb81CwjipIj6H04TXO2pUeo0dbSBawZO1bA9oTBFAneQ6ZgX3xocy5T3QKONg8I0O8_mU2WijXPJpotilZ7f_k0cKvMlLikXD2ck7sOpCsBKZcXgxtz4ImbyByOvHX6KO41xuztyV92Cbh9ealYai09KUre1JLJ4gJDUFgeGEirZwHgjuOQ2hnATishQzotmqamd49SFuhWhbmJowQo4dr_XeNGw877A_jhyuvKywU4xiFo9Q";
const E: &str = "AQAB";

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(read) = sentinel_mcp::auth::read_unverified(token) {
        assert!(!read.kid.is_empty(), "accepted without a kid: {token:?}");
        assert!(
            !read.tenant.is_empty()
                && read
                    .tenant
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'),
            "accepted a malformed tenant: {token:?}"
        );
    }
    static KEY: OnceLock<DecodingKey> = OnceLock::new();
    let key = KEY.get_or_init(|| DecodingKey::from_rsa_components(N, E).expect("a valid RSA key"));
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_exp = false;
    validation.set_required_spec_claims::<&str>(&[]);
    let _ = jsonwebtoken::decode::<serde_json::Value>(token, key, &validation);
});
