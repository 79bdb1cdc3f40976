//! `SENTINEL_MCP_REDIS_ENTRA=true`: Redis sign-in with the server's own Entra identity, the
//! token chain of the Azure backend (client secret, workload identity, managed identity, the
//! Azure CLI), so there are no access keys to rotate. Azure Cache for Redis takes the identity's
//! object id as the user name and an access token for `https://redis.azure.com/` as the
//! password; the token is fetched again before it expires, and every connection signs in again
//! with it (redis-rs re-authenticates live connections from the credentials stream).

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures::Stream;
use redis::auth::{BasicAuth, StreamingCredentialsProvider};
use redis::{ErrorKind, RedisError, RedisResult};
use tokio::sync::watch;

use crate::azure::token::{REFRESH_EARLY_SECS, TokenCredential};

/// The audience of Azure Cache for Redis and Azure Managed Redis tokens.
pub const REDIS_AUDIENCE: &str = "https://redis.azure.com/";
/// How long to wait before asking again after the identity failed.
const RETRY: Duration = Duration::from_secs(5);

/// The latest credentials, or why there are none.
type Latest = Option<Result<BasicAuth, String>>;

/// Credentials from the server's identity, refreshed in the background.
pub struct EntraCredentials {
    latest: watch::Receiver<Latest>,
}

impl EntraCredentials {
    /// Starts fetching tokens with `credential`, and waits for the first one (its failure, or a
    /// token without an object id, is the error).
    pub async fn start(credential: Arc<TokenCredential>) -> Result<EntraCredentials, String> {
        let (tx, mut latest) = watch::channel(None);
        tokio::spawn(refresh(credential, tx));
        let first = latest
            .wait_for(Option::is_some)
            .await
            .map_err(|_| "the Redis token task ended".to_string())?
            .clone();
        match first {
            Some(Err(e)) => Err(e),
            _ => Ok(EntraCredentials { latest }),
        }
    }
}

impl StreamingCredentialsProvider for EntraCredentials {
    fn subscribe(&self) -> Pin<Box<dyn Stream<Item = RedisResult<BasicAuth>> + Send + 'static>> {
        let mut latest = self.latest.clone();
        latest.mark_changed();
        Box::pin(futures::stream::unfold(latest, |mut latest| async move {
            latest.changed().await.ok()?;
            let item = match latest.borrow_and_update().clone()? {
                Ok(auth) => Ok(auth),
                Err(e) => Err(RedisError::from((
                    ErrorKind::AuthenticationFailed,
                    "no Entra token for Redis",
                    e,
                ))),
            };
            Some((item, latest))
        }))
    }
}

/// Fetches a token, publishes the credentials, sleeps until shortly before it expires; forever
/// (until every subscriber is gone).
async fn refresh(credential: Arc<TokenCredential>, tx: watch::Sender<Latest>) {
    loop {
        let (latest, wait) = match credential.token(REDIS_AUDIENCE).await {
            Ok(token) => match claims(token.expose()) {
                Ok((oid, expires)) => {
                    let auth = BasicAuth::new(oid, token.expose().to_string());
                    (
                        Ok(auth),
                        refresh_in(expires - credential.clock().now_secs()),
                    )
                }
                Err(e) => (Err(e), RETRY),
            },
            Err(e) => (Err(format!("no token for {REDIS_AUDIENCE}: {e}")), RETRY),
        };
        if let Err(e) = &latest {
            tracing::warn!(
                error = e,
                "replicas: Redis sign-in with Entra failed; retrying"
            );
        }
        if tx.send(Some(latest)).is_err() {
            return;
        }
        tokio::time::sleep(wait).await;
        // A token refreshed early may still be the cached one: ask for a new one.
        credential.invalidate(REDIS_AUDIENCE).await;
    }
}

/// When to fetch again a token that lives `lifetime` more seconds: when the cache would (five
/// minutes before it expires), or at half its life when it is short.
fn refresh_in(lifetime: i64) -> Duration {
    let secs = if lifetime > 2 * REFRESH_EARLY_SECS {
        lifetime - REFRESH_EARLY_SECS
    } else {
        lifetime / 2
    };
    Duration::from_secs(secs.max(5) as u64)
}

/// The object id (Redis user name) and expiry a token carries.
fn claims(token: &str) -> Result<(String, i64), String> {
    let payload = token
        .split('.')
        .nth(1)
        .and_then(|p| URL_SAFE_NO_PAD.decode(p.trim_end_matches('=')).ok())
        .and_then(|p| serde_json::from_slice::<serde_json::Value>(&p).ok())
        .ok_or("the Redis token is not a JWT")?;
    let oid = payload["oid"].as_str().filter(|o| !o.is_empty()).ok_or(
        "the Redis token has no oid claim (the identity's object id is the Redis user name)",
    )?;
    let expires = payload["exp"]
        .as_i64()
        .ok_or("the Redis token has no exp claim")?;
    Ok((oid.to_string(), expires))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(payload: serde_json::Value) -> String {
        format!(
            "e30.{}.c2ln",
            URL_SAFE_NO_PAD.encode(payload.to_string().as_bytes())
        )
    }

    #[test]
    fn the_user_name_is_the_object_id_and_the_expiry_is_read() {
        let t = jwt(serde_json::json!({"oid": "0b1c", "exp": 1_700_000_000}));
        assert_eq!(claims(&t).unwrap(), ("0b1c".to_string(), 1_700_000_000));
    }

    #[test]
    fn tokens_without_an_object_id_or_not_jwts_are_refused_with_the_reason() {
        let no_oid = jwt(serde_json::json!({"exp": 1}));
        assert!(claims(&no_oid).unwrap_err().contains("oid"));
        assert!(claims("opaque").unwrap_err().contains("not a JWT"));
    }

    #[test]
    fn long_tokens_refresh_five_minutes_early_and_short_ones_at_half_life() {
        assert_eq!(refresh_in(3600), Duration::from_secs(3300));
        assert_eq!(refresh_in(40), Duration::from_secs(20));
        assert_eq!(refresh_in(-10), Duration::from_secs(5));
    }
}
