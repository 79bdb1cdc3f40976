//! Access-token claims as Entra issues them, in the v1.0 and v2.0 shapes.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

/// Object id of the user in [`TokenSpec::user`].
pub const DEFAULT_USER_OID: &str = "6f2b1c5e-3d4a-4b8e-9f10-2a7c8d9e0b11";
/// Pairwise subject of the user in [`TokenSpec::user`] (v2 `sub` is opaque, per app).
pub const DEFAULT_USER_SUB: &str = "kX3mQ9vR2tL8pN1wZ7yB4cD6fG0hJ5sA_aE-uI2oK9M";
/// UPN of the user in [`TokenSpec::user`].
pub const DEFAULT_USER_UPN: &str = "analyst@contoso.onmicrosoft.com";
/// Display name of the user in [`TokenSpec::user`].
pub const DEFAULT_USER_NAME: &str = "Test Analyst";
/// Client app (public client, e.g. an MCP client) that requested [`TokenSpec::user`] tokens.
pub const DEFAULT_USER_CLIENT_APP_ID: &str = "0c3a8f21-5b7d-4e92-a1c6-3f8e9d2b7a40";
/// Service principal object id (`oid` and `sub`) of the daemon in [`TokenSpec::app`].
pub const DEFAULT_APP_OID: &str = "9a4e7b2c-1f3d-4c6a-8b5e-7d0f2a1c3e94";
/// Client app id of the daemon in [`TokenSpec::app`].
pub const DEFAULT_APP_CLIENT_ID: &str = "2d8f4a6b-9c1e-4f3a-b7d5-6e0c8a2f4b19";

/// Which access-token format Entra emits (the resource app's `accessTokenAcceptedVersion`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenVersion {
    /// `ver: "1.0"`, issuer `https://sts.windows.net/{tid}/`, `appid`, `upn`.
    V1,
    /// `ver: "2.0"`, issuer `{authority}/{tid}/v2.0`, `azp`, `preferred_username`.
    V2,
}

/// What to put in a token minted by [`super::FakeEntra::mint`].
#[derive(Clone, Debug)]
pub struct TokenSpec {
    /// Token shape.
    pub version: TokenVersion,
    /// Tenant id → `tid` and the issuer.
    pub tenant: String,
    /// `aud`: v2 usually the app id GUID; v1 usually `api://<app id>`.
    pub audience: String,
    /// `oid`: the principal's object id.
    pub oid: String,
    /// `sub`.
    pub sub: String,
    /// Client app id → `appid` (v1) or `azp` (v2).
    pub app_id: String,
    /// v1 `upn` + `unique_name` / v2 `preferred_username`; `None` for app-only tokens.
    pub upn: Option<String>,
    /// App roles → `roles` (omitted when empty).
    pub roles: Vec<String>,
    /// Delegated scopes → `scp`, space-separated (omitted when empty).
    pub scopes: Vec<String>,
    /// `iat` = now + this.
    pub issued_offset_secs: i64,
    /// `nbf` = now + this.
    pub not_before_offset_secs: i64,
    /// `exp` = now + this (negative → already expired).
    pub expires_in_secs: i64,
    /// Replaces the issuer the version implies.
    pub issuer_override: Option<String>,
    /// Puts this kid in the header instead of the signing key's (unknown-kid attack).
    pub kid_override: Option<String>,
    /// More claims, set last (they override the computed ones).
    pub extra: Map<String, Value>,
}

