//! Bearer token validation as an Entra ID resource server: RS256 only, keys from the tenant's
//! JWKS, issuer (v1 and v2), tenant allowlist, audience, exp/nbf/iat with clock skew against the
//! server's [`Clock`].

use std::collections::HashSet;

use base64::Engine;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;

use super::{JwksCache, Principal};
use crate::clock::Clock;

/// Tokens larger than this are refused before any parsing.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Why a token was refused. Messages never include the token or key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// `invalid_token`: the token is malformed, forged, expired or not for us.
    #[error("{0}")]
    InvalidToken(String),
    /// The tenant's keys could not be fetched, so no token can be checked right now.
    #[error("the identity provider's signing keys are unavailable; try again shortly")]
    Unavailable,
}

impl AuthError {
    pub(crate) fn invalid(reason: &str) -> AuthError {
        AuthError::InvalidToken(reason.to_string())
    }
}

#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    tid: Option<String>,
    #[serde(default)]
    oid: Option<String>,
    #[serde(default)]
    iat: Option<i64>,
    #[serde(default)]
    exp: Option<i64>,
    /// A number, as jsonwebtoken reads it (an integer, or a float rounded).
    #[serde(default)]
    nbf: Option<serde_json::Number>,
    #[serde(default)]
    idtyp: Option<String>,
    #[serde(default)]
    appid: Option<String>,
    #[serde(default)]
    azp: Option<String>,
    #[serde(default)]
    upn: Option<String>,
    #[serde(default)]
    preferred_username: Option<String>,
    #[serde(default)]
    unique_name: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    scp: Option<String>,
}

/// The header fields read before verification: the algorithm is checked by name, so `none` and
/// HS* are refused before any key is involved.
#[derive(Deserialize)]
struct UnverifiedHeader {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
}

/// The tenant a token claims to be from, read before verification only to choose its keys.
#[derive(Deserialize)]
struct UnverifiedTenant {
    #[serde(default)]
    tid: Option<String>,
}

/// Validates Entra access tokens for one API (app id / App ID URI).
pub struct TokenValidator {
    keys: JwksCache,
    authority: String,
    tenants: HashSet<String>,
    audiences: Vec<String>,
    skew_secs: u64,
    clock: Clock,
}

impl TokenValidator {
    /// A validator for tokens issued by `authority` to `audiences`, from the allowed tenants;
    /// lifetimes are checked against `clock`.
    pub fn new(
        keys: JwksCache,
        authority: &str,
        tenants: &[String],
        audiences: Vec<String>,
        skew_secs: u64,
        clock: Clock,
    ) -> TokenValidator {
        TokenValidator {
            keys,
            authority: authority.trim_end_matches('/').to_string(),
            tenants: tenants.iter().map(|t| t.to_ascii_lowercase()).collect(),
            audiences,
            skew_secs,
            clock,
        }
    }

