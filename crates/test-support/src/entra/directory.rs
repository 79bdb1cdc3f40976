//! What the fake directory knows beyond its keys: app registrations (their credentials and the
//! admin consent granted to them), a managed identity, Conditional Access policies, and a record
//! of every token request so tests can count exchanges and see how the client authenticated.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};

/// The audience a managed identity token must carry to be used as a federated client assertion.
pub const TOKEN_EXCHANGE_AUDIENCE: &str = "api://AzureADTokenExchange";
/// Object (principal) id of the fake's managed identity: the `sub` of its tokens.
pub const MANAGED_IDENTITY_PRINCIPAL_ID: &str = "4e2d8c1a-7b3f-4a9e-8d6c-2f1e0a9b8c7d";
/// Client id of the fake's managed identity.
pub const MANAGED_IDENTITY_CLIENT_ID: &str = "c0ffee00-1d2e-4f3a-8b9c-0d1e2f3a4b5c";

/// A federated identity credential on an app registration: tokens from `issuer` about `subject`
/// carrying one of `audiences` are accepted as the app's client assertion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FederatedCredential {
    pub issuer: String,
    pub subject: String,
    pub audiences: Vec<String>,
}

/// An application registered in the fake directory: how it may authenticate, and the delegated
/// permissions an administrator consented to per resource.
#[derive(Debug, Clone)]
pub struct AppRegistration {
    /// The application (client) id.
    pub app_id: String,
    pub display_name: String,
    /// Client secrets it accepts.
    pub secrets: Vec<String>,
    /// Certificates (PEM) whose private keys may sign its client assertions.
    pub certificates: Vec<String>,
    /// Federated identity credentials.
    pub federated: Vec<FederatedCredential>,
    /// Admin consent: resource (`https://api.loganalytics.io`) → delegated permissions granted.
    pub consent: Vec<(String, Vec<String>)>,
}

impl AppRegistration {
    /// An app with no credential and no consent yet.
    pub fn new(app_id: &str) -> AppRegistration {
        AppRegistration {
            app_id: app_id.to_string(),
            display_name: "sentinel-mcp".to_string(),
            secrets: Vec::new(),
            certificates: Vec::new(),
            federated: Vec::new(),
            consent: Vec::new(),
        }
    }

    /// Admin consent for `permissions` of `resource`.
    pub fn consent(mut self, resource: &str, permissions: &[&str]) -> AppRegistration {
        self.consent.push((
            resource.trim_end_matches('/').to_string(),
            permissions.iter().map(|p| p.to_string()).collect(),
        ));
        self
    }

    /// The permissions consented for `resource`, if any.
    pub(crate) fn consented(&self, resource: &str) -> Option<&[String]> {
        self.consent
            .iter()
            .find(|(r, _)| r.eq_ignore_ascii_case(resource.trim_end_matches('/')))
            .map(|(_, p)| p.as_slice())
    }

    /// The registered certificate whose SHA-256 (`x5t#S256`) or SHA-1 (`x5t`) thumbprint is given.
    pub(crate) fn certificate(&self, x5t_s256: Option<&str>) -> Option<&str> {
        let wanted = x5t_s256?;
        self.certificates
            .iter()
            .find(|pem| thumbprint_s256(pem).as_deref() == Some(wanted))
            .map(String::as_str)
    }
}

/// The base64url SHA-256 thumbprint of a PEM certificate's DER, as `x5t#S256` carries it.
pub fn thumbprint_s256(certificate_pem: &str) -> Option<String> {
    let body: String = certificate_pem
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN CERTIFICATE-----"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    let der = STANDARD.decode(body.trim()).ok()?;
    Some(URL_SAFE_NO_PAD.encode(Sha256::digest(&der)))
}

/// How a client authenticated to the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    Secret,
    Certificate,
    /// A federated assertion (e.g. a managed identity token for api://AzureADTokenExchange).
    Federated,
    /// No or a failed client authentication.
    None,
}

/// One request to the token endpoint and what it was answered.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    pub grant_type: String,
    pub client_id: String,
    pub client_auth: ClientAuth,
    /// The resource of the requested scope (`https://graph.microsoft.com`).
    pub resource: String,
    /// `oid` of the user assertion (on-behalf-of), when it verified.
    pub user_oid: Option<String>,
    /// `Ok(())` when a token was issued, else the AADSTS code.
    pub outcome: Result<(), u32>,
}

/// One request to the managed identity endpoint.
#[derive(Debug, Clone)]
pub struct IdentityRequest {
    pub resource: String,
    /// Whether a token was issued.
    pub issued: bool,
}

/// A Conditional Access policy: the user must have signed in with MFA to get tokens for the resource.
#[derive(Debug, Clone)]
pub(crate) struct MfaPolicy {
    pub(crate) user_oid: String,
    pub(crate) resource: String,
    pub(crate) policy_id: String,
}
