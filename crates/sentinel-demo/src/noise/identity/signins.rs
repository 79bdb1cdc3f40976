//! Sign-ins: members', guests' and partner-tenant sign-ins, device-code sign-ins, blocked
//! legacy-protocol attempts, and service principals and managed identities signing in.

use serde_json::json;

use crate::noise::office_time;
use crate::org::{Org, TENANT_ID};
use crate::rows::{self, Place, SignIn, Signer};
use crate::{Gen, Rng, SPAN, boolean, dt, int, long, s};

/// A partner tenant contoso.com's people sign in to as guests.
const PARTNER_TENANT: &str = "0b0d6d0c-0000-4c4b-8a6f-2f1e3d4c5b6a";

/// Interactive and non-interactive sign-ins of members and guests, members' sign-ins to a partner
/// tenant, device-code sign-ins of the admins' tools, and legacy-protocol attempts from the
/// internet that Conditional Access blocks.
pub(crate) fn signins(g: &mut Gen, org: &Org, rng: &mut Rng, n: usize) {
    for _ in 0..n {
        let roll = rng.below(1000);
        let u = rng.pick(&org.users);
        let time = office_time(g, rng, u.office);
        if roll < 12 {
            // Legacy authentication from the internet, refused by Conditional Access.
            let (client, app) = *rng.pick(&[
                ("Exchange ActiveSync", rows::APPS[0]),
                ("IMAP4", rows::APPS[0]),
                ("Authenticated SMTP", rows::APPS[0]),
                ("Exchange Web Services", rows::APPS[0]),
            ]);
            let ip = format!("192.0.2.{}", 150 + rng.below(100));
            let when = crate::noise::any_time(g, rng);
            let result = if rng.chance(0.5) { "53003" } else { "50126" };
            rows::signin(
                g,
                rng,
                SignIn {
                    time: when,
                    user: u.into(),
                    place: Place {
                        ip: &ip,
                        city: "Frankfurt am Main",
                        state: "Hesse",
                        country: "DE",
                        lat: 50.1109,
                        lon: 8.6821,
                        asn: 64_511,
                    },
                    app,
                    result,
                    client_app: client,
                    user_agent: "",
                    risk: "none",
                    mfa: "",
                    device: None,
                    tenants: (TENANT_ID, TENANT_ID),
                    protocol: "ropc",
                    interactive: true,
                },
            );
            continue;
        }
        let guest = (12..60).contains(&roll);
        let outbound = (60..80).contains(&roll) && !guest;
        let device_code = (80..86).contains(&roll) && !guest;
        let interactive = device_code || outbound || rng.chance(0.35);
        let result = match rng.below(1000) {
            0..930 => "0",
            930..940 => "50126",
            940..955 => "50074",
            955..968 => "50140",
            968..976 => "500121",
            976..982 => "50076",
            982..986 => "50158",
            _ => "53003",
        };
        let result = if interactive { result } else { "0" };
        let on_device = u.device.is_some() && rng.chance(0.7) && !guest;
        let mfa = if on_device && !rng.chance(0.3) && result != "500121" {
            ""
        } else {
            *rng.pick(&[
                "Mobile app notification",
                "Mobile app notification",
                "Previously satisfied",
                "Text message",
                "OATH verification code",
            ])
        };
        let app = if device_code {
            (
                "Microsoft Azure CLI",
                "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
            )
        } else if guest {
            rows::APPS[1]
        } else if rng.chance(0.02) && !u.admin {
            rows::APPS[7]
        } else {
            *rng.pick(&rows::APPS[..7])
        };
        let (signer, place, tenants) = if guest {
            let gu = rng.pick(&org.guests);
            (
                Signer {
                    display_name: &gu.display_name,
                    upn: &gu.upn,
                    object_id: &gu.object_id,
                    guest: true,
                },
                Place {
                    ip: "192.0.2.80",
                    city: "Chicago",
                    state: "Illinois",
                    country: "US",
                    lat: 41.8781,
                    lon: -87.6298,
                    asn: 64_510,
                },
                (gu.home_tenant.as_str(), TENANT_ID),
            )
        } else if outbound {
            (u.into(), rows::office_place(u), (TENANT_ID, PARTNER_TENANT))
        } else {
            (u.into(), rows::office_place(u), (TENANT_ID, TENANT_ID))
        };
        let user = if device_code {
            &org.users[rng.below(2)]
        } else {
            u
        };
        rows::signin(
            g,
            rng,
            SignIn {
                time,
                user: if device_code { user.into() } else { signer },
                place,
                app,
                result,
                client_app: if on_device {
                    "Mobile Apps and Desktop clients"
                } else {
                    "Browser"
                },
                user_agent: rows::ORG_USER_AGENT,
                risk: "none",
                mfa,
                device: if on_device {
                    u.device.map(|d| &org.devices[d])
                } else {
                    None
                },
                tenants,
                protocol: if device_code { "deviceCode" } else { "none" },
                interactive,
            },
        );
    }
}