    /// Checks a bearer token and answers who it belongs to.
    pub async fn validate(&self, token: &str) -> Result<Principal, AuthError> {
        let UnverifiedToken { kid, tenant } = read_unverified(token)?;
        if !self.tenants.contains(&tenant) {
            return Err(AuthError::invalid(
                "the token's tenant is not allowed to use this server",
            ));
        }
        let key = self.keys.key(&tenant, &kid).await?;
        let mut validation = Validation::new(Algorithm::RS256);
        // Lifetimes are checked against the server's clock below, not the system's.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.set_audience(&self.audiences);
        validation.set_issuer(&[
            format!("https://sts.windows.net/{tenant}/"),
            format!("{}/{tenant}/v2.0", self.authority),
        ]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        let now = self.clock.now_secs();
        let data = match jsonwebtoken::decode::<Claims>(token, &key, &validation) {
            Ok(data) => data,
            // jsonwebtoken checks the lifetime before issuer and audience; so do we. Its claim
            // checks run after the signature's, so these claims are signed.
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::InvalidIssuer | ErrorKind::InvalidAudience
                ) =>
            {
                if let Ok(claims) = unverified_segment::<Claims>(token, 1) {
                    self.check_lifetime(&claims, now)?;
                }
                return Err(AuthError::invalid(refusal(e.kind())));
            }
            Err(e) => return Err(AuthError::invalid(refusal(e.kind()))),
        };
        let c = data.claims;
        self.check_lifetime(&c, now)?;
        if c.iat.is_some_and(|iat| iat > now + self.skew_secs as i64) {
            return Err(AuthError::invalid(
                "the token claims to be issued in the future",
            ));
        }
        if c.tid.as_deref().map(str::to_ascii_lowercase).as_deref() != Some(tenant.as_str()) {
            return Err(AuthError::invalid(
                "the token's tenant is not allowed to use this server",
            ));
        }
        let object_id = c
            .oid
            .filter(|o| !o.is_empty())
            .ok_or_else(|| AuthError::invalid("the token has no object id (oid)"))?;
        let app_only = c.idtyp.as_deref() == Some("app") || c.scp.is_none();
        Ok(Principal {
            tenant_id: tenant,
            object_id,
            app_only,
            expires_at: c.exp.unwrap_or_default(),
            app_id: c.azp.or(c.appid).unwrap_or_default(),
            upn: c.upn.or(c.preferred_username).or(c.unique_name),
            roles: c.roles,
            scopes: c
                .scp
                .map(|s| s.split_whitespace().map(String::from).collect())
                .unwrap_or_default(),
        })
    }
}

impl TokenValidator {
    /// `exp` and `nbf` against the clock, with the allowed skew: the checks and messages of
    /// jsonwebtoken's own, which reads the system's time.
    fn check_lifetime(&self, c: &Claims, now: i64) -> Result<(), AuthError> {
        let skew = self.skew_secs as i64;
        if c.exp.is_some_and(|exp| exp < now - skew) {
            return Err(AuthError::invalid("the token has expired"));
        }
        let nbf = c.nbf.as_ref().and_then(|n| {
            n.as_i64().or_else(|| {
                n.as_f64()
                    .filter(|f| f.is_finite())
                    .map(|f| f.round() as i64)
            })
        });
        if nbf.is_some_and(|nbf| nbf > now + skew) {
            return Err(AuthError::invalid("the token is not valid yet (nbf)"));
        }
        Ok(())
    }
}

/// The sentence for a token jsonwebtoken refused.
fn refusal(kind: &ErrorKind) -> &'static str {
    match kind {
        ErrorKind::InvalidAudience => "the token was issued for another audience",
        ErrorKind::InvalidIssuer => "the token's issuer is not accepted",
        ErrorKind::InvalidSignature => "the token's signature is invalid",
        ErrorKind::MissingRequiredClaim(_) => "the token lacks a required claim (exp, iss, aud)",
        _ => "the token could not be verified",
    }
}

/// What a token claims before its signature is checked: only enough to choose the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnverifiedToken {
    /// The signing key the header names.
    pub kid: String,
    /// The tenant (`tid`), lower-case.
    pub tenant: String,
}

/// Reads a bearer token before any signature check, refusing what no key could make valid: a
/// token over [`MAX_TOKEN_BYTES`], not three base64url segments of JSON, signed with anything
/// but RS256 (so `none` and HS* never reach a key), without a `kid`, or without a well-formed
/// `tid`. Everything a client sends in `Authorization` passes here first; public for fuzzing.
pub fn read_unverified(token: &str) -> Result<UnverifiedToken, AuthError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(AuthError::invalid("the token is too large"));
    }
    let header: UnverifiedHeader = unverified_segment(token, 0)?;
    if header.alg != "RS256" {
        let alg: String = header
            .alg
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .take(16)
            .collect();
        return Err(AuthError::InvalidToken(format!(
            "tokens signed with '{alg}' are not accepted; Entra tokens are RS256"
        )));
    }
    let kid = header
        .kid
        .filter(|k| !k.is_empty())
        .ok_or_else(|| AuthError::invalid("the token header names no signing key (kid)"))?;
    Ok(UnverifiedToken {
        kid,
        tenant: unverified_tenant(token)?,
    })
}

