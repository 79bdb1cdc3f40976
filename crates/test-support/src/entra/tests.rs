use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};

use super::*;

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const API: &str = "5a1f3c2e-8b9d-4e7f-a6c0-1d2e3f4a5b6c";

async fn get(url: &str) -> (u16, Value) {
    let resp = reqwest::get(url).await.expect("request to the fake");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("JSON body"))
}

/// Fetches the JWKS at `jwks_uri` and verifies `token` with the key its header names.
async fn verify(
    jwks_uri: &str,
    token: &str,
    issuer: &str,
    audience: &str,
) -> jsonwebtoken::errors::Result<Value> {
    let (status, jwks) = get(jwks_uri).await;
    assert_eq!(status, 200);
    let kid = jsonwebtoken::decode_header(token)?.kid.unwrap_or_default();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .cloned()
        .unwrap_or_else(|| jwks["keys"][0].clone());
    let key =
        DecodingKey::from_rsa_components(jwk["n"].as_str().unwrap(), jwk["e"].as_str().unwrap())?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[issuer]);
    jsonwebtoken::decode::<Value>(token, &key, &validation).map(|d| d.claims)
}

#[tokio::test]
async fn v2_user_token_verifies_against_the_jwks_the_v2_metadata_names() {
    let entra = FakeEntra::start(&[TENANT]).await;
    let host = entra.authority_host();
    let (status, meta) = get(&format!(
        "{host}/{TENANT}/v2.0/.well-known/openid-configuration"
    ))
    .await;
    assert_eq!(status, 200);
    let issuer = format!("{host}/{TENANT}/v2.0");
    assert_eq!(meta["issuer"], issuer.as_str());
    assert_eq!(
        meta["jwks_uri"],
        format!("{host}/{TENANT}/discovery/v2.0/keys").as_str()
    );
    assert_eq!(
        meta["authorization_endpoint"],
        format!("{host}/{TENANT}/oauth2/v2.0/authorize").as_str()
    );
    assert_eq!(
        meta["token_endpoint"],
        format!("{host}/{TENANT}/oauth2/v2.0/token").as_str()
    );
    assert_eq!(
        meta["id_token_signing_alg_values_supported"],
        json!(["RS256"])
    );
    assert_eq!(meta["subject_types_supported"], json!(["pairwise"]));
    assert!(meta["response_types_supported"].is_array());
    assert!(meta["scopes_supported"].is_array());
    assert!(meta["tenant_region_scope"].is_string());
    assert_eq!(entra.metadata_fetches(), 1);

    let token = entra.mint(&TokenSpec::user(
        TENANT,
        API,
        &["SecOps.Read", "SecOps.Hunt"],
    ));
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    assert_eq!(header.typ.as_deref(), Some("JWT"));
    assert_eq!(header.kid.as_deref(), Some(entra.current_kid().as_str()));
    assert_eq!(header.x5t, header.kid);

    let claims = verify(meta["jwks_uri"].as_str().unwrap(), &token, &issuer, API)
        .await
        .expect("a minted v2 token verifies");
    assert_eq!(entra.jwks_fetches(), 1);
    assert_eq!(claims["ver"], "2.0");
    assert_eq!(claims["tid"], TENANT);
    assert_eq!(claims["oid"], DEFAULT_USER_OID);
    assert_eq!(claims["preferred_username"], DEFAULT_USER_UPN);
    assert_eq!(claims["azp"], DEFAULT_USER_CLIENT_APP_ID);
    assert_eq!(claims["azpacr"], "0");
    assert_eq!(claims["scp"], "SecOps.Read SecOps.Hunt");
    assert!(claims.get("roles").is_none());
    assert!(claims.get("appid").is_none());
    for c in ["iat", "nbf", "exp"] {
        assert!(claims[c].is_i64(), "{c} is a number");
    }
    let exp = claims["exp"].as_i64().unwrap();
    assert_eq!(exp - claims["iat"].as_i64().unwrap(), 3600);
    assert!(claims["uti"].is_string() && claims["rh"].is_string());
}