/// Apps and managed identities signing in as themselves.
pub(crate) fn service_signins(g: &mut Gen, org: &Org, rng: &mut Rng, n: usize) {
    for _ in 0..n {
        let sp = rng.pick(&org.service_principals);
        let time = rng.range(g.now - SPAN, g.now);
        let result = if rng.chance(0.96) {
            "0"
        } else {
            *rng.pick(&["7000215", "700027", "7000222", "70021"])
        };
        let id = rng.guid_string();
        let correlation = rng.guid_string();
        let table = if sp.managed {
            "AADManagedIdentitySignInLogs"
        } else {
            "AADServicePrincipalSignInLogs"
        };
        let resource_id = rng.guid_string();
        g.push(
            table,
            [
                ("TimeGenerated", dt(time)),
                ("SourceSystem", s("Azure AD")),
                ("OperationName", s("Sign-in activity")),
                ("OperationVersion", s("1.0")),
                (
                    "Category",
                    s(if sp.managed {
                        "ManagedIdentitySignInLogs"
                    } else {
                        "ServicePrincipalSignInLogs"
                    }),
                ),
                ("AppId", s(&sp.app_id)),
                ("ServicePrincipalId", s(&sp.object_id)),
                ("ServicePrincipalName", s(sp.name)),
                ("ResultType", s(result)),
                (
                    "ResultSignature",
                    s(if result == "0" { "SUCCESS" } else { "NONE" }),
                ),
                ("ResultDescription", s("")),
                ("CorrelationId", s(&correlation)),
                ("Id", s(&id)),
                ("Identity", s(sp.name)),
                ("IPAddress", s(sp.ip)),
                ("Level", s("4")),
                ("Location", s("US")),
                (
                    "LocationDetails",
                    s(
                        json!({"city": "Boydton", "state": "Virginia", "countryOrRegion": "US"})
                            .to_string(),
                    ),
                ),
                ("ResourceDisplayName", s(sp.resource)),
                ("ResourceIdentity", s(&resource_id)),
                ("ResourceServicePrincipalId", s(&resource_id)),
                ("ConditionalAccessStatus", s("notApplied")),
                ("ConditionalAccessPolicies", s("[]")),
                ("DurationMs", long(0)),
                ("UniqueTokenIdentifier", s(rng.hex(22))),
                (
                    "ServicePrincipalCredentialKeyId",
                    s(if sp.managed {
                        String::new()
                    } else {
                        rng.guid_string()
                    }),
                ),
            ],
        );
        g.push(
            "AADSpnSignInEventsBeta",
            [
                ("Timestamp", dt(time)),
                ("Application", s(sp.name)),
                ("ApplicationId", s(&sp.app_id)),
                ("IsManagedIdentity", boolean(sp.managed)),
                ("ErrorCode", int(result.parse().unwrap_or(0))),
                ("CorrelationId", s(&correlation)),
                ("ServicePrincipalName", s(sp.name)),
                ("ServicePrincipalId", s(&sp.object_id)),
                ("ResourceDisplayName", s(sp.resource)),
                ("ResourceId", s(&resource_id)),
                ("ResourceTenantId", s(TENANT_ID)),
                ("IPAddress", s(sp.ip)),
                ("Country", s("US")),
                ("State", s("Virginia")),
                ("City", s("Boydton")),
                ("Latitude", s("36.6676")),
                ("Longitude", s("-78.3875")),
                ("RequestId", s(&id)),
                ("ReportId", s(&id)),
            ],
        );
    }
}
