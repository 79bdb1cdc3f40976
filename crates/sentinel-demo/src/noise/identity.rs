//! Entra ID and Active Directory: sign-ins, service principal sign-ins, directory changes, risk,
//! UEBA, the identity inventory and what Defender for Identity sees at the domain controllers.

use serde_json::json;

use super::super::org::{DOMAIN, Org, TENANT_ID};
use super::super::rows::{self, Audit, Place, SignIn, Signer};
use super::super::{DAY, Gen, HOUR, MINUTE, Rng, SPAN, boolean, dt, dy, int, long, s};
use super::{egress, office_time};

/// A partner tenant contoso.com's people sign in to as guests.
const PARTNER_TENANT: &str = "0b0d6d0c-0000-4c4b-8a6f-2f1e3d4c5b6a";

/// Interactive and non-interactive sign-ins of members and guests, members' sign-ins to a partner
/// tenant, device-code sign-ins of the admins' tools, and legacy-protocol attempts from the
/// internet that Conditional Access blocks.
pub(super) fn signins(g: &mut Gen, org: &Org, rng: &mut Rng, n: usize) {
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
            let when = super::any_time(g, rng);
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
pub(super) fn service_signins(g: &mut Gen, org: &Org, rng: &mut Rng, n: usize) {
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

/// Directory changes: `(operation, category, service, self-service)`.
const AUDIT_OPS: [(&str, &str, &str, bool); 31] = [
    ("Update user", "UserManagement", "Core Directory", false),
    (
        "Add member to group",
        "GroupManagement",
        "Core Directory",
        false,
    ),
    (
        "Remove member from group",
        "GroupManagement",
        "Core Directory",
        false,
    ),
    (
        "Reset password (self-service)",
        "UserManagement",
        "Self-service Password Management",
        true,
    ),
    (
        "Change user license",
        "UserManagement",
        "Core Directory",
        false,
    ),
    (
        "Add app role assignment to service principal",
        "ApplicationManagement",
        "Core Directory",
        false,
    ),
    (
        "Add delegated permission grant",
        "ApplicationManagement",
        "Core Directory",
        false,
    ),
    (
        "Consent to application",
        "ApplicationManagement",
        "Core Directory",
        true,
    ),
    (
        "Update application – Certificates and secrets management ",
        "ApplicationManagement",
        "Core Directory",
        false,
    ),
    (
        "Add service principal",
        "ApplicationManagement",
        "Core Directory",
        false,
    ),
    ("Update device", "Device", "Core Directory", false),
    (
        "User registered security info",
        "UserManagement",
        "Authentication Methods",
        true,
    ),
    (
        "Add member to role completed (PIM activation)",
        "RoleManagement",
        "PIM",
        true,
    ),
    (
        "Add member to role",
        "RoleManagement",
        "Core Directory",
        false,
    ),
    (
        "Remove member from role",
        "RoleManagement",
        "Core Directory",
        false,
    ),
    (
        "Invite external user",
        "UserManagement",
        "Invited Users",
        false,
    ),
    (
        "Redeem external user invite",
        "UserManagement",
        "Invited Users",
        true,
    ),
    (
        "Update conditional access policy",
        "Policy",
        "Conditional Access",
        false,
    ),
    (
        "Update named location",
        "Policy",
        "Conditional Access",
        false,
    ),
    (
        "Unlock user account (self-service)",
        "UserManagement",
        "Self-service Password Management",
        true,
    ),
    (
        "Add member to role in PIM completed (timebound)",
        "RoleManagement",
        "PIM",
        false,
    ),
    (
        "Add eligible member to role in PIM completed (permanent)",
        "RoleManagement",
        "PIM",
        false,
    ),
    ("Add group", "GroupManagement", "Core Directory", false),
    (
        "Update service principal",
        "ApplicationManagement",
        "Core Directory",
        false,
    ),
    ("Update policy", "Policy", "Core Directory", false),
    (
        "Admin updated security info",
        "UserManagement",
        "Authentication Methods",
        false,
    ),
    (
        "Add conditional access policy",
        "Policy",
        "Conditional Access",
        false,
    ),
    (
        "Delete conditional access policy",
        "Policy",
        "Conditional Access",
        false,
    ),
    (
        "Read BitLocker key",
        "KeyManagement",
        "Core Directory",
        false,
    ),
    (
        "Add member to group",
        "GroupManagement",
        "Microsoft Approval Management",
        false,
    ),
    (
        "Reset password (by admin)",
        "UserManagement",
        "Core Directory",
        false,
    ),
];

pub(super) fn directory(g: &mut Gen, org: &Org, rng: &mut Rng, n: usize) {
    for _ in 0..n {
        let &(op, category, service, self_service) = rng.pick(&AUDIT_OPS);
        let target = rng.pick(&org.users);
        let actor = if self_service {
            target
        } else {
            &org.users[rng.below(3)]
        };
        let time = office_time(g, rng, actor.office);
        let app_actor = if service == "Microsoft Approval Management" {
            Some("Microsoft Approval Management")
        } else if rng.chance(0.12) && !self_service {
            Some("Microsoft Azure AD Cloud Sync")
        } else {
            None
        };
        let service = if app_actor == Some("Microsoft Approval Management") {
            "Core Directory"
        } else {
            service
        };
        let initiated = match app_actor {
            Some(app) => json!({"app": {"appId": null, "displayName": app,
                                        "servicePrincipalId": "a3e7b4c2-0000-4f6a-b0a1-2f7d9e5c1b00", "servicePrincipalName": null}}),
            None => {
                json!({"user": {"id": actor.object_id, "displayName": null, "userPrincipalName": actor.upn,
                                    "ipAddress": egress(actor)}})
            }
        };
        let targets = match category {
            "ApplicationManagement" => {
                let sp = rng.pick(&org.service_principals);
                json!([{"id": sp.object_id, "displayName": sp.name, "type": "ServicePrincipal",
                        "modifiedProperties": [{"displayName": "AppRole.Value", "oldValue": null,
                                                "newValue": "\"User.Read.All\""}]},
                       {"id": "4f2b4d6c-0000-4a8b-9c1d-2e3f4a5b6c7d", "displayName": "Microsoft Graph", "type": "ServicePrincipal",
                        "modifiedProperties": []}])
            }
            // PIM names the role, the request and the principal; the directory names the user and
            // the role in its modified properties.
            "RoleManagement" if service == "PIM" => {
                json!([{"id": "5d6b6bb7-de71-4623-b4af-96380a352509", "displayName": "Security Reader",
                        "type": "Role", "modifiedProperties": []},
                       {"id": rng.guid_string(), "displayName": null, "type": "Request",
                        "modifiedProperties": []},
                       {"id": target.object_id, "displayName": target.display_name, "type": "User",
                        "userPrincipalName": target.upn, "modifiedProperties": []}])
            }
            "RoleManagement" => {
                let role = json!("\"Security Reader\"");
                let (old, new) = if op.starts_with("Remove") {
                    (role, json!(null))
                } else {
                    (json!(null), role)
                };
                json!([{"id": target.object_id, "displayName": target.display_name, "type": "User",
                        "userPrincipalName": target.upn,
                        "modifiedProperties": [
                            {"displayName": "Role.ObjectID", "oldValue": null,
                             "newValue": "\"b0f9e6a3-6a2c-4d1e-9f0a-5d6b6bb7de71\""},
                            {"displayName": "Role.DisplayName", "oldValue": old, "newValue": new},
                            {"displayName": "Role.TemplateId", "oldValue": null,
                             "newValue": "\"5d6b6bb7-de71-4623-b4af-96380a352509\""},
                            {"displayName": "Role.WellKnownObjectName", "oldValue": null,
                             "newValue": "\"SecurityReader\""}]},
                       {"id": "5d6b6bb7-de71-4623-b4af-96380a352509", "displayName": "Security Reader", "type": "Role"}])
            }
            "Policy" => {
                json!([{"id": rng.guid_string(), "displayName": "Require MFA for all users", "type": "Policy",
                                "modifiedProperties": [{"displayName": "ConditionalAccessPolicy", "oldValue": "{}", "newValue": "{}"}]}])
            }
            _ if op.contains("external") => {
                let guest = rng.pick(&org.guests);
                json!([{"id": guest.object_id, "displayName": guest.display_name, "type": "User",
                        "userPrincipalName": guest.upn, "modifiedProperties": []}])
            }
            _ => {
                json!([{"id": target.object_id, "displayName": target.display_name, "type": "User",
                         "userPrincipalName": target.upn, "modifiedProperties": []}])
            }
        };
        let result = if rng.chance(0.97) {
            "success"
        } else {
            "failure"
        };
        let (name, upn, oid) = if let Some(app) = app_actor {
            (app, "", "a3e7b4c2-0000-4f6a-b0a1-2f7d9e5c1b00")
        } else {
            (
                actor.display_name.as_str(),
                actor.upn.as_str(),
                actor.object_id.as_str(),
            )
        };
        rows::audit(
            g,
            rng,
            Audit {
                time,
                operation: op,
                category,
                service,
                actor: initiated,
                actor_account: (name, upn, oid),
                actor_ip: egress(actor),
                targets,
                details: if op.contains("self-service") {
                    json!([{"key": "MethodsUsedForValidation", "value": "Mobile app notification"}])
                } else {
                    json!([])
                },
                result,
                result_reason: "",
            },
        );
    }
}

/// Identity Protection detections on ordinary users (mostly travel), their risky-user records, and
/// UEBA's view of everyday activity.
pub(super) fn risk(g: &mut Gen, org: &Org, rng: &mut Rng, n: usize) {
    for k in 0..n {
        let u = &org.users[2 + rng.below(48)];
        let time = office_time(g, rng, u.office);
        if k % 4 == 0 {
            let (event, level) = *rng.pick(&[
                ("unlikelyTravel", "medium"),
                ("anonymizedIPAddress", "low"),
                ("unfamiliarFeatures", "low"),
                ("userReportedSuspiciousActivity", "medium"),
            ]);
            g.push(
                "AADUserRiskEvents",
                [
                    ("TimeGenerated", dt(time + 5 * MINUTE)),
                    ("Activity", s("signin")),
                    ("ActivityDateTime", dt(time)),
                    ("DetectedDateTime", dt(time)),
                    ("LastUpdatedDateTime", dt(time + 5 * MINUTE)),
                    (
                        "DetectionTimingType",
                        s(if event == "unlikelyTravel" { "offline" } else { "realtime" }),
                    ),
                    ("Id", s(rng.hex(64))),
                    ("IpAddress", s(super::super::org::OFFICES[(u.office + 1) % 3].egress_ip)),
                    ("Location", dy(json!({"countryOrRegion": super::super::org::OFFICES[(u.office + 1) % 3].country}))),
                    ("OperationName", s("User Risk Detection")),
                    ("RequestId", s(rng.guid_string())),
                    ("CorrelationId", s(rng.guid_string())),
                    ("RiskDetail", s("aiConfirmedSigninSafe")),
                    ("RiskEventType", s(event)),
                    ("RiskLevel", s(level)),
                    ("RiskState", s("dismissed")),
                    ("Source", s("IdentityProtection")),
                    ("SourceSystem", s("Azure AD")),
                    ("TokenIssuerType", s("AzureAD")),
                    ("UserDisplayName", s(&u.display_name)),
                    ("UserId", s(&u.object_id)),
                    ("UserPrincipalName", s(&u.upn)),
                    ("AdditionalInfo", dy(json!([]))),
                ],
            );
            super::super::story::risky_user(
                g,
                u,
                time + 10 * MINUTE,
                (level, "dismissed", "aiConfirmedSigninSafe"),
            );
        }
        let (activity, action, table) = *rng.pick(&[
            ("LogOn", "Sign-in", "SigninLogs"),
            ("LogOn", "Sign-in", "SigninLogs"),
            ("Access", "FileAccessed", "OfficeActivity"),
            ("Management", "Update user", "AuditLogs"),
        ]);
        g.push(
            "BehaviorAnalytics",
            [
                ("TimeGenerated", dt(time)),
                ("TimeProcessed", dt(time + 20 * MINUTE)),
                ("SourceRecordId", s(rng.guid_string())),
                ("ActivityType", s(activity)),
                ("ActionType", s(action)),
                ("UserName", s(&u.sam)),
                ("UserPrincipalName", s(&u.upn)),
                ("EventSource", s("Azure AD")),
                ("EventVendor", s("Microsoft")),
                ("EventProductVersion", s("1.0")),
                ("SourceIPAddress", s(egress(u))),
                (
                    "SourceIPLocation",
                    s(super::super::org::OFFICES[u.office].country),
                ),
                ("NativeTableName", s(table)),
                ("InvestigationPriority", int(rng.below(3) as i32)),
                (
                    "ActivityInsights",
                    dy(json!({"FirstTimeUserConnectedFromCountry": false,
                              "FirstTimeUserUsedApp": rng.chance(0.05),
                              "ActionUncommonlyPerformedByUser": rng.chance(0.03)})),
                ),
                (
                    "UsersInsights",
                    dy(
                        json!({"AccountDisplayName": u.display_name, "AccountObjectID": u.object_id,
                              "IsDormantAccount": false, "IsNewAccount": false}),
                    ),
                ),
                ("DevicesInsights", dy(json!({}))),
            ],
        );
    }
}

/// UEBA's identity inventory: one snapshot of every account a week.
pub(super) fn identity_info(g: &mut Gen, org: &Org, _rng: &mut Rng, _n: usize) {
    for week in 0..2 {
        let time = g.now - week * 7 * DAY - 3 * HOUR;
        for (i, u) in org.users.iter().enumerate() {
            let office = &super::super::org::OFFICES[u.office];
            let roles: Vec<&str> = u.roles.to_vec();
            let groups = if u.admin {
                json!(["Domain Admins", "IT", "All Users"])
            } else {
                json!([u.department, "All Users"])
            };
            g.push(
                "IdentityInfo",
                [
                    ("TimeGenerated", dt(time)),
                    ("SourceSystem", s("Azure AD")),
                    ("AccountCloudSID", s(format!("S-1-12-1-{}", 1_000_000 + i))),
                    (
                        "AccountCreationTime",
                        dt(g.now - (400 + i as i64 * 13) * DAY),
                    ),
                    ("AccountDisplayName", s(&u.display_name)),
                    ("AccountDomain", s(DOMAIN)),
                    ("AccountName", s(&u.sam)),
                    ("AccountObjectId", s(&u.object_id)),
                    ("AccountSID", s(&u.sid)),
                    ("SAMAccountName", s(&u.sam)),
                    ("AccountTenantId", s(TENANT_ID)),
                    ("AccountUPN", s(&u.upn)),
                    ("MailAddress", s(&u.upn)),
                    ("AdditionalMailAddresses", dy(json!([]))),
                    ("AssignedRoles", dy(json!(roles))),
                    (
                        "BlastRadius",
                        s(if !u.roles.is_empty() { "High" } else { "Low" }),
                    ),
                    ("ChangeSource", s("AzureActiveDirectory")),
                    ("City", s(office.city)),
                    ("State", s(office.state)),
                    ("Country", s(office.country)),
                    ("CompanyName", s("Contoso Ltd")),
                    ("Department", s(u.department)),
                    ("JobTitle", s(u.job_title)),
                    ("EmployeeId", s(&u.employee_id)),
                    ("GivenName", s(u.given_name)),
                    ("Surname", s(u.surname)),
                    ("GroupMembership", dy(groups)),
                    ("IsAccountEnabled", boolean(true)),
                    ("IsMFARegistered", boolean(true)),
                    ("IsServiceAccount", boolean(false)),
                    ("Manager", s(if i == 0 { "" } else { "adavis" })),
                    (
                        "OnPremisesDistinguishedName",
                        s(format!(
                            "CN={},OU=Users,OU={},DC=contoso,DC=com",
                            u.display_name, office.city
                        )),
                    ),
                    ("Phone", s(&u.phone)),
                    (
                        "RiskLevel",
                        s(if u.sam == "mbrown" && week == 0 {
                            "High"
                        } else {
                            ""
                        }),
                    ),
                    (
                        "RiskState",
                        s(if u.sam == "mbrown" && week == 0 {
                            "Remediated"
                        } else {
                            ""
                        }),
                    ),
                    (
                        "Tags",
                        s(if u.admin { "[\"Administrator\"]" } else { "[]" }),
                    ),
                    ("UACFlags", s("NormalAccount")),
                    ("UserAccountControl", dy(json!(["NormalAccount"]))),
                    ("UserState", s("Active")),
                    ("UserType", s("Member")),
                    ("InvestigationPriority", int(0)),
                    ("LastSeenDate", dt(time - 2 * HOUR)),
                ],
            );
        }
        for guest in &org.guests {
            g.push(
                "IdentityInfo",
                [
                    ("TimeGenerated", dt(time)),
                    ("SourceSystem", s("Azure AD")),
                    ("AccountDisplayName", s(&guest.display_name)),
                    ("AccountObjectId", s(&guest.object_id)),
                    ("AccountTenantId", s(&guest.home_tenant)),
                    ("AccountUPN", s(&guest.upn)),
                    ("MailAddress", s(&guest.mail)),
                    ("AssignedRoles", dy(json!([]))),
                    ("BlastRadius", s("Low")),
                    ("ChangeSource", s("AzureActiveDirectory")),
                    ("IsAccountEnabled", boolean(true)),
                    ("UserState", s("Active")),
                    ("UserType", s("Guest")),
                    ("GroupMembership", dy(json!(["Partners"]))),
                    ("AdditionalMailAddresses", dy(json!([]))),
                ],
            );
        }
    }
}

/// What Defender for Identity sees at the domain controllers: directory changes, LDAP, DNS and
/// SAMR queries, NTLM and Kerberos authentications.
pub(super) fn domain_controller(g: &mut Gen, org: &Org, rng: &mut Rng, n: usize) {
    for _ in 0..n {
        let (d, u) = super::workstation(org, rng);
        let time = office_time(g, rng, u.office);
        let report = rng.guid_string();
        let common = [
            ("Timestamp", dt(time)),
            ("Application", s("Active Directory")),
            ("AccountName", s(&u.sam)),
            ("AccountDomain", s(DOMAIN)),
            ("AccountUpn", s(&u.upn)),
            ("AccountSid", s(&u.sid)),
            ("AccountObjectId", s(&u.object_id)),
            ("AccountDisplayName", s(&u.display_name)),
            ("DeviceName", s(&d.fqdn)),
            ("IPAddress", s(&d.ip)),
            ("Port", int(49_152 + rng.below(16_000) as i32)),
            ("DestinationDeviceName", s("srv-dc01.contoso.com")),
            ("DestinationIPAddress", s("10.20.0.10")),
            ("ReportId", s(report)),
        ];
        // Queries, logons and replication, and a quarter of directory changes.
        match rng.below(12) {
            0..5 => {
                let (action, query_type, target, protocol, port, query) = *rng.pick(&[
                    (
                        "LDAP query",
                        "AllUsers",
                        "contoso.com",
                        "Ldap",
                        389,
                        "(&(objectCategory=person)(objectClass=user))",
                    ),
                    (
                        "LDAP query",
                        "QueryGroup",
                        "IT",
                        "Ldap",
                        389,
                        "(&(objectClass=group)(cn=IT))",
                    ),
                    (
                        "DNS query",
                        "Srv",
                        "_kerberos._tcp.contoso.com",
                        "Dns",
                        53,
                        "",
                    ),
                    ("DNS query", "A", "srv-fs01.contoso.com", "Dns", 53, ""),
                    ("SAMR query", "QueryUser", "Administrator", "Samr", 445, ""),
                ]);
                g.push(
                    "IdentityQueryEvents",
                    common.into_iter().chain([
                        ("ActionType", s(action)),
                        ("QueryType", s(query_type)),
                        ("QueryTarget", s(target)),
                        ("Query", s(query)),
                        ("Protocol", s(protocol)),
                        ("DestinationPort", int(port)),
                        ("TargetDeviceName", s("srv-dc01.contoso.com")),
                        (
                            "AdditionalFields",
                            dy(json!({"Count": "1", "SearchFilter": query})),
                        ),
                    ]),
                );
            }
            7 => {
                // A line-of-business app on srv-app01 binds to LDAP in clear text.
                let app = org.device("srv-app01");
                g.push(
                    "IdentityLogonEvents",
                    [
                        ("Timestamp", dt(time)),
                        ("ActionType", s("LogonSuccess")),
                        ("Application", s("Active Directory")),
                        ("LogonType", s("LDAP cleartext")),
                        ("Protocol", s("Ldap")),
                        ("AccountName", s("svc-hrapp")),
                        ("AccountDomain", s(DOMAIN)),
                        ("AccountUpn", s("svc-hrapp@contoso.com")),
                        ("AccountDisplayName", s("HR app service")),
                        ("DeviceName", s(&app.fqdn)),
                        ("IPAddress", s(&app.ip)),
                        ("Port", int(50_112)),
                        ("DestinationDeviceName", s("srv-dc01.contoso.com")),
                        ("DestinationIPAddress", s("10.20.0.10")),
                        ("DestinationPort", int(389)),
                        ("TargetDeviceName", s("srv-dc01.contoso.com")),
                        ("ReportId", s(rng.guid_string())),
                        ("AdditionalFields", dy(json!({"Count": "1"}))),
                    ],
                );
            }
            8 => {
                // The domain controllers replicate with each other.
                let (from, to) = (&org.devices[25], &org.devices[24]);
                g.push(
                    "IdentityDirectoryEvents",
                    [
                        ("Timestamp", dt(time)),
                        ("ActionType", s("Directory Services replication")),
                        ("Application", s("Active Directory")),
                        ("TargetDeviceName", s(&to.fqdn)),
                        ("DestinationDeviceName", s(&to.fqdn)),
                        ("DestinationIPAddress", s(&to.ip)),
                        ("DestinationPort", int(135)),
                        ("Protocol", s("Drsr")),
                        ("AccountName", s(format!("{}$", from.short.to_ascii_uppercase()))),
                        ("AccountDomain", s(DOMAIN)),
                        ("DeviceName", s(&from.fqdn)),
                        ("IPAddress", s(&from.ip)),
                        ("Port", int(49_670)),
                        ("ReportId", s(rng.guid_string())),
                        ("AdditionalFields", dy(json!({"Count": "1", "SourceComputerOperatingSystemType": "windows server"}))),
                    ],
                );
            }
            5..7 => {
                let (kind, protocol) = *rng.pick(&[
                    ("Credentials validation", "Ntlm"),
                    ("Resource access", "Kerberos"),
                    ("Resource access", "Ntlm"),
                ]);
                g.push(
                    "IdentityLogonEvents",
                    common.into_iter().chain([
                        (
                            "ActionType",
                            s(if rng.chance(0.97) {
                                "LogonSuccess"
                            } else {
                                "LogonFailed"
                            }),
                        ),
                        ("LogonType", s(kind)),
                        ("Protocol", s(protocol)),
                        (
                            "DestinationPort",
                            int(if protocol == "Ntlm" { 445 } else { 88 }),
                        ),
                        ("TargetDeviceName", s("srv-fs01.contoso.com")),
                        ("OSPlatform", s("Windows")),
                        ("DeviceType", s("Desktop")),
                        ("AdditionalFields", dy(json!({"Count": "1"}))),
                    ]),
                );
            }
            _ => {
                let admin = &org.users[rng.below(2)];
                let target = rng.pick(&org.users);
                let action = *rng.pick(&[
                    "Account Password changed",
                    "Group Membership changed",
                    "Account Password Never Expires changed",
                    "Account Supported Encryption Types changed",
                    "Account Enabled changed",
                    "SAM Account Name changed",
                    "Account Constrained Delegation changed",
                ]);
                let mut extra = match action {
                    "Group Membership changed" => json!({"TO.GROUP": "IT", "FROM.GROUP": ""}),
                    "Account Password Never Expires changed" => {
                        json!({"FROM Account Password Never Expires": "False", "TO Account Password Never Expires": "True"})
                    }
                    // Retiring RC4 for Kerberos, account by account.
                    "Account Supported Encryption Types changed" => {
                        json!({"FROM AccountSupportedEncryptionTypes": "RC4, AES128, AES256", "TO AccountSupportedEncryptionTypes": "AES128, AES256"})
                    }
                    "SAM Account Name changed" => {
                        json!({"FROM SAM Account Name": "temp-user", "TO SAM Account Name": target.sam})
                    }
                    "Account Constrained Delegation changed" => {
                        json!({"FROM AccountConstrainedDelegationState": "False", "TO AccountConstrainedDelegationState": "True",
                               "TO Account Constrained Delegation": "cifs/srv-fs01.contoso.com",
                               "TargetComputerOperatingSystem": "Windows Server 2022"})
                    }
                    _ => json!({}),
                };
                extra["ACTOR.ACCOUNT"] = json!(admin.sam);
                extra["TARGET_OBJECT.USER"] = json!(target.sam);
                g.push(
                    "IdentityDirectoryEvents",
                    [
                        ("Timestamp", dt(time)),
                        ("ActionType", s(action)),
                        ("Application", s("Active Directory")),
                        ("TargetAccountUpn", s(&target.upn)),
                        ("TargetAccountDisplayName", s(&target.display_name)),
                        ("TargetDeviceName", s("")),
                        ("DestinationDeviceName", s("srv-dc01.contoso.com")),
                        ("DestinationIPAddress", s("10.20.0.10")),
                        ("DestinationPort", int(389)),
                        ("Protocol", s("Ldap")),
                        ("AccountName", s(&admin.sam)),
                        ("AccountDomain", s(DOMAIN)),
                        ("AccountUpn", s(&admin.upn)),
                        ("AccountSid", s(&admin.sid)),
                        ("AccountObjectId", s(&admin.object_id)),
                        ("AccountDisplayName", s(&admin.display_name)),
                        ("DeviceName", s(&org.devices[rng.below(2)].fqdn)),
                        ("IPAddress", s(&org.devices[rng.below(2)].ip)),
                        ("ReportId", s(rng.guid_string())),
                        ("AdditionalFields", dy(extra)),
                    ],
                );
            }
        }
    }
}

/// What the Entra password protection DC agent logs when a password is set or changed:
/// `(event id, level, what happened)`.
const PASSWORD_POLICY_EVENTS: [(i32, &str, &str); 5] = [
    (
        10014,
        "Information",
        "The changed password for the specified user was validated as compliant with the current Azure password policy.",
    ),
    (
        10014,
        "Information",
        "The changed password for the specified user was validated as compliant with the current Azure password policy.",
    ),
    (
        10015,
        "Information",
        "The reset password for the specified user was validated as compliant with the current Azure password policy.",
    ),
    (
        10016,
        "Warning",
        "The changed password for the specified user was rejected because it did not comply with the current Azure password policy.",
    ),
    (
        30002,
        "Warning",
        "The changed password for the specified user was rejected because it matched at least one of the tokens present in the per-tenant banned password list of the current Azure password policy.",
    ),
];

/// Password changes and resets as the Entra password protection DC agent logs them (Event).
pub(super) fn password_protection(g: &mut Gen, org: &Org, rng: &mut Rng, n: usize) {
    for _ in 0..n {
        let u = rng.pick(&org.users);
        let dc = org.device(if rng.chance(0.6) {
            "srv-dc01"
        } else {
            "srv-dc02"
        });
        let time = office_time(g, rng, u.office);
        let &(id, level, text) = rng.pick(&PASSWORD_POLICY_EVENTS);
        let description = format!(
            "{text}\r\n\r\n UserName: {}\r\n FullName: {}",
            u.sam, u.display_name
        );
        g.push(
            "Event",
            [
                ("TimeGenerated", dt(time)),
                ("Source", s("Microsoft-AzureADPasswordProtection-DCAgent")),
                ("EventLog", s("Microsoft-AzureADPasswordProtection-DCAgent/Admin")),
                ("Computer", s(&dc.fqdn)),
                ("EventLevel", int(if level == "Warning" { 3 } else { 4 })),
                ("EventLevelName", s(level)),
                ("EventID", int(id)),
                ("EventCategory", int(0)),
                ("UserName", s("NT AUTHORITY\\SYSTEM")),
                ("RenderedDescription", s(&description)),
                (
                    "ParameterXml",
                    s(format!("<Param>{}</Param><Param>{}</Param>", u.sam, u.display_name)),
                ),
                (
                    "EventData",
                    s(format!(
                        "<DataItem type=\"System.XmlData\" time=\"{}\" sourceHealthServiceId=\"{}\"><EventData xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\"><Data Name=\"UserName\">{}</Data><Data Name=\"FullName\">{}</Data></EventData></DataItem>",
                        super::super::iso(time),
                        dc.aad_device_id,
                        u.sam,
                        u.display_name
                    )),
                ),
                ("Message", s(&description)),
                ("SourceSystem", s("OpsManager")),
                ("ManagementGroupName", s("AOI-72f988bf-0000-4e1a-9c0d-c0a7050de4a0")),
            ],
        );
    }
}
