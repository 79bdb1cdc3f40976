//! The identity chain against the fake Entra, Container Apps endpoint and IMDS: which provider
//! answers, what each request carries, caching, single-flight refresh and error messages.

use std::sync::Arc;

use sentinel_mcp::azure::token::{IdentityConfig, TokenCredential, providers};
use sentinel_mcp::clock::{Clock, ManualClock};
use sentinel_mcp::outbound::{OutboundClient, RetryPolicy};
use sentinel_mcp::secret::Secret;
use test_support::azure::{CLIENT_SECRET, FakeAzure, IDENTITY_HEADER, LOG_ANALYTICS};

fn http() -> OutboundClient {
    OutboundClient::new(std::time::Duration::from_secs(10))
        .unwrap()
        .with_retry(RetryPolicy {
            max_retries: 2,
            base_delay: std::time::Duration::from_millis(10),
            max_delay: std::time::Duration::from_secs(2),
        })
}

fn base_config(fake: &FakeAzure) -> IdentityConfig {
    IdentityConfig {
        authority_host: fake.authority_host(),
        imds_endpoint: fake.base.clone(),
        imds: true,
        ..IdentityConfig::default()
    }
}

fn credential(config: &IdentityConfig) -> TokenCredential {
    TokenCredential::new(providers(config, &http()), Clock::system())
}

#[tokio::test]
async fn azure_client_secret_comes_first_and_asks_entra_for_the_resource_scope() {
    let fake = FakeAzure::start(100).await;
    let config = IdentityConfig {
        tenant_id: Some("contoso".into()),
        client_id: Some("app-1".into()),
        client_secret: Some(Secret::new(CLIENT_SECRET)),
        identity_endpoint: Some(fake.identity_endpoint()),
        identity_header: Some(Secret::new(IDENTITY_HEADER)),
        ..base_config(&fake)
    };
    let cred = credential(&config);
    assert_eq!(
        cred.provider_names(),
        ["client secret", "managed identity (Container Apps)"]
    );
    let token = cred.token(LOG_ANALYTICS).await.unwrap();
    assert_eq!(
        fake.audience_of(token.expose()).as_deref(),
        Some(LOG_ANALYTICS)
    );
    let reqs = fake.requests_to("/contoso/oauth2/v2.0/token");
    assert_eq!(reqs.len(), 1);
    let form = reqs[0].form();
    assert!(form.contains(&("scope".into(), format!("{LOG_ANALYTICS}/.default"))));
    assert!(form.contains(&("client_id".into(), "app-1".into())));
    assert!(form.contains(&("grant_type".into(), "client_credentials".into())));
    assert!(reqs[0].header("x-ms-client-request-id").is_some());
    assert!(reqs[0].header("traceparent").unwrap().starts_with("00-"));
    assert!(fake.requests_to("/msi/token").is_empty());
}

#[tokio::test]
async fn azure_wrong_secret_names_the_provider_and_aadsts_code_but_not_the_secret() {
    let fake = FakeAzure::start(100).await;
    let config = IdentityConfig {
        tenant_id: Some("contoso".into()),
        client_id: Some("app-1".into()),
        client_secret: Some(Secret::new("wrong-secret-value")),
        ..base_config(&fake)
    };
    let err = credential(&config)
        .token(LOG_ANALYTICS)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("client secret:"), "{err}");
    assert!(err.contains("AADSTS7000215"), "{err}");
    assert!(!err.contains("wrong-secret-value"), "{err}");
    assert!(!format!("{config:?}").contains("wrong-secret-value"));
}

#[tokio::test]
async fn azure_container_apps_identity_sends_header_api_version_and_user_assigned_ids() {
    let fake = FakeAzure::start(100).await;
    let config = IdentityConfig {
        client_id: Some("ua-client".into()),
        identity_endpoint: Some(fake.identity_endpoint()),
        identity_header: Some(Secret::new(IDENTITY_HEADER)),
        ..base_config(&fake)
    };
    let token = credential(&config).token(LOG_ANALYTICS).await.unwrap();
    assert!(token.expose().starts_with("fake-containerapps-token"));
    let r = &fake.requests_to("/msi/token")[0];
    assert_eq!(r.param("api-version"), Some("2019-08-01"));
    assert_eq!(r.param("resource"), Some(LOG_ANALYTICS));
    assert_eq!(r.param("client_id"), Some("ua-client"));
    assert_eq!(r.header("x-identity-header"), Some(IDENTITY_HEADER));

    let config = IdentityConfig {
        managed_identity_resource_id: Some("/subscriptions/s/resourceGroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/mi".into()),
        identity_endpoint: Some(fake.identity_endpoint()),
        identity_header: Some(Secret::new(IDENTITY_HEADER)),
        ..base_config(&fake)
    };
    credential(&config).token(LOG_ANALYTICS).await.unwrap();
    let r = fake.requests_to("/msi/token").pop().unwrap();
    assert!(
        r.param("mi_res_id")
            .unwrap()
            .ends_with("/userAssignedIdentities/mi")
    );
    assert_eq!(r.param("client_id"), None);
}

#[tokio::test]
async fn azure_imds_is_used_when_nothing_else_is_configured() {
    let fake = FakeAzure::start(100).await;
    let cred = credential(&base_config(&fake));
    assert_eq!(cred.provider_names(), ["managed identity (IMDS)"]);
    let token = cred.token("https://graph.microsoft.com").await.unwrap();
    assert!(token.expose().starts_with("fake-imds-token"));
    let r = &fake.requests_to("/metadata/identity/oauth2/token")[0];
    assert_eq!(r.header("metadata"), Some("true"));
    assert_eq!(r.param("api-version"), Some("2018-02-01"));
}

