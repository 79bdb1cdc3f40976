//! A fake Microsoft Entra ID (the `login.microsoftonline.com` authority) for tests.
//!
//! [`FakeEntra::start`] serves, for each tenant it knows, the v1 and v2 OpenID metadata and JWKS
//! documents at Entra's real paths and in its real JSON shapes, and [`FakeEntra::mint`] signs
//! access tokens in the v1 or v2 shape with one of three committed test RSA keys. Keys rotate with
//! [`FakeEntra::rotate`]; fetch counters let tests assert on the validator's JWKS caching. The free
//! functions ([`alg_none`], [`hs256_with_key`], [`tamper_payload`], [`tamper_signature`]) forge
//! tokens for the rejection matrix.
//!
//! Layout: `keys` (test keys), `token` (claims per shape), `attacks` (forgeries), `http` (the
//! router; a token endpoint for client credentials / federated assertions belongs there too).

mod attacks;
mod http;
mod keys;
#[cfg(test)]
mod tests;
mod token;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use jsonwebtoken::{Algorithm, Header};
use tokio::task::JoinHandle;

pub use attacks::{alg_none, hs256_with_key, tamper_payload, tamper_signature};
pub use token::{
    DEFAULT_APP_CLIENT_ID, DEFAULT_APP_OID, DEFAULT_USER_CLIENT_APP_ID, DEFAULT_USER_NAME,
    DEFAULT_USER_OID, DEFAULT_USER_SUB, DEFAULT_USER_UPN, TokenSpec, TokenVersion,
};

/// A running fake Entra ID on `127.0.0.1:<ephemeral>`. Dropping it stops the server.
pub struct FakeEntra {
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

/// State the HTTP handlers and the test-facing API share.
pub(crate) struct Shared {
    /// `http://127.0.0.1:<port>`, no trailing slash.
    pub(crate) authority_host: String,
    pub(crate) tenants: HashSet<String>,
    ring: Mutex<KeyRing>,
    pub(crate) jwks_fetches: AtomicUsize,
    pub(crate) metadata_fetches: AtomicUsize,
}

/// Which test keys are published in the JWKS and which one signs.
struct KeyRing {
    current: usize,
    published: Vec<usize>,
}

impl Shared {
    fn ring(&self) -> MutexGuard<'_, KeyRing> {
        // A panic while holding the lock cannot leave the ring inconsistent; keep serving.
        self.ring.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Indexes of the published keys, oldest first.
    pub(crate) fn published_keys(&self) -> Vec<usize> {
        self.ring().published.clone()
    }

    /// Tenants answered: the configured ids plus Entra's multi-tenant aliases.
    pub(crate) fn knows(&self, tenant: &str) -> bool {
        self.tenants.contains(tenant) || is_multi_tenant_alias(tenant)
    }
}

/// `common`, `organizations`, `consumers`: Entra's tenant-independent endpoints.
pub(crate) fn is_multi_tenant_alias(tenant: &str) -> bool {
    matches!(tenant, "common" | "organizations" | "consumers")
}

impl FakeEntra {
    /// Starts the fake on 127.0.0.1:<ephemeral> inside the current tokio runtime. Tenants it
    /// knows: the given ids (plus `common`, `organizations` and `consumers`).
    pub async fn start(tenants: &[&str]) -> FakeEntra {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("fake Entra cannot bind 127.0.0.1:0: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("fake Entra has no local address: {e}"));
        let shared = Arc::new(Shared {
            authority_host: format!("http://{addr}"),
            tenants: tenants.iter().map(|t| t.to_string()).collect(),
            ring: Mutex::new(KeyRing {
                current: 0,
                published: vec![0],
            }),
            jwks_fetches: AtomicUsize::new(0),
            metadata_fetches: AtomicUsize::new(0),
        });
        // Parse the keys now rather than inside the first request or mint.
        keys::test_keys();
        let app = http::router(shared.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeEntra { shared, server }
    }

    /// e.g. `http://127.0.0.1:41234`: the authority host (what `https://login.microsoftonline.com`
    /// is in production), no trailing slash.
    pub fn authority_host(&self) -> String {
        self.shared.authority_host.clone()
    }

    /// Number of JWKS documents served so far (all tenants, v1 and v2 paths).
    pub fn jwks_fetches(&self) -> usize {
        self.shared.jwks_fetches.load(Ordering::SeqCst)
    }

    /// Number of OpenID metadata documents served so far (all tenants, v1 and v2 paths).
    pub fn metadata_fetches(&self) -> usize {
        self.shared.metadata_fetches.load(Ordering::SeqCst)
    }

    /// Publishes the next of the 3 test keys and makes it the one [`FakeEntra::mint`] signs with;
    /// the old keys stay published unless `retire_old` is true (then only the new one is).
    /// After the third key it wraps around to the first.
    pub fn rotate(&self, retire_old: bool) {
        let mut ring = self.shared.ring();
        let next = (ring.current + 1) % keys::KEY_COUNT;
        ring.current = next;
        if retire_old {
            ring.published = vec![next];
        } else {
            ring.published.retain(|&k| k != next);
            ring.published.push(next);
        }
    }

    /// kid of the current signing key (Entra's kid is the certificate's x5t).
    pub fn current_kid(&self) -> String {
        self.current_key().kid.clone()
    }

    /// Signs a token for these claims with the current key: RS256, header
    /// `{"typ":"JWT","alg":"RS256","kid":…,"x5t":…}` as Entra sends it.
    pub fn mint(&self, spec: &TokenSpec) -> String {
        let key = self.current_key();
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(spec.kid_override.clone().unwrap_or_else(|| key.kid.clone()));
        header.x5t = Some(key.x5t.clone());
        let claims = spec.claims(&self.shared.authority_host);
        jsonwebtoken::encode(&header, &claims, &key.encoding)
            .unwrap_or_else(|e| panic!("RS256 signing with a test key failed: {e}"))
    }

    /// The current key's public key as SPKI PEM (`-----BEGIN PUBLIC KEY-----`), for the
    /// "HS256 signed with the public key as secret" attack.
    pub fn public_key_pem(&self) -> String {
        self.current_key().public_pem.to_string()
    }

    fn current_key(&self) -> &'static keys::TestKey {
        &keys::test_keys()[self.shared.ring().current]
    }
}

impl Drop for FakeEntra {
    fn drop(&mut self) {
        self.server.abort();
    }
}
