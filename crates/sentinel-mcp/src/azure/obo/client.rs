//! How the server authenticates to Entra as the API's app registration in the exchange, in order
//! of preference: its managed identity as a federated identity credential (a managed identity
//! token for `api://AzureADTokenExchange` is the client assertion: no secret anywhere), an
//! assertion signed with a certificate, or a client secret (development).

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use sha2::{Digest, Sha256};

use super::OboError;
use crate::azure::token::{IdentityConfig, TokenCredential, managed_identity};
use crate::outbound::OutboundClient;
use crate::secret::Secret;

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// A signed assertion is good for this long (Entra advises minutes).
const ASSERTION_LIFETIME_SECS: i64 = 600;

/// Which credential the settings choose.
#[derive(Debug, Clone)]
pub enum ClientCredentialConfig {
    /// The managed identity's token for this audience (`api://AzureADTokenExchange`).
    ManagedIdentity { audience: String },
    /// A PEM file holding the certificate and its private key.
    Certificate(PathBuf),
    /// The app registration's client secret.
    Secret(Secret),
}

/// The credential, ready to use.
pub enum ClientCredential {
    ManagedIdentity {
        identity: TokenCredential,
        audience: String,
    },
    Certificate(CertificateCredential),
    Secret(Secret),
}

impl ClientCredential {
    /// Loads the credential the configuration names; errors name the setting.
    pub fn new(
        config: &ClientCredentialConfig,
        identity: &IdentityConfig,
        http: &OutboundClient,
    ) -> Result<ClientCredential, String> {
        Ok(match config {
            ClientCredentialConfig::ManagedIdentity { audience } => {
                let provider = managed_identity(identity, http).ok_or(
                    "on-behalf-of needs a credential for MCP_SERVER_APP_ID: a managed identity (IDENTITY_ENDPOINT, or IMDS), SENTINEL_MCP_CLIENT_CERTIFICATE_PATH or SENTINEL_MCP_CLIENT_SECRET",
                )?;
                ClientCredential::ManagedIdentity {
                    identity: TokenCredential::new(vec![provider], http.clock().clone()),
                    audience: audience.clone(),
                }
            }
            ClientCredentialConfig::Certificate(path) => {
                ClientCredential::Certificate(CertificateCredential::load(path)?)
            }
            ClientCredentialConfig::Secret(secret) => ClientCredential::Secret(secret.clone()),
        })
    }

    /// Its name in logs and messages.
    pub fn name(&self) -> &'static str {
        match self {
            ClientCredential::ManagedIdentity { .. } => "managed identity (federated credential)",
            ClientCredential::Certificate(_) => "certificate",
            ClientCredential::Secret(_) => "client secret",
        }
    }

    /// The form fields that authenticate `client_id` at `token_endpoint`; a certificate's
    /// assertion is valid from `now` (Unix seconds).
    pub async fn fields(
        &self,
        client_id: &str,
        token_endpoint: &str,
        now: i64,
    ) -> Result<Vec<(String, Secret)>, OboError> {
        let assertion = match self {
            ClientCredential::Secret(secret) => {
                return Ok(vec![("client_secret".to_string(), secret.clone())]);
            }
            ClientCredential::ManagedIdentity { identity, audience } => identity
                .token(audience)
                .await
                .map_err(|e| OboError::ServerCredential {
                    detail: format!("the managed identity gave no token for {audience}: {e}"),
                })?,
            ClientCredential::Certificate(certificate) => {
                certificate.assertion(client_id, token_endpoint, now)?
            }
        };
        Ok(vec![
            (
                "client_assertion_type".to_string(),
                Secret::from(ASSERTION_TYPE),
            ),
            ("client_assertion".to_string(), assertion),
        ])
    }
}

/// A certificate credential: the private key and the certificate's SHA-256 thumbprint.
pub struct CertificateCredential {
    key: EncodingKey,
    /// base64url SHA-256 of the certificate's DER: the assertion's `x5t#S256`.
    thumbprint: String,
}

