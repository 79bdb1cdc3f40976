//! The one way out: every outbound HTTP call (Entra metadata and keys, Azure APIs) goes through
//! `OutboundClient`, which sets timeouts and the user agent and turns failures into sentences.

use std::time::Duration;

use serde::de::DeserializeOwned;

/// Why an outbound call failed; never carries a token or a secret.
#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    #[error("request to {url} failed: {reason}")]
    Transport { url: String, reason: String },
    #[error("{url} answered HTTP {status}: {body}")]
    Status {
        url: String,
        status: u16,
        body: String,
    },
    #[error("{url} answered with JSON that could not be read: {reason}")]
    Decode { url: String, reason: String },
}

/// A shared HTTP client (connection pooling, rustls).
#[derive(Debug, Clone)]
pub struct OutboundClient {
    http: reqwest::Client,
}

/// The most of an error body worth repeating in a message.
const MAX_ERROR_BODY: usize = 512;

impl OutboundClient {
    /// A client whose every request times out after `timeout`.
    pub fn new(timeout: Duration) -> Result<OutboundClient, OutboundError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("sentinel-mcp/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| OutboundError::Transport {
                url: String::new(),
                reason: e.to_string(),
            })?;
        Ok(OutboundClient { http })
    }

    /// GET a JSON document.
    pub async fn get_json<T: DeserializeOwned>(&self, url: &str) -> Result<T, OutboundError> {
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| OutboundError::Transport {
                url: url.to_string(),
                reason: e.to_string(),
            })?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| OutboundError::Transport {
                url: url.to_string(),
                reason: e.to_string(),
            })?;
        if !status.is_success() {
            let text = String::from_utf8_lossy(&body[..body.len().min(MAX_ERROR_BODY)]).to_string();
            return Err(OutboundError::Status {
                url: url.to_string(),
                status: status.as_u16(),
                body: text,
            });
        }
        serde_json::from_slice(&body).map_err(|e| OutboundError::Decode {
            url: url.to_string(),
            reason: e.to_string(),
        })
    }
}
