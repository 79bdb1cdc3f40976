//! Bearer token validation as an Entra ID resource server: RS256 only, keys from the tenant's
//! JWKS, issuer (v1 and v2), tenant allowlist, audience, exp/nbf/iat with clock skew.

use std::collections::HashSet;

use base64::Engine;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;

use super::{JwksCache, Principal};

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
}

impl TokenValidator {
    /// A validator for tokens issued by `authority` to `audiences`, from the allowed tenants.
    pub fn new(
        keys: JwksCache,
        authority: &str,
        tenants: &[String],
        audiences: Vec<String>,
        skew_secs: u64,
    ) -> TokenValidator {
        TokenValidator {
            keys,
            authority: authority.trim_end_matches('/').to_string(),
            tenants: tenants.iter().map(|t| t.to_ascii_lowercase()).collect(),
            audiences,
            skew_secs,
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
        validation.leeway = self.skew_secs;
        validation.validate_nbf = true;
        validation.set_audience(&self.audiences);
        validation.set_issuer(&[
            format!("https://sts.windows.net/{tenant}/"),
            format!("{}/{tenant}/v2.0", self.authority),
        ]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        let data = jsonwebtoken::decode::<Claims>(token, &key, &validation).map_err(|e| {
            AuthError::invalid(match e.kind() {
                ErrorKind::ExpiredSignature => "the token has expired",
                ErrorKind::ImmatureSignature => "the token is not valid yet (nbf)",
                ErrorKind::InvalidAudience => "the token was issued for another audience",
                ErrorKind::InvalidIssuer => "the token's issuer is not accepted",
                ErrorKind::InvalidSignature => "the token's signature is invalid",
                ErrorKind::MissingRequiredClaim(_) => {
                    "the token lacks a required claim (exp, iss, aud)"
                }
                _ => "the token could not be verified",
            })
        })?;
        let c = data.claims;
        let now = chrono::Utc::now().timestamp();
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
        Ok(Principal {
            tenant_id: tenant,
            object_id,
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