#[tokio::test]
async fn v1_app_token_verifies_against_the_jwks_the_v1_metadata_names() {
    let entra = FakeEntra::start(&[TENANT]).await;
    let host = entra.authority_host();
    let (status, meta) = get(&format!("{host}/{TENANT}/.well-known/openid-configuration")).await;
    assert_eq!(status, 200);
    let issuer = format!("https://sts.windows.net/{TENANT}/");
    assert_eq!(meta["issuer"], issuer.as_str());
    let jwks_uri = format!("{host}/{TENANT}/discovery/keys");
    assert_eq!(meta["jwks_uri"], jwks_uri.as_str());
    assert_eq!(
        meta["id_token_signing_alg_values_supported"],
        json!(["RS256"])
    );

    let audience = format!("api://{API}");
    let token = entra.mint(&TokenSpec::app(TENANT, &audience, &["SecOps.Read"]).v1());
    let claims = verify(&jwks_uri, &token, &issuer, &audience)
        .await
        .expect("a minted v1 token verifies");
    assert_eq!(claims["ver"], "1.0");
    assert_eq!(claims["appid"], DEFAULT_APP_CLIENT_ID);
    assert_eq!(claims["appidacr"], "1");
    assert_eq!(claims["oid"], DEFAULT_APP_OID);
    assert_eq!(claims["roles"], json!(["SecOps.Read"]));
    assert!(claims.get("scp").is_none());
    assert!(claims.get("upn").is_none());
    assert!(claims.get("azp").is_none());

    let user = entra.mint(&TokenSpec::user(TENANT, &audience, &["SecOps.Read"]).v1());
    let claims = verify(&jwks_uri, &user, &issuer, &audience).await.unwrap();
    assert_eq!(claims["upn"], DEFAULT_USER_UPN);
    assert_eq!(claims["unique_name"], DEFAULT_USER_UPN);
    assert_eq!(claims["scp"], "SecOps.Read");
    assert_eq!(entra.jwks_fetches(), 2);
}

#[tokio::test]
async fn common_keys_serve_every_published_key_with_the_tenant_template_issuer() {
    let entra = FakeEntra::start(&[TENANT]).await;
    let host = entra.authority_host();
    let (status, jwks) = get(&format!("{host}/common/discovery/v2.0/keys")).await;
    assert_eq!(status, 200);
    let key = &jwks["keys"][0];
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["use"], "sig");
    assert_eq!(key["kid"], entra.current_kid().as_str());
    assert_eq!(key["x5t"], key["kid"]);
    assert_eq!(key["e"], "AQAB");
    assert!(key["x5c"][0].as_str().unwrap().len() > 500);
    assert_eq!(key["issuer"], format!("{host}/{{tenantid}}/v2.0").as_str());
    let (_, meta) = get(&format!(
        "{host}/common/v2.0/.well-known/openid-configuration"
    ))
    .await;
    assert_eq!(meta["issuer"], format!("{host}/{{tenantid}}/v2.0").as_str());
}

#[tokio::test]
async fn rotation_publishes_the_new_key_and_retiring_drops_the_old() {
    let entra = FakeEntra::start(&[TENANT]).await;
    let host = entra.authority_host();
    let jwks_uri = format!("{host}/{TENANT}/discovery/v2.0/keys");
    let issuer = format!("{host}/{TENANT}/v2.0");
    let spec = TokenSpec::user(TENANT, API, &["SecOps.Read"]);
    let old_kid = entra.current_kid();
    let old_token = entra.mint(&spec);

    entra.rotate(false);
    let new_kid = entra.current_kid();
    assert_ne!(old_kid, new_kid);
    let new_token = entra.mint(&spec);
    let (_, jwks) = get(&jwks_uri).await;
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, [old_kid.as_str(), new_kid.as_str()]);
    verify(&jwks_uri, &old_token, &issuer, API)
        .await
        .expect("old key still published");
    verify(&jwks_uri, &new_token, &issuer, API)
        .await
        .expect("new key published");

    entra.rotate(true);
    let newest = entra.current_kid();
    let (_, jwks) = get(&jwks_uri).await;
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
    assert_eq!(jwks["keys"][0]["kid"], newest.as_str());
    assert!(verify(&jwks_uri, &new_token, &issuer, API).await.is_err());
    assert_eq!(entra.jwks_fetches(), 5);
    assert_eq!(entra.metadata_fetches(), 0);
}

