//! Entra signing keys per tenant: fetched from the tenant's OpenID metadata `jwks_uri`, cached,
//! refetched when a token names an unknown `kid` (at most one forced refetch per 5 minutes).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jsonwebtoken::DecodingKey;
use serde::Deserialize;

use super::AuthError;
use crate::outbound::OutboundClient;

/// Keys are refreshed after this long even without an unknown `kid`.
const MAX_AGE: Duration = Duration::from_secs(24 * 3600);
/// At most one forced refetch (unknown `kid`) per tenant in this period.
const FORCED_REFETCH_INTERVAL: Duration = Duration::from_secs(300);

#[derive(Deserialize)]
struct OpenIdMetadata {
    jwks_uri: String,
}

#[derive(Deserialize)]
struct JwkSet {
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct Jwk {
    kty: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default, rename = "use")]
    usage: Option<String>,
    #[serde(default)]
    n: Option<String>,
    #[serde(default)]
    e: Option<String>,
}

struct TenantKeys {
    keys: HashMap<String, Arc<DecodingKey>>,
    fetched: Instant,
    last_forced: Option<Instant>,
}

/// Signing keys by tenant and `kid`.
pub struct JwksCache {
    client: OutboundClient,
    authority: String,
    tenants: Mutex<HashMap<String, TenantKeys>>,
    /// One fetch at a time: concurrent misses wait and then find the keys cached.
    fetch_lock: tokio::sync::Mutex<()>,
}

impl JwksCache {
    /// A cache that reads `{authority}/{tenant}/v2.0/.well-known/openid-configuration`.
    pub fn new(client: OutboundClient, authority: &str) -> JwksCache {
        JwksCache {
            client,
            authority: authority.trim_end_matches('/').to_string(),
            tenants: Mutex::new(HashMap::new()),
            fetch_lock: tokio::sync::Mutex::new(()),
        }
    }

    fn lookup(&self, tenant: &str, kid: &str) -> Lookup {
        let Ok(tenants) = self.tenants.lock() else {
            return Lookup::Missing { may_refetch: true };
        };
        match tenants.get(tenant) {
            None => Lookup::Missing { may_refetch: true },
            Some(t) if t.fetched.elapsed() > MAX_AGE => Lookup::Missing { may_refetch: true },
            Some(t) => match t.keys.get(kid) {
                Some(k) => Lookup::Found(k.clone()),
                None => Lookup::Missing {
                    may_refetch: t
                        .last_forced
                        .is_none_or(|at| at.elapsed() >= FORCED_REFETCH_INTERVAL),
                },
            },
        }
    }

    /// The key for `kid` in `tenant`'s key set.
    pub async fn key(&self, tenant: &str, kid: &str) -> Result<Arc<DecodingKey>, AuthError> {
        match self.lookup(tenant, kid) {
            Lookup::Found(k) => return Ok(k),
            Lookup::Missing { may_refetch: false } => {
                return Err(AuthError::invalid(
                    "the token's signing key is not one of the tenant's published keys",
                ));
            }
            Lookup::Missing { may_refetch: true } => {}
        }
        let _guard = self.fetch_lock.lock().await;
        // Someone may have fetched while we waited.
        if let Lookup::Found(k) = self.lookup(tenant, kid) {
            return Ok(k);
        }
        if let Lookup::Missing { may_refetch: false } = self.lookup(tenant, kid) {
            return Err(AuthError::invalid(
                "the token's signing key is not one of the tenant's published keys",
            ));
        }
        let had_keys = self
            .tenants
            .lock()
            .map(|t| t.contains_key(tenant))
            .unwrap_or(false);
        let keys = self.fetch(tenant).await?;
        let found = keys.get(kid).cloned();
        if let Ok(mut tenants) = self.tenants.lock() {
            let last_forced = if had_keys { Some(Instant::now()) } else { None };
            tenants.insert(
                tenant.to_string(),
                TenantKeys {
                    keys,
                    fetched: Instant::now(),
                    last_forced,
                },
            );
        }
        found.ok_or_else(|| {
            AuthError::invalid("the token's signing key is not one of the tenant's published keys")
        })
    }

    async fn fetch(&self, tenant: &str) -> Result<HashMap<String, Arc<DecodingKey>>, AuthError> {
        let metadata_url = format!(
            "{}/{tenant}/v2.0/.well-known/openid-configuration",
            self.authority
        );
        let metadata: OpenIdMetadata = self.client.get_json(&metadata_url).await.map_err(|e| {
            tracing::error!(error = %e, "cannot read the tenant's OpenID metadata");
            AuthError::Unavailable
        })?;
        let set: JwkSet = self
            .client
            .get_json(&metadata.jwks_uri)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "cannot read the tenant's signing keys");
                AuthError::Unavailable
            })?;
        let keys: HashMap<String, Arc<DecodingKey>> = set
            .keys
            .into_iter()
            .filter(|k| k.kty == "RSA" && k.usage.as_deref().is_none_or(|u| u == "sig"))
            .filter_map(|k| {
                let key =
                    DecodingKey::from_rsa_components(k.n.as_deref()?, k.e.as_deref()?).ok()?;
                Some((k.kid?, Arc::new(key)))
            })
            .collect();
        tracing::info!(tenant, keys = keys.len(), "signing keys fetched");
        Ok(keys)
    }
}

enum Lookup {
    Found(Arc<DecodingKey>),
    Missing { may_refetch: bool },
}