/// One base64url JSON segment of a compact JWS, read before verification.
fn unverified_segment<T: serde::de::DeserializeOwned>(
    token: &str,
    index: usize,
) -> Result<T, AuthError> {
    let malformed = || AuthError::invalid("the token is not a well-formed JWT");
    if token.split('.').count() != 3 {
        return Err(malformed());
    }
    let segment = token.split('.').nth(index).ok_or_else(malformed)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(segment.trim_end_matches('='))
        .map_err(|_| malformed())?;
    serde_json::from_slice(&bytes).map_err(|_| malformed())
}

fn unverified_tenant(token: &str) -> Result<String, AuthError> {
    let claims: UnverifiedTenant = unverified_segment(token, 1)?;
    claims
        .tid
        .map(|t| t.to_ascii_lowercase())
        .filter(|t| {
            !t.is_empty()
                && t.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        })
        .ok_or_else(|| AuthError::invalid("the token names no valid tenant (tid)"))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use test_support::entra::{FakeEntra, TokenSpec};

    use super::*;
    use crate::clock::ManualClock;
    use crate::outbound::OutboundClient;

    const TENANT: &str = "7f0c1d2e-3b4a-4c5d-8e9f-0a1b2c3d4e5f";
    const APP: &str = "api://sentinel-mcp-test";
    const SKEW: u64 = 300;

    fn validator(entra: &FakeEntra, clock: &ManualClock) -> TokenValidator {
        let http = OutboundClient::new(Duration::from_secs(10))
            .expect("a client")
            .with_clock(clock.clock());
        let authority = entra.authority_host();
        TokenValidator::new(
            JwksCache::new(http, &authority),
            &authority,
            &[TENANT.to_string()],
            vec![APP.to_string()],
            SKEW,
            clock.clock(),
        )
    }

    fn expired() -> Result<Principal, AuthError> {
        Err(AuthError::invalid("the token has expired"))
    }

    #[tokio::test]
    async fn a_token_valid_now_is_rejected_once_the_clock_passes_exp_and_the_skew() {
        let entra = FakeEntra::start(&[TENANT]).await;
        let clock = ManualClock::new();
        let validator = validator(&entra, &clock);
        let token = entra.mint(&TokenSpec::user(TENANT, APP, &["SecOps.Read"]));
        assert!(validator.validate(&token).await.is_ok());
        // Within the skew after `exp` (3,600 s from now) it is still accepted...
        clock.advance(Duration::from_secs(3600 + SKEW - 5));
        assert!(validator.validate(&token).await.is_ok());
        // ...and past it refused, with the message jsonwebtoken's own check gave.
        clock.advance(Duration::from_secs(10));
        assert_eq!(
            validator.validate(&token).await.map(drop),
            expired().map(drop)
        );
    }

    #[tokio::test]
    async fn a_token_not_valid_yet_is_accepted_once_the_clock_reaches_nbf_less_the_skew() {
        let entra = FakeEntra::start(&[TENANT]).await;
        let clock = ManualClock::new();
        let validator = validator(&entra, &clock);
        let mut spec = TokenSpec::user(TENANT, APP, &["SecOps.Read"]);
        spec.not_before_offset_secs = 1800;
        let token = entra.mint(&spec);
        assert_eq!(
            validator.validate(&token).await.map(drop),
            Err(AuthError::invalid("the token is not valid yet (nbf)"))
        );
        clock.advance(Duration::from_secs(1800 - SKEW + 5));
        assert!(validator.validate(&token).await.is_ok());
    }

    #[tokio::test]
    async fn an_expired_token_for_another_audience_is_refused_as_expired() {
        // jsonwebtoken checked the lifetime before the audience; the order stays.
        let entra = FakeEntra::start(&[TENANT]).await;
        let clock = ManualClock::new();
        let validator = validator(&entra, &clock);
        let token = entra.mint(&TokenSpec::user(TENANT, "api://someone-else", &[]));
        assert_eq!(
            validator.validate(&token).await.map(drop),
            Err(AuthError::invalid(
                "the token was issued for another audience"
            ))
        );
        clock.advance(Duration::from_secs(3600 + SKEW + 5));
        assert_eq!(
            validator.validate(&token).await.map(drop),
            expired().map(drop)
        );
    }
}
