//! Sign-ins: SigninLogs, and the same sign-in in AADSignInEventsBeta and IdentityLogonEvents.

use serde_json::{Value as Json, json};

use crate::org::{DOMAIN, Device, OFFICES, User};
use crate::{Gen, Rng, boolean, dt, dy, int, long, s};
use kql::value::Value;

pub(crate) const APPS: [(&str, &str); 8] = [
    (
        "Office 365 Exchange Online",
        "00000002-0000-0ff1-ce00-000000000000",
    ),
    ("Microsoft Teams", "1fec8e78-bce4-4aaf-ab1b-5451cc387264"),
    (
        "Office 365 SharePoint Online",
        "00000003-0000-0ff1-ce00-000000000000",
    ),
    ("Microsoft Office", "d3590ed6-52b3-4102-aeff-aad2292ab01c"),
    ("OfficeHome", "4765445b-32c6-49b0-83e6-1d93765276ca"),
    (
        "OneDrive SyncEngine",
        "ab9b8c07-8f02-4f72-87fa-80105867a763",
    ),
    ("Azure Portal", "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"),
    ("My Signins", "19db86c3-b2b9-44cc-b339-36da233a3be2"),
];

pub(crate) const ORG_USER_AGENT: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0";

/// Where a sign-in came from.
#[derive(Clone, Copy)]
pub(crate) struct Place<'a> {
    pub ip: &'a str,
    pub city: &'a str,
    pub state: &'a str,
    pub country: &'a str,
    pub lat: f64,
    pub lon: f64,
    pub asn: i32,
}

/// A user's office as a sign-in place.
pub(crate) fn office_place(u: &User) -> Place<'static> {
    let o = &OFFICES[u.office];
    Place {
        ip: o.egress_ip,
        city: o.city,
        state: o.state,
        country: o.country,
        lat: o.lat,
        lon: o.lon,
        asn: 64_496,
    }
}

/// Who signed in: a member of the organisation or a guest.
#[derive(Clone, Copy)]
pub(crate) struct Signer<'a> {
    pub display_name: &'a str,
    pub upn: &'a str,
    pub object_id: &'a str,
    pub guest: bool,
}

impl<'a> From<&'a User> for Signer<'a> {
    fn from(u: &'a User) -> Signer<'a> {
        Signer {
            display_name: &u.display_name,
            upn: &u.upn,
            object_id: &u.object_id,
            guest: false,
        }
    }
}

/// One sign-in.
pub(crate) struct SignIn<'a> {
    pub time: i64,
    pub user: Signer<'a>,
    pub place: Place<'a>,
    pub app: (&'a str, &'a str),
    pub result: &'a str,
    pub client_app: &'a str,
    pub user_agent: &'a str,
    pub risk: &'a str,
    /// The second factor (`Mobile app notification`, `Previously satisfied`, …); empty for a
    /// single-factor sign-in.
    pub mfa: &'a str,
    pub device: Option<&'a Device>,
    /// `(home, resource)` tenant ids: a guest's home tenant, or a partner tenant a member signs
    /// in to.
    pub tenants: (&'a str, &'a str),
    /// `none`, `deviceCode`, `ropc`, …
    pub protocol: &'a str,
    /// A token refresh rather than a sign-in the user typed (AADNonInteractiveUserSignInLogs).
    pub interactive: bool,
}

pub(crate) fn result_description(code: &str) -> &'static str {
    match code {
        "0" => "",
        "50126" => "Error validating credentials due to invalid username or password.",
        "50053" => {
            "Account is locked because user tried to sign in too many times with an incorrect user ID or password."
        }
        "50074" => "Strong Authentication is required.",
        "50140" => {
            "This error occurred due to 'Keep me signed in' interrupt when the user was signing in."
        }
        "500121" => "Authentication failed during strong authentication request.",
        "50158" => "External security challenge was not satisfied.",
        "53003" => "Access has been blocked by Conditional Access policies.",
        "50076" => {
            "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access the resource."
        }
        _ => "Other",
    }
}

