//! The downstream-token cache (its bound, callers whose token expired), the sorting of Entra's
//! refusals, the refusal of a call that names no identity, and a cached token coming due as the
//! clock moves.

use serde_json::json;

use super::cache::{Key, TokenCache};
use super::*;

fn caller(oid: &str) -> CallerToken {
    CallerToken {
        tenant_id: "t".into(),
        object_id: oid.into(),
        token: Secret::from("user-token"),
        expires_at: crate::clock::Clock::system().now_secs() + 3600,
    }
}

#[test]
fn the_cache_keeps_at_most_its_capacity_dropping_the_least_recently_used() {
    let cache = TokenCache::new(2);
    let (a, b, c) = (
        Key::new(&caller("a"), "https://api.loganalytics.io"),
        Key::new(&caller("b"), "https://api.loganalytics.io"),
        Key::new(&caller("c"), "https://api.loganalytics.io"),
    );
    cache.slot(&a);
    cache.slot(&b);
    // a is used again, so b is now the least recently used.
    cache.slot(&a);
    cache.slot(&c);
    assert_eq!(cache.len(), 2);
    assert!(cache.contains(&a) && cache.contains(&c) && !cache.contains(&b));
    // Keys differ by resource and by tenant, and a trailing slash is the same resource.
    assert_eq!(a, Key::new(&caller("a"), "https://api.loganalytics.io/"));
    assert_ne!(a, Key::new(&caller("a"), "https://graph.microsoft.com"));
}

fn exchange() -> OnBehalfOf {
    OnBehalfOf::new(
        OboConfig {
            client_id: "app".into(),
            authority_host: "http://127.0.0.1:9".into(),
            home_tenant: "t".into(),
            credential: ClientCredentialConfig::Secret(Secret::from("s")),
            services: Services {
                log_analytics: "https://api.loganalytics.io".into(),
                graph: "https://graph.microsoft.com".into(),
                arm: "https://management.azure.com".into(),
                incidents_api: IncidentsApi::Graph,
                write_tools: false,
            },
            cache_entries: 8,
        },
        OutboundClient::new(Duration::from_secs(1)).unwrap(),
        &super::super::token::IdentityConfig::default(),
    )
    .unwrap()
}

#[test]
fn entra_refusals_are_sorted_by_who_can_act_on_them() {
    let x = exchange();
    let la = "https://api.loganalytics.io";
    let consent = json!({"error": "invalid_grant", "error_codes": [65001], "suberror": "consent_required", "error_description": "AADSTS65001: not consented"});
    let e = x.classify(la, 400, Some(&consent), "");
    assert!(matches!(e, OboError::ConsentRequired { .. }), "{e:?}");
    assert_eq!(e.status(), None);
    assert!(e.to_string().contains("Data.Read") && e.to_string().contains("admin consent"));

    let claims = r#"{"access_token":{"capolids":{"essential":true,"values":["p"]}}}"#;
    let mfa = json!({"error": "interaction_required", "error_codes": [50076], "claims": claims, "error_description": "AADSTS50076: mfa"});
    let e = x.classify(la, 400, Some(&mfa), "");
    assert_eq!(e.status(), Some(401));
    let header = e.www_authenticate().unwrap();
    assert!(
        header.starts_with("Bearer error=\"insufficient_claims\", claims=\""),
        "{header}"
    );
    assert!(header.contains(&base64::engine::general_purpose::STANDARD.encode(claims)));

    let expired = json!({"error": "invalid_grant", "error_codes": [500133], "error_description": "AADSTS500133: expired"});
    assert_eq!(x.classify(la, 400, Some(&expired), "").status(), Some(401));
    let client = json!({"error": "invalid_client", "error_codes": [7000215], "error_description": "AADSTS7000215: bad secret"});
    assert_eq!(x.classify(la, 401, Some(&client), "").status(), Some(503));
    assert_eq!(x.classify(la, 503, None, "down").status(), Some(503));
}