#[tokio::test]
async fn azure_workload_identity_rereads_the_federated_token_file() {
    let fake = FakeAzure::start(100).await;
    let dir = std::env::temp_dir().join(format!("azure-wi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("token");
    std::fs::write(&file, "assertion-one\n").unwrap();
    let config = IdentityConfig {
        tenant_id: Some("contoso".into()),
        client_id: Some("app-1".into()),
        federated_token_file: Some(file.clone()),
        ..base_config(&fake)
    };
    let cred = credential(&config);
    assert_eq!(cred.provider_names()[0], "workload identity");
    cred.token(LOG_ANALYTICS).await.unwrap();
    std::fs::write(&file, "assertion-two").unwrap();
    cred.token("https://graph.microsoft.com").await.unwrap();
    let assertions: Vec<String> = fake
        .requests_to("/oauth2/v2.0/token")
        .iter()
        .map(|r| {
            r.form()
                .into_iter()
                .find(|(k, _)| k == "client_assertion")
                .unwrap()
                .1
        })
        .collect();
    assert_eq!(assertions, ["assertion-one", "assertion-two"]);
}

#[tokio::test]
async fn azure_tokens_are_cached_per_resource_and_refreshed_five_minutes_early() {
    let fake = FakeAzure::start(100).await;
    let cred = credential(&base_config(&fake));
    let a = cred.token(LOG_ANALYTICS).await.unwrap();
    let b = cred.token(LOG_ANALYTICS).await.unwrap();
    assert_eq!(a, b);
    assert_eq!(fake.tokens_issued(), 1);
    cred.token("https://graph.microsoft.com").await.unwrap();
    assert_eq!(fake.tokens_issued(), 2, "one token per resource");

    // A token within five minutes of expiry is refreshed.
    fake.set_token_lifetime(200);
    cred.invalidate(LOG_ANALYTICS).await;
    cred.token(LOG_ANALYTICS).await.unwrap();
    cred.token(LOG_ANALYTICS).await.unwrap();
    assert_eq!(fake.tokens_issued(), 4);
}

#[tokio::test]
async fn azure_cached_token_is_refreshed_once_the_clock_passes_its_refresh_point() {
    let fake = FakeAzure::start(100).await;
    let manual = ManualClock::new();
    let http = http().with_clock(manual.clock());
    let cred = TokenCredential::new(providers(&base_config(&fake), &http), manual.clock());
    let first = cred.token(LOG_ANALYTICS).await.unwrap();
    // The fake's tokens live an hour; the cache serves one until five minutes before that.
    manual.advance(std::time::Duration::from_secs(3600 - 300 - 10));
    assert_eq!(cred.token(LOG_ANALYTICS).await.unwrap(), first);
    assert_eq!(fake.tokens_issued(), 1);
    manual.advance(std::time::Duration::from_secs(20));
    cred.token(LOG_ANALYTICS).await.unwrap();
    assert_eq!(
        fake.tokens_issued(),
        2,
        "refreshed past the refresh point, without sleeping"
    );
}

#[tokio::test]
async fn azure_concurrent_callers_share_one_refresh() {
    let fake = FakeAzure::start(100).await;
    fake.inject(
        "/metadata/identity",
        test_support::azure::Fault::Slow(std::time::Duration::from_millis(300)),
    );
    let cred = Arc::new(credential(&base_config(&fake)));
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let cred = cred.clone();
        tasks.push(tokio::spawn(async move { cred.token(LOG_ANALYTICS).await }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(fake.tokens_issued(), 1);
}

#[tokio::test]
async fn azure_ready_is_503_naming_the_identity_failure() {
    let fake = FakeAzure::start(100).await;
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_sentinel-mcp"));
    cmd.arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PORT", port.to_string())
        .env("RUST_LOG", "error")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    for (k, v) in fake.server_env() {
        let v = if k == "AZURE_CLIENT_SECRET" {
            "wrong-secret".to_string()
        } else {
            v
        };
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let url = format!("http://127.0.0.1:{port}/ready");
    let http = reqwest::Client::new();
    let mut last = None;
    for _ in 0..200 {
        if let Ok(r) = http.get(&url).send().await {
            let status = r.status().as_u16();
            let body: serde_json::Value = r.json().await.unwrap_or_default();
            if status == 503 && body.to_string().contains("AADSTS") {
                last = Some(body);
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    let body = last.expect("/ready answered 503 with the identity's error");
    let reason = body["backend"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("client secret") && reason.contains("AADSTS7000215"),
        "{reason}"
    );
    assert!(!body.to_string().contains("wrong-secret"));
}

#[tokio::test]
async fn azure_sovereign_cloud_audience_is_the_scope_requested() {
    let fake = FakeAzure::start(100).await;
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_sentinel-mcp"));
    cmd.arg("serve")
        .env_clear()
        .env("PORT", port.to_string())
        .env(
            "SENTINEL_MCP_LOG_ANALYTICS_AUDIENCE",
            "https://api.loganalytics.us",
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    for (k, v) in fake.server_env() {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut scopes = Vec::new();
    for _ in 0..200 {
        scopes = fake
            .requests_to("/oauth2/v2.0/token")
            .iter()
            .flat_map(|r| r.form())
            .filter(|(k, _)| k == "scope")
            .map(|(_, v)| v)
            .collect();
        if !scopes.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        scopes.first().map(String::as_str),
        Some("https://api.loganalytics.us/.default")
    );
}
