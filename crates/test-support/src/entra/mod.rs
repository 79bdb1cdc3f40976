//! A fake Microsoft Entra ID (the `login.microsoftonline.com` authority) for tests.
//!
//! [`FakeEntra::start`] serves, for each tenant it knows, the v1 and v2 OpenID metadata and JWKS
//! documents at Entra's real paths and in its real JSON shapes, and [`FakeEntra::mint`] signs
//! access tokens in the v1 or v2 shape with one of three committed test RSA keys. Keys rotate with
//! [`FakeEntra::rotate`]; fetch counters let tests assert on the validator's JWKS caching. The free
//! functions ([`alg_none`], [`hs256_with_key`], [`tamper_payload`], [`tamper_signature`]) forge
//! tokens for the rejection matrix.
//!
//! It also plays Entra's token service for a middle-tier API: [`FakeEntra::register_app`] adds
//! an app registration (secrets, certificates, federated identity credentials, admin consent),
//! the token endpoint answers the on-behalf-of grant in Entra's wire format (its error bodies,
//! AADSTS codes, `claims` challenges of Conditional Access policies set with
//! [`FakeEntra::require_mfa`]), and a Container Apps managed identity endpoint issues the tokens
//! a managed identity presents as a federated client assertion.
//!
//! Layout: `keys` (test keys), `token` (claims per shape), `attacks` (forgeries), `directory`
//! (app registrations, policies, records), `exchange` (the token endpoint), `identity` (the
//! managed identity endpoint), `http` (the router).

mod attacks;
mod directory;
mod exchange;
mod http;
mod identity;
mod keys;
#[cfg(test)]
mod tests;
mod token;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use jsonwebtoken::{Algorithm, Header};
use tokio::task::JoinHandle;

pub use attacks::{alg_none, hs256_with_key, tamper_payload, tamper_signature};
pub use directory::{
    AppRegistration, ClientAuth, FederatedCredential, IdentityRequest, MANAGED_IDENTITY_CLIENT_ID,
    MANAGED_IDENTITY_PRINCIPAL_ID, TOKEN_EXCHANGE_AUDIENCE, TokenRequest, thumbprint_s256,
};
pub(crate) use keys::{Unverified, verify_issued};
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
    /// The tenant the managed identity lives in: the first one given to `start`.
    pub(crate) home_tenant: String,
    pub(crate) directory: Mutex<Directory>,
    /// Lifetime in seconds of the tokens the token endpoint issues.
    pub(crate) token_lifetime: AtomicI64,
    /// When set, the managed identity endpoint answers 500.
    pub(crate) identity_down: AtomicBool,
}

/// The mutable directory: registrations, policies and what was asked of it.
#[derive(Default)]
pub(crate) struct Directory {
    pub(crate) apps: Vec<AppRegistration>,
    pub(crate) mfa: Vec<directory::MfaPolicy>,
    pub(crate) token_requests: Vec<TokenRequest>,
    pub(crate) identity_requests: Vec<IdentityRequest>,
    /// How long the token endpoint takes to answer.
    pub(crate) token_delay: Duration,
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

    pub(crate) fn directory(&self) -> MutexGuard<'_, Directory> {
        self.directory.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The key new tokens are signed with.
    pub(crate) fn signing_key(&self) -> &'static keys::TestKey {
        &keys::test_keys()[self.ring().current]
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
            home_tenant: tenants.first().map(|t| t.to_string()).unwrap_or_default(),
            directory: Mutex::new(Directory::default()),
            token_lifetime: AtomicI64::new(3600),
            identity_down: AtomicBool::new(false),
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
        self.shared.signing_key()
    }

    /// Registers (or replaces, by app id) an application.
    pub fn register_app(&self, app: AppRegistration) {
        let mut dir = self.shared.directory();
        dir.apps.retain(|a| a.app_id != app.app_id);
        dir.apps.push(app);
    }

    /// The federated identity credential that trusts this fake's managed identity: its tokens'
    /// issuer (the home tenant's v2 issuer) and subject (the identity's principal id).
    pub fn managed_identity_credential(&self) -> FederatedCredential {
        FederatedCredential {
            issuer: token::v2_issuer(&self.shared.authority_host, &self.shared.home_tenant),
            subject: MANAGED_IDENTITY_PRINCIPAL_ID.to_string(),
            audiences: vec![TOKEN_EXCHANGE_AUDIENCE.to_string()],
        }
    }

    /// The Container Apps managed identity endpoint (`IDENTITY_ENDPOINT`); it wants
    /// `X-IDENTITY-HEADER: `[`crate::azure::IDENTITY_HEADER`].
    pub fn identity_endpoint(&self) -> String {
        format!("{}/msi/token", self.shared.authority_host)
    }

    /// Makes the managed identity endpoint fail (500) or work again.
    pub fn set_identity_down(&self, down: bool) {
        self.shared.identity_down.store(down, Ordering::SeqCst);
    }

    /// A Conditional Access policy: `user_oid` gets tokens for `resource` only after signing in
    /// with MFA (`amr` holds `mfa`); otherwise the exchange answers a claims challenge.
    pub fn require_mfa(&self, user_oid: &str, resource: &str) {
        self.shared.directory().mfa.push(directory::MfaPolicy {
            user_oid: user_oid.to_string(),
            resource: resource.trim_end_matches('/').to_string(),
            policy_id: uuid::Uuid::new_v4().to_string(),
        });
    }

    /// Lifetime in seconds of the tokens the token endpoint issues from now on (default 3600).
    pub fn set_token_lifetime(&self, secs: i64) {
        self.shared.token_lifetime.store(secs, Ordering::SeqCst);
    }

    /// Makes the token endpoint take this long to answer (to overlap concurrent requests).
    pub fn set_token_delay(&self, delay: Duration) {
        self.shared.directory().token_delay = delay;
    }

    /// Every request to the token endpoint so far.
    pub fn token_requests(&self) -> Vec<TokenRequest> {
        self.shared.directory().token_requests.clone()
    }

    /// On-behalf-of exchanges that issued a token for `user_oid` and `resource`.
    pub fn exchanges_for(&self, user_oid: &str, resource: &str) -> usize {
        self.token_requests()
            .iter()
            .filter(|r| {
                r.outcome.is_ok()
                    && r.user_oid.as_deref() == Some(user_oid)
                    && r.resource == resource.trim_end_matches('/')
            })
            .count()
    }

    /// Every request to the managed identity endpoint so far.
    pub fn identity_requests(&self) -> Vec<IdentityRequest> {
        self.shared.directory().identity_requests.clone()
    }
}

/// The fake app registration's certificate credential as one PEM file's text (certificate, then
/// private key), as `SENTINEL_MCP_CLIENT_CERTIFICATE_PATH` holds it.
pub fn client_certificate_pem() -> String {
    format!("{}{}", keys::CLIENT_CERT_PEM, keys::CLIENT_CERT_KEY_PEM)
}

/// The certificate alone (to register on an [`AppRegistration`]).
pub fn client_certificate() -> String {
    keys::CLIENT_CERT_PEM.to_string()
}

/// Another certificate and key in one PEM, which no app registration trusts.
pub fn untrusted_certificate_pem() -> String {
    let (key, cert) = keys::signing_key_pems(1);
    format!("{cert}{key}")
}

impl Drop for FakeEntra {
    fn drop(&mut self) {
        self.server.abort();
    }
}