#[tokio::test]
async fn an_expired_caller_is_refused_without_an_exchange_and_its_tokens_are_dropped() {
    let x = exchange();
    let mut alice = caller("alice");
    alice.expires_at = crate::clock::Clock::system().now_secs() - 1;
    let la = "https://api.loganalytics.io";
    x.cache.slot(&Key::new(&alice, la));
    // The authority is a closed port: an exchange attempt would be `Unavailable`.
    let e = x.token(&alice, la).await.unwrap_err();
    assert!(matches!(e, OboError::CallerToken { .. }), "{e:?}");
    assert_eq!(e.status(), Some(401));
    assert!(!x.cache.contains(&Key::new(&alice, la)));
}

#[tokio::test]
async fn outside_any_scope_an_on_behalf_of_client_refuses_to_call() {
    let http = crate::azure::AzureHttp {
        http: OutboundClient::new(Duration::from_secs(1)).unwrap(),
        credential: std::sync::Arc::new(crate::azure::token::TokenCredential::new(
            Vec::new(),
            crate::clock::Clock::system(),
        )),
        unscoped: None,
    };
    let request = OutboundRequest::new(Method::GET, "http://127.0.0.1:9/x".to_string());
    let e = http
        .call("https://api.loganalytics.io", request)
        .await
        .unwrap_err();
    assert!(matches!(e, crate::azure::AzureError::NoIdentity), "{e}");
}

#[tokio::test]
async fn a_cached_downstream_token_is_exchanged_again_once_the_clock_passes_its_refresh_point() {
    use test_support::entra::{AppRegistration, FakeEntra, TokenSpec};
    const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    const APP: &str = "8a3c6a3e-5d4c-4e57-9a39-6b1e4d2c7f10";
    const ALICE: &str = "a11ce000-0000-4000-8000-000000000001";
    let la = "https://api.loganalytics.io";
    let entra = FakeEntra::start(&[TENANT]).await;
    let mut app = AppRegistration::new(APP).consent(la, &["Data.Read"]);
    app.secrets.push("obo-secret".into());
    entra.register_app(app);
    entra.set_token_lifetime(3600);
    let manual = crate::clock::ManualClock::new();
    let clock = manual.clock();
    let x = OnBehalfOf::new(
        OboConfig {
            client_id: APP.into(),
            authority_host: entra.authority_host(),
            home_tenant: TENANT.into(),
            credential: ClientCredentialConfig::Secret(Secret::from("obo-secret")),
            services: Services {
                log_analytics: la.into(),
                graph: "https://graph.microsoft.com".into(),
                arm: "https://management.azure.com".into(),
                incidents_api: IncidentsApi::Graph,
                write_tools: false,
            },
            cache_entries: 8,
        },
        OutboundClient::new(Duration::from_secs(10))
            .unwrap()
            .with_clock(clock.clone()),
        &super::super::token::IdentityConfig::default(),
    )
    .unwrap();
    let mut spec = TokenSpec::user(TENANT, APP, &["SecOps.Read"]);
    spec.oid = ALICE.into();
    spec.expires_in_secs = 4 * 3600;
    let alice = CallerToken {
        tenant_id: TENANT.into(),
        object_id: ALICE.into(),
        token: Secret::new(entra.mint(&spec)),
        expires_at: clock.now_secs() + 4 * 3600,
    };
    let first = x.token(&alice, la).await.unwrap();
    // Served from the cache until five minutes before the downstream token's hour is up...
    manual.advance(Duration::from_secs(3600 - 300 - 10));
    assert_eq!(x.token(&alice, la).await.unwrap().token, first.token);
    assert_eq!(entra.exchanges_for(ALICE, la), 1);
    // ...then exchanged again, without sleeping.
    manual.advance(Duration::from_secs(20));
    x.token(&alice, la).await.unwrap();
    assert_eq!(entra.exchanges_for(ALICE, la), 2);
}