/// The Conditional Access policies a sign-in is evaluated against, as SigninLogs records them.
fn conditional_access(result: &str, mfa: bool) -> Json {
    let blocked = result == "53003";
    json!([
        {"id": "2a8e1b3c-0000-4b6e-9a1d-5e0c3f7d9b01", "displayName": "Require MFA for all users",
         "enforcedGrantControls": ["Mfa"], "enforcedSessionControls": [],
         "result": if result == "0" && mfa { "success" } else if result == "0" { "notApplied" } else { "failure" }},
        {"id": "7c4d2e1f-0000-4a9b-8c3e-1f2a3b4c5d02", "displayName": "Block legacy authentication",
         "enforcedGrantControls": ["Block"], "enforcedSessionControls": [],
         "result": if blocked { "failure" } else { "notApplied" }},
        {"id": "9e1f3a5b-0000-4c7d-8e2f-3a4b5c6d7e03", "displayName": "Require compliant device for admins (report-only)",
         "enforcedGrantControls": ["RequireCompliantDevice"], "enforcedSessionControls": [],
         "result": "reportOnlyNotApplied"},
    ])
}

pub(crate) fn signin(g: &mut Gen, rng: &mut Rng, si: SignIn<'_>) {
    let ok = si.result == "0";
    let correlation = rng.guid_string();
    let id = rng.guid_string();
    let session = rng.guid_string();
    let token = rng.hex(22);
    let risky = si.risk != "none";
    let os = if si.user_agent.contains("Linux") {
        "Linux"
    } else {
        "Windows10"
    };
    let browser = if si.user_agent.contains("Chrome/118") {
        "Chrome 118.0.0"
    } else {
        "Edge 130.0.0"
    };
    let device = match si.device {
        Some(d) => {
            json!({"deviceId": d.aad_device_id, "displayName": d.short, "operatingSystem": os,
                          "browser": browser, "isCompliant": true, "isManaged": true,
                          "trustType": "Hybrid Azure AD joined"})
        }
        None => json!({"deviceId": "", "operatingSystem": os, "browser": browser}),
    };
    let location = json!({"city": si.place.city, "state": si.place.state, "countryOrRegion": si.place.country,
                          "geoCoordinates": {"latitude": si.place.lat, "longitude": si.place.lon}});
    let status = if ok {
        json!({"errorCode": 0})
    } else {
        json!({"errorCode": si.result.parse::<i64>().unwrap_or(0), "failureReason": result_description(si.result)})
    };
    let mfa = !si.mfa.is_empty();
    let mfa_detail = if mfa && ok {
        json!({"authMethod": si.mfa, "authDetail": null})
    } else {
        json!({})
    };
    let mut steps = vec![
        json!({"authenticationStepDateTime": crate::iso(si.time), "authenticationMethod": "Password",
               "authenticationMethodDetail": "Password in the cloud", "succeeded": ok || matches!(si.result, "50074" | "500121"),
               "authenticationStepResultDetail": if ok || si.result == "500121" { "Correct password" } else { result_description(si.result) },
               "authenticationStepRequirement": "Primary authentication"}),
    ];
    if mfa && matches!(si.result, "0" | "500121") {
        steps.push(json!({"authenticationStepDateTime": crate::iso(si.time), "authenticationMethod": si.mfa,
                          "succeeded": ok,
                          "authenticationStepResultDetail": if ok { "MFA successfully completed" } else { "MFA denied; user declined the authentication" },
                          "authenticationStepRequirement": "Multi-factor authentication"}));
    }
    let auth_details = json!(steps);
    let network = if si.place.asn == 64_496 {
        json!([{"networkType": "namedNetwork", "networkNames": ["Contoso offices"]}])
    } else {
        json!([])
    };
    let requirement = if mfa {
        "multiFactorAuthentication"
    } else {
        "singleFactorAuthentication"
    };
    let ca_status = if si.result == "53003" {
        "failure"
    } else if si.device.is_some() || mfa {
        "success"
    } else {
        "notApplied"
    };
    let table = if si.interactive {
        "SigninLogs"
    } else {
        "AADNonInteractiveUserSignInLogs"
    };
    if g.wants(table) {
        // The non-interactive table stores the structured columns as JSON text.
        let structured = |v: Json| {
            if si.interactive {
                dy(v)
            } else {
                s(v.to_string())
            }
        };
        let fields = [
            ("SourceSystem", s("Azure AD")),
            ("TimeGenerated", dt(si.time)),
            ("OperationName", s("Sign-in activity")),
            ("OperationVersion", s("1.0")),
            (
                "Category",
                s(if si.interactive {
                    "SignInLogs"
                } else {
                    "NonInteractiveUserSignInLogs"
                }),
            ),
            ("ResultType", s(si.result)),
            ("ResultSignature", s(if ok { "SUCCESS" } else { "NONE" })),
            ("ResultDescription", s(result_description(si.result))),
            ("DurationMs", long(0)),
            ("CorrelationId", s(&correlation)),
            ("Identity", s(si.user.display_name)),
            ("Level", s(if ok { "4" } else { "3" })),
            ("Location", s(si.place.country)),
            ("AppDisplayName", s(si.app.0)),
            ("AppId", s(si.app.1)),
            ("AuthenticationRequirement", s(requirement)),
            ("ClientAppUsed", s(si.client_app)),
            ("ConditionalAccessStatus", s(ca_status)),
            (
                "ConditionalAccessPolicies",
                structured(conditional_access(si.result, mfa)),
            ),
            ("AuthenticationDetails", s(auth_details.to_string())),
            (
                "AuthenticationMethodsUsed",
                s(if mfa {
                    format!("Password, {}", si.mfa)
                } else {
                    "Password".to_string()
                }),
            ),
            ("AuthenticationProtocol", s(si.protocol)),
            ("CreatedDateTime", dt(si.time)),
            ("DeviceDetail", structured(device)),
            ("IsInteractive", boolean(si.interactive)),
            ("Id", s(&id)),
            ("IPAddress", s(si.place.ip)),
            ("IsRisky", boolean(risky)),
            ("LocationDetails", structured(location)),
            ("MfaDetail", structured(mfa_detail)),
            ("NetworkLocationDetails", s(network.to_string())),
            ("RiskDetail", s("none")),
            (
                "RiskEventTypes_V2",
                s(if risky {
                    "[\"unfamiliarFeatures\"]"
                } else {
                    "[]"
                }),
            ),
            ("RiskLevelAggregated", s(si.risk)),
            ("RiskLevelDuringSignIn", s(si.risk)),
            ("RiskState", s(if risky { "atRisk" } else { "none" })),
            ("ResourceDisplayName", s(si.app.0)),
            ("ResourceIdentity", s(si.app.1)),
            ("ResourceTenantId", s(si.tenants.1)),
            ("HomeTenantId", s(si.tenants.0)),
            ("AADTenantId", s(crate::org::TENANT_ID)),
            ("Status", structured(status)),
            ("UserAgent", s(si.user_agent)),
            ("UserDisplayName", s(si.user.display_name)),
            ("UserId", s(si.user.object_id)),
            ("UserPrincipalName", s(si.user.upn)),
            (
                "UserType",
                s(if si.user.guest { "Guest" } else { "Member" }),
            ),
            ("AutonomousSystemNumber", s(si.place.asn.to_string())),
            ("TokenIssuerType", s("AzureAD")),
            ("TokenIssuerName", s("")),
            ("UniqueTokenIdentifier", s(&token)),
            (
                "CrossTenantAccessType",
                s(if si.tenants.0 == si.tenants.1 {
                    "none"
                } else {
                    "b2bCollaboration"
                }),
            ),
            ("SignInIdentifierType", s("userPrincipalName")),
            (
                "SignInEventTypes",
                s(if si.interactive {
                    "[\"interactiveUser\"]"
                } else {
                    "[\"nonInteractiveUser\"]"
                }),
            ),
        ];
        g.push_known(table, fields);
    }
    if g.wants("AADSignInEventsBeta") {
        let risk_level = match si.risk {
            "low" => 10,
            "medium" => 50,
            "high" => 100,
            _ => 1,
        };
        g.push(
            "AADSignInEventsBeta",
            [
                ("Timestamp", dt(si.time)),
                ("Application", s(si.app.0)),
                ("ApplicationId", s(si.app.1)),
                (
                    "LogonType",
                    s(if si.interactive {
                        "[\"interactiveUser\"]"
                    } else {
                        "[\"nonInteractiveUser\"]"
                    }),
                ),
                ("ErrorCode", int(si.result.parse().unwrap_or(0))),
                ("CorrelationId", s(&correlation)),
                ("SessionId", s(&session)),
                ("AccountDisplayName", s(si.user.display_name)),
                ("AccountObjectId", s(si.user.object_id)),
                ("AccountUpn", s(si.user.upn)),
                ("IsExternalUser", int(i32::from(si.user.guest))),
                ("IsGuestUser", boolean(si.user.guest)),
                (
                    "LastPasswordChangeTimestamp",
                    if si.user.guest {
                        Value::Null
                    } else {
                        dt(si.time
                            - (60 + i64::from(si.user.object_id.bytes().next().unwrap_or(0) % 30))
                                * crate::DAY)
                    },
                ),
                ("ResourceDisplayName", s(si.app.0)),
                ("ResourceId", s(si.app.1)),
                ("ResourceTenantId", s(si.tenants.1)),
                ("DeviceName", s(si.device.map_or("", |d| d.fqdn.as_str()))),
                (
                    "AadDeviceId",
                    s(si.device.map_or("", |d| d.aad_device_id.as_str())),
                ),
                (
                    "EntraIdDeviceId",
                    s(si.device.map_or("", |d| d.aad_device_id.as_str())),
                ),
                (
                    "OSPlatform",
                    s(if os == "Linux" { "Linux" } else { "Windows 10" }),
                ),
                (
                    "DeviceTrustType",
                    s(if si.device.is_some() { "ServerAd" } else { "" }),
                ),
                ("IsManaged", int(i32::from(si.device.is_some()))),
                ("IsCompliant", int(i32::from(si.device.is_some()))),
                ("AuthenticationRequirement", s(requirement)),
                ("TokenIssuerType", int(0)),
                ("RiskLevelAggregated", int(risk_level)),
                ("RiskState", int(if risky { 4 } else { 0 })),
                ("UserAgent", s(si.user_agent)),
                ("ClientAppUsed", s(si.client_app)),
                ("Browser", s(browser)),
                (
                    "ConditionalAccessPolicies",
                    s(conditional_access(si.result, mfa).to_string()),
                ),
                (
                    "ConditionalAccessStatus",
                    int(match ca_status {
                        "success" => 0,
                        "failure" => 1,
                        _ => 2,
                    }),
                ),
                ("IPAddress", s(si.place.ip)),
                ("Country", s(si.place.country)),
                ("State", s(si.place.state)),
                ("City", s(si.place.city)),
                ("Latitude", s(si.place.lat.to_string())),
                ("Longitude", s(si.place.lon.to_string())),
                ("NetworkLocationDetails", s(network.to_string())),
                ("RequestId", s(&id)),
                ("ReportId", s(&id)),
                ("EndpointCall", s("Sign-in")),
            ],
        );
    }
    // Defender for Cloud Apps records interactive sign-ins to Microsoft 365 apps.
    if si.interactive && g.wants("IdentityLogonEvents") {
        let report = format!("{}-{}", id, si.time);
        g.push(
            "IdentityLogonEvents",
            [
                ("Timestamp", dt(si.time)),
                (
                    "ActionType",
                    s(if ok { "LogonSuccess" } else { "LogonFailed" }),
                ),
                ("Application", s("Microsoft 365")),
                ("LogonType", s("Login:login")),
                ("Protocol", s("")),
                (
                    "FailureReason",
                    s(if ok {
                        ""
                    } else if si.result == "50053" {
                        "AccountLocked"
                    } else {
                        "InvalidUserNameOrPassword"
                    }),
                ),
                (
                    "AccountName",
                    s(si.user.upn.split('@').next().unwrap_or_default()),
                ),
                ("AccountDomain", s(DOMAIN)),
                ("AccountUpn", s(si.user.upn)),
                ("AccountObjectId", s(si.user.object_id)),
                ("AccountDisplayName", s(si.user.display_name)),
                ("DeviceName", s(si.device.map_or("", |d| d.fqdn.as_str()))),
                (
                    "DeviceType",
                    s(if si.device.is_some() { "Desktop" } else { "" }),
                ),
                (
                    "OSPlatform",
                    s(if os == "Linux" { "Linux" } else { "Windows" }),
                ),
                ("IPAddress", s(si.place.ip)),
                ("Location", s(si.place.country)),
                (
                    "Isp",
                    s(if si.place.asn == 64_496 {
                        "Contoso Networks"
                    } else {
                        "Example Hosting B.V."
                    }),
                ),
                ("ReportId", s(report)),
                (
                    "AdditionalFields",
                    dy(json!({"ACTOR.ACCOUNT": si.user.upn, "Pass-through": false,
                              "Application": si.app.0, "UserAgent": si.user_agent})),
                ),
            ],
        );
    }
}