impl CertificateCredential {
    /// Reads a PEM file with a `CERTIFICATE` block and an unencrypted `PRIVATE KEY` (PKCS#8) or
    /// `RSA PRIVATE KEY` (PKCS#1) block.
    pub fn load(path: &Path) -> Result<CertificateCredential, String> {
        let name = || format!("SENTINEL_MCP_CLIENT_CERTIFICATE_PATH {}", path.display());
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", name()))?;
        CertificateCredential::parse(&text).map_err(|e| format!("{}: {e}", name()))
    }

    fn parse(pem: &str) -> Result<CertificateCredential, String> {
        if pem_block(pem, "ENCRYPTED PRIVATE KEY").is_some() {
            return Err("the private key is encrypted; export it without a password".into());
        }
        let certificate = pem_block(pem, "CERTIFICATE").ok_or("holds no CERTIFICATE block")?;
        let der = STANDARD
            .decode(certificate.body.as_bytes())
            .map_err(|_| "the CERTIFICATE block is not base64")?;
        let key = pem_block(pem, "PRIVATE KEY")
            .or_else(|| pem_block(pem, "RSA PRIVATE KEY"))
            .ok_or("holds no PRIVATE KEY block (the certificate's RSA key, unencrypted)")?;
        let key = EncodingKey::from_rsa_pem(key.text.as_bytes())
            .map_err(|e| format!("the private key is not a usable RSA key: {e}"))?;
        Ok(CertificateCredential {
            key,
            thumbprint: URL_SAFE_NO_PAD.encode(Sha256::digest(&der)),
        })
    }

    /// A signed client assertion for `token_endpoint`: PS256, `x5t#S256`, `aud` the endpoint,
    /// `iss` = `sub` = the client id, a fresh `jti`, ten minutes of validity.
    fn assertion(
        &self,
        client_id: &str,
        token_endpoint: &str,
        now: i64,
    ) -> Result<Secret, OboError> {
        let mut header = Header::new(Algorithm::PS256);
        header.x5t_s256 = Some(self.thumbprint.clone());
        let claims = serde_json::json!({
            "aud": token_endpoint,
            "iss": client_id,
            "sub": client_id,
            "jti": uuid::Uuid::new_v4().to_string(),
            "nbf": now,
            "iat": now,
            "exp": now + ASSERTION_LIFETIME_SECS,
        });
        jsonwebtoken::encode(&header, &claims, &self.key)
            .map(Secret::new)
            .map_err(|e| OboError::ServerCredential {
                detail: format!("the certificate could not sign the client assertion: {e}"),
            })
    }
}

/// One PEM block: its whole text (armour included) and its base64 body.
struct PemBlock {
    text: String,
    body: String,
}

/// The first block labelled exactly `label`.
fn pem_block(pem: &str, label: &str) -> Option<PemBlock> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin)?;
    let stop = pem[start..].find(&end)? + start + end.len();
    let text = pem[start..stop].to_string();
    let body = text[begin.len()..text.len() - end.len()]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    Some(PemBlock { text, body })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pem_without_a_key_or_with_an_encrypted_one_is_refused_with_the_reason() {
        let cert = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let err = CertificateCredential::parse(cert).err().unwrap_or_default();
        assert!(err.contains("no PRIVATE KEY"), "{err}");
        let encrypted = format!(
            "{cert}-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"
        );
        let err = CertificateCredential::parse(&encrypted)
            .err()
            .unwrap_or_default();
        assert!(err.contains("encrypted"), "{err}");
        let err = CertificateCredential::parse("nothing")
            .err()
            .unwrap_or_default();
        assert!(err.contains("no CERTIFICATE"), "{err}");
    }

    #[test]
    fn pem_blocks_are_found_by_their_exact_label() {
        let pem = "x\n-----BEGIN RSA PRIVATE KEY-----\nAB\nCD\n-----END RSA PRIVATE KEY-----\n";
        assert!(pem_block(pem, "PRIVATE KEY").is_none());
        let block = pem_block(pem, "RSA PRIVATE KEY").unwrap();
        assert_eq!(block.body, "ABCD");
        assert!(block.text.starts_with("-----BEGIN RSA") && block.text.ends_with("KEY-----"));
    }
}