#[tokio::test]
async fn every_attack_helper_produces_a_token_that_fails_rs256_verification() {
    let entra = FakeEntra::start(&[TENANT]).await;
    let host = entra.authority_host();
    let jwks_uri = format!("{host}/{TENANT}/discovery/v2.0/keys");
    let issuer = format!("{host}/{TENANT}/v2.0");
    let token = entra.mint(&TokenSpec::user(TENANT, API, &["SecOps.Read"]));
    verify(&jwks_uri, &token, &issuer, API)
        .await
        .expect("the original verifies");

    let none = alg_none(&token);
    assert!(none.ends_with('.'));
    let hs = hs256_with_key(&token, &entra.public_key_pem());
    assert_eq!(
        jsonwebtoken::decode_header(&hs).unwrap().alg,
        Algorithm::HS256
    );
    // The forgery is a correct HS256 signature over the public key PEM, i.e. a real attack.
    let mut hs_validation = Validation::new(Algorithm::HS256);
    hs_validation.set_audience(&[API]);
    jsonwebtoken::decode::<Value>(
        &hs,
        &DecodingKey::from_secret(entra.public_key_pem().as_bytes()),
        &hs_validation,
    )
    .expect("HS256 forgery is well-formed");
    let tampered = tamper_payload(&token, "oid", json!("00000000-0000-0000-0000-000000000000"));
    let bad_sig = tamper_signature(&token);
    assert_ne!(bad_sig, token);
    let unknown_kid = entra.mint(&TokenSpec {
        kid_override: Some("unknown-kid".into()),
        ..TokenSpec::user(TENANT, API, &[])
    });
    assert_eq!(
        jsonwebtoken::decode_header(&unknown_kid)
            .unwrap()
            .kid
            .as_deref(),
        Some("unknown-kid")
    );
    let expired = entra.mint(&TokenSpec {
        issued_offset_secs: -7200,
        not_before_offset_secs: -7200,
        expires_in_secs: -3600,
        ..TokenSpec::user(TENANT, API, &[])
    });
    let wrong_issuer = entra.mint(&TokenSpec {
        issuer_override: Some("https://evil.example/v2.0".into()),
        ..TokenSpec::user(TENANT, API, &[])
    });

    for (name, forged) in [
        ("alg none", none),
        ("hs256 with public key", hs),
        ("tampered payload", tampered),
        ("tampered signature", bad_sig),
        ("expired", expired),
        ("wrong issuer", wrong_issuer),
    ] {
        assert!(
            verify(&jwks_uri, &forged, &issuer, API).await.is_err(),
            "{name} must fail RS256 verification"
        );
    }
}

#[tokio::test]
async fn unknown_tenant_gets_entras_invalid_tenant_error() {
    let entra = FakeEntra::start(&[TENANT]).await;
    let host = entra.authority_host();
    for path in [
        "v2.0/.well-known/openid-configuration",
        ".well-known/openid-configuration",
        "discovery/v2.0/keys",
        "discovery/keys",
    ] {
        let (status, body) = get(&format!("{host}/not-a-tenant/{path}")).await;
        assert_eq!(status, 400, "{path}");
        assert_eq!(body["error"], "invalid_tenant");
        assert_eq!(body["error_codes"], json!([90002]));
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .starts_with("AADSTS90002: Tenant 'not-a-tenant' not found.")
        );
        for f in ["timestamp", "trace_id", "correlation_id"] {
            assert!(body[f].is_string(), "{f}");
        }
    }
    assert_eq!(entra.jwks_fetches(), 0);
    assert_eq!(entra.metadata_fetches(), 0);
}

#[test]
fn extra_claims_override_and_empty_lists_are_omitted() {
    let mut spec = TokenSpec::app(TENANT, API, &[]);
    spec.extra.insert("idtyp".into(), json!("app"));
    let claims = spec.claims("http://127.0.0.1:1");
    assert_eq!(claims["idtyp"], "app");
    assert!(!claims.contains_key("roles"));
    assert!(!claims.contains_key("scp"));
    assert!(!claims.contains_key("preferred_username"));
    assert_eq!(
        claims["iss"],
        format!("http://127.0.0.1:1/{TENANT}/v2.0").as_str()
    );
}