impl TokenSpec {
    /// A valid user token (delegated `scp`) for `tenant` and `audience`, v2 shape, 1 h lifetime,
    /// [`DEFAULT_USER_OID`] / [`DEFAULT_USER_UPN`].
    pub fn user(tenant: &str, audience: &str, scopes: &[&str]) -> TokenSpec {
        TokenSpec {
            version: TokenVersion::V2,
            tenant: tenant.to_string(),
            audience: audience.to_string(),
            oid: DEFAULT_USER_OID.to_string(),
            sub: DEFAULT_USER_SUB.to_string(),
            app_id: DEFAULT_USER_CLIENT_APP_ID.to_string(),
            upn: Some(DEFAULT_USER_UPN.to_string()),
            roles: Vec::new(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            issued_offset_secs: 0,
            not_before_offset_secs: 0,
            expires_in_secs: 3600,
            issuer_override: None,
            kid_override: None,
            extra: Map::new(),
        }
    }

    /// A valid app-only token (`roles`, no `scp`, no upn); `oid` = `sub` = [`DEFAULT_APP_OID`].
    pub fn app(tenant: &str, audience: &str, roles: &[&str]) -> TokenSpec {
        TokenSpec {
            oid: DEFAULT_APP_OID.to_string(),
            sub: DEFAULT_APP_OID.to_string(),
            app_id: DEFAULT_APP_CLIENT_ID.to_string(),
            upn: None,
            roles: roles.iter().map(|s| s.to_string()).collect(),
            scopes: Vec::new(),
            ..TokenSpec::user(tenant, audience, &[])
        }
    }

    /// Same claims, v1 shape. The audience is kept as given: set `api://<app id>` yourself if
    /// that is what the test is about.
    pub fn v1(self) -> TokenSpec {
        TokenSpec {
            version: TokenVersion::V1,
            ..self
        }
    }

    /// Whether this is a user (delegated) token; app-only tokens have no upn and no scopes.
    fn is_user(&self) -> bool {
        self.upn.is_some() || !self.scopes.is_empty()
    }

    /// The issuer this spec's token carries.
    pub(crate) fn issuer(&self, authority_host: &str) -> String {
        if let Some(iss) = &self.issuer_override {
            return iss.clone();
        }
        match self.version {
            TokenVersion::V1 => v1_issuer(&self.tenant),
            TokenVersion::V2 => v2_issuer(authority_host, &self.tenant),
        }
    }

    /// The payload, with the claims Entra puts in this shape of token.
    pub(crate) fn claims(&self, authority_host: &str) -> Map<String, Value> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let mut c = Map::new();
        let mut set = |k: &str, v: Value| {
            c.insert(k.to_string(), v);
        };
        set("aud", json!(self.audience));
        set("iss", json!(self.issuer(authority_host)));
        set("iat", json!(now + self.issued_offset_secs));
        set("nbf", json!(now + self.not_before_offset_secs));
        set("exp", json!(now + self.expires_in_secs));
        let user = self.is_user();
        match self.version {
            TokenVersion::V1 => {
                if user {
                    set("acr", json!("1"));
                    set("amr", json!(["pwd"]));
                } else {
                    set("idp", json!(v1_issuer(&self.tenant)));
                }
                set("appid", json!(self.app_id));
                set("appidacr", json!(if user { "0" } else { "1" }));
                if let Some(upn) = &self.upn {
                    set("name", json!(DEFAULT_USER_NAME));
                    set("unique_name", json!(upn));
                    set("upn", json!(upn));
                }
            }
            TokenVersion::V2 => {
                set("azp", json!(self.app_id));
                set("azpacr", json!(if user { "0" } else { "1" }));
                if let Some(upn) = &self.upn {
                    set("name", json!(DEFAULT_USER_NAME));
                    set("preferred_username", json!(upn));
                }
            }
        }
        set("oid", json!(self.oid));
        set("rh", json!(format!("0.A{}AA.", opaque_id())));
        if !self.roles.is_empty() {
            set("roles", json!(self.roles));
        }
        if !self.scopes.is_empty() {
            set("scp", json!(self.scopes.join(" ")));
        }
        set("sub", json!(self.sub));
        set("tid", json!(self.tenant));
        set("uti", json!(opaque_id()));
        set(
            "ver",
            json!(match self.version {
                TokenVersion::V1 => "1.0",
                TokenVersion::V2 => "2.0",
            }),
        );
        for (k, v) in &self.extra {
            c.insert(k.clone(), v.clone());
        }
        c
    }
}

/// `https://sts.windows.net/{tid}/`: the v1 issuer, whatever the authority host.
pub(crate) fn v1_issuer(tenant: &str) -> String {
    format!("https://sts.windows.net/{tenant}/")
}

/// `{authority_host}/{tid}/v2.0`.
pub(crate) fn v2_issuer(authority_host: &str, tenant: &str) -> String {
    format!("{authority_host}/{tenant}/v2.0")
}

/// 22 base64url characters, the shape of Entra's `uti`.
pub(crate) fn opaque_id() -> String {
    URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes())
}
