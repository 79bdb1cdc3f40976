//! Stages 0 to 2: phishing for credentials, the password spray and the takeover of mbrown's
//! account, and the attacker's persistence in the cloud (an MFA method, directory reconnaissance
//! over Microsoft Graph, an inbox rule).

use serde_json::json;

use super::super::org::{Org, TENANT_ID, User};
use super::super::rows::{self, Audit, Mail, O365, SignIn};
use super::super::{Gen, HOUR, MINUTE, Rng, SECOND, boolean, dt, dy, int, s};
use super::{
    ATTACKER, ATTACKER_IP, ATTACKER_UA, AZUREHOUND_UA, CLICK, GRAPH_RECON, INBOX_RULE,
    MFA_REGISTERED, PHISH, PHISH_DOMAIN, PHISH_URL, SPRAY_1, SPRAY_2, TAKEOVER, VICTIM, VICTIM_UPN,
    ZAP, ago, risky_user, target,
};

/// Writes stages 0 to 2; `cluster` is the phishing mails' cluster.
pub(super) fn write(g: &mut Gen, org: &Org, rng: &mut Rng, at: impl Fn(i64) -> i64, cluster: i64) {
    let victim = org.user(VICTIM);

    // Stage 0: phishing for credentials; one recipient clicks, ZAP removes the rest later.
    let phish_targets: Vec<usize> = (4..50).step_by(4).take(11).chain([13]).collect();
    for (k, &i) in phish_targets.iter().enumerate() {
        let u = &org.users[i];
        let delivered = i == 13 || k % 4 == 0;
        let network_id = rng.guid_string();
        let internet_id = format!("<{}@{PHISH_DOMAIN}>", rng.hex(16));
        let url = format!("{PHISH_URL}{}", u.sam);
        let time = at(PHISH) + k as i64 * 7 * SECOND;
        rows::mail(
            g,
            Mail {
                time,
                network_id: &network_id,
                internet_id: &internet_id,
                from: "it-support@contoso-helpdesk.example",
                from_name: "Contoso IT Support",
                sender_ip: ATTACKER_IP,
                to: (&u.upn, &u.object_id),
                subject: "Action required: your Contoso password expires today",
                cluster,
                direction: "Inbound",
                delivery: if delivered {
                    ("Delivered", "Inbox/folder")
                } else {
                    ("Junked", "Junk folder")
                },
                threats: if delivered { "" } else { "Phish" },
                detection: if delivered {
                    ""
                } else {
                    "{\"Phish\":[\"URL detonation reputation\"]}"
                },
                confidence: if delivered {
                    ""
                } else {
                    "{\"Phish\":\"Normal\"}"
                },
                bcl: 0,
                attachments: &[],
                urls: &[&url],
                auth: "{\"SPF\":\"pass\",\"DKIM\":\"none\",\"DMARC\":\"none\",\"CompAuth\":\"fail\"}",
            },
        );
        if delivered {
            g.push(
                "EmailPostDeliveryEvents",
                [
                    ("Timestamp", dt(at(ZAP) + k as i64 * SECOND)),
                    ("NetworkMessageId", s(&network_id)),
                    ("InternetMessageId", s(&internet_id)),
                    ("Action", s("Moved to junk folder")),
                    ("ActionType", s("Phish ZAP")),
                    ("ActionTrigger", s("SpecialAction")),
                    ("ActionResult", s("Success")),
                    ("RecipientEmailAddress", s(&u.upn)),
                    ("DeliveryLocation", s("Junk folder")),
                    ("ThreatTypes", s("Phish")),
                    (
                        "DetectionMethods",
                        s("{\"Phish\":[\"URL detonation reputation\"]}"),
                    ),
                    ("ReportId", s(format!("{network_id}-zap"))),
                ],
            );
        }
        // Another recipient reports the mail as phishing.
        if k == 0 {
            rows::cloud_app_event(
                g,
                rows::CloudApp {
                    time: at(PHISH) + 25 * MINUTE,
                    action: "UserSubmission",
                    application: "Microsoft Exchange Online",
                    application_id: 20893,
                    account: (&u.display_name, &u.upn, &u.object_id),
                    ip: super::super::org::OFFICES[u.office].egress_ip,
                    activity_type: "Report",
                    object_name: "Action required: your Contoso password expires today",
                    object_type: "Email",
                    raw: json!({"Operation": "UserSubmission", "Workload": "Exchange", "SubmissionType": "Phish",
                                "NetworkMessageId": network_id, "UserId": u.upn}),
                    user_agent: rows::ORG_USER_AGENT,
                    admin: false,
                },
            );
        }
        // After detonation, Safe Links blocks a later click.
        if k == 4 {
            g.push(
                "UrlClickEvents",
                [
                    ("Timestamp", dt(at(ZAP) - 5 * MINUTE)),
                    ("Url", s(&url)),
                    ("ActionType", s("ClickBlocked")),
                    ("AccountUpn", s(&u.upn)),
                    ("Workload", s("Email")),
                    ("NetworkMessageId", s(&network_id)),
                    ("ThreatTypes", s("Phish")),
                    ("DetectionMethods", s("URL detonation reputation")),
                    (
                        "IPAddress",
                        s(super::super::org::OFFICES[u.office].egress_ip),
                    ),
                    ("IsClickedThrough", boolean(false)),
                    ("UrlChain", s(format!("[\"{url}\"]"))),
                    ("ReportId", s(format!("{network_id}-click"))),
                ],
            );
        }
        if i == 13 {
            g.push(
                "UrlClickEvents",
                [
                    ("Timestamp", dt(at(CLICK))),
                    ("Url", s(&url)),
                    ("ActionType", s("ClickAllowed")),
                    ("AccountUpn", s(&u.upn)),
                    ("Workload", s("Email")),
                    ("NetworkMessageId", s(&network_id)),
                    ("ThreatTypes", s("")),
                    ("DetectionMethods", s("")),
                    (
                        "IPAddress",
                        s(super::super::org::OFFICES[u.office].egress_ip),
                    ),
                    ("IsClickedThrough", boolean(true)),
                    ("UrlChain", s(format!("[\"{url}\"]"))),
                    ("ReportId", s(rng.guid_string())),
                ],
            );
        }
    }

    // Stage 1: password spray, two rounds over 42 accounts, then the victim's password works.
    let sprayed: Vec<usize> = (2..50).filter(|i| i % 8 != 7).take(42).collect();
    for (round, start) in [(0, SPRAY_1), (1, SPRAY_2)] {
        for (k, &i) in sprayed.iter().enumerate() {
            let u = &org.users[i];
            if round == 1 && u.sam == VICTIM {
                continue;
            }
            let locked = round == 1 && k % 9 == 4;
            let time = at(start) + k as i64 * 60 * SECOND + rng.range(0, 20) * SECOND;
            rows::signin(
                g,
                rng,
                SignIn {
                    time,
                    user: u.into(),
                    place: ATTACKER,
                    app: rows::APPS[0],
                    result: if locked { "50053" } else { "50126" },
                    client_app: "Browser",
                    user_agent: ATTACKER_UA,
                    risk: "none",
                    mfa: "",
                    device: None,
                    tenants: (TENANT_ID, TENANT_ID),
                    protocol: "none",
                    interactive: true,
                },
            );
        }
    }
    for (time, app) in [
        (at(TAKEOVER), rows::APPS[0]),
        (at(ago(70, 25)), rows::APPS[7]),
    ] {
        rows::signin(
            g,
            rng,
            SignIn {
                time,
                user: victim.into(),
                place: ATTACKER,
                app,
                result: "0",
                client_app: "Browser",
                user_agent: ATTACKER_UA,
                risk: "medium",
                mfa: "",
                device: None,
                tenants: (TENANT_ID, TENANT_ID),
                protocol: "none",
                interactive: true,
            },
        );
    }
    // The stolen session's tokens are refreshed from the attacker's address.
    for k in 0..6 {
        rows::signin(
            g,
            rng,
            SignIn {
                time: at(ago(70, 24)) + k * 11 * MINUTE,
                user: victim.into(),
                place: ATTACKER,
                app: if k % 2 == 0 {
                    rows::APPS[0]
                } else {
                    ("Microsoft Graph", "00000003-0000-0000-c000-000000000000")
                },
                result: "0",
                client_app: "Mobile Apps and Desktop clients",
                user_agent: ATTACKER_UA,
                risk: "medium",
                mfa: "",
                device: None,
                tenants: (TENANT_ID, TENANT_ID),
                protocol: "none",
                interactive: false,
            },
        );
    }
    risk(g, rng, victim, at(TAKEOVER));
    g.push(
        "BehaviorAnalytics",
        [
            ("TimeGenerated", dt(at(TAKEOVER))),
            ("TimeProcessed", dt(at(TAKEOVER) + 20 * MINUTE)),
            ("SourceRecordId", s(rng.guid_string())),
            ("ActivityType", s("LogOn")),
            ("ActionType", s("Sign-in")),
            ("UserName", s(VICTIM)),
            ("UserPrincipalName", s(VICTIM_UPN)),
            ("EventSource", s("Azure AD")),
            ("EventVendor", s("Microsoft")),
            ("EventProductVersion", s("1.0")),
            ("SourceIPAddress", s(ATTACKER_IP)),
            ("SourceIPLocation", s("Netherlands")),
            ("SourceDevice", s("")),
            ("DestinationDevice", s("")),
            ("NativeTableName", s("SigninLogs")),
            ("InvestigationPriority", int(7)),
            (
                "ActivityInsights",
                dy(json!({"FirstTimeUserConnectedFromCountry": true,
                          "CountryUncommonlyConnectedFromAmongPeers": true,
                          "FirstTimeUserConnectedViaBrowser": true,
                          "FirstTimeUserUsedApp": false,
                          "ISPUncommonlyUsedAmongPeers": true})),
            ),
            (
                "UsersInsights",
                dy(json!({"AccountDisplayName": victim.display_name, "AccountObjectID": victim.object_id,
                          "IsDormantAccount": false, "IsNewAccount": false})),
            ),
            ("DevicesInsights", dy(json!({"ThreatIntelIndicatorType": "Botnet"}))),
        ],
    );

    // Stage 2: persistence in the cloud: an MFA method, directory reconnaissance over Microsoft
    // Graph, and an inbox rule hiding security mail.
    let actor = json!({"user": {"id": victim.object_id, "displayName": null,
                                "userPrincipalName": victim.upn, "ipAddress": ATTACKER_IP}});
    for (ago_t, op, category, service, details, props) in [
        (
            MFA_REGISTERED,
            "User registered security info",
            "UserManagement",
            "Authentication Methods",
            json!([{"key": "Method", "value": "Authenticator App"}]),
            json!([]),
        ),
        (
            ago(70, 21),
            "Update user",
            "UserManagement",
            "Core Directory",
            json!([{"key": "UserType", "value": "Member"}]),
            json!([{"displayName": "StrongAuthenticationPhoneAppDetail", "oldValue": "[]",
                    "newValue": "[{\"DeviceName\":\"Pixel 7\",\"DeviceTag\":\"SoftwareTokenActivated\"}]"}]),
        ),
    ] {
        rows::audit(
            g,
            rng,
            Audit {
                time: at(ago_t),
                operation: op,
                category,
                service,
                actor: actor.clone(),
                actor_account: (&victim.display_name, &victim.upn, &victim.object_id),
                actor_ip: ATTACKER_IP,
                targets: target(victim, props),
                details,
                result: "success",
                result_reason: "User registered Authenticator App with Notification and Code",
            },
        );
    }
    graph_recon(g, rng, victim, at(GRAPH_RECON));
    let rule = json!([{"Name": "Name", "Value": "."},
                      {"Name": "SubjectOrBodyContainsWords", "Value": "security;password;phish;invoice"},
                      {"Name": "MoveToFolder", "Value": "RSS Feeds"},
                      {"Name": "MarkAsRead", "Value": "True"},
                      {"Name": "StopProcessingRules", "Value": "True"}]);
    rows::office_activity(
        g,
        rng,
        O365 {
            time: at(INBOX_RULE),
            user: victim.into(),
            operation: "New-InboxRule",
            workload: "Exchange",
            record_type: "ExchangeAdmin",
            ip: ATTACKER_IP,
            user_agent: ATTACKER_UA,
            site: "",
            file: "",
            parameters: rule,
            extra: vec![
                ("OriginatingServer", s("AM6PR04MB5432 (15.20.7452.021)")),
                ("ExternalAccess", s("false")),
            ],
        },
    );
    for k in 0..10 {
        rows::office_activity(
            g,
            rng,
            O365 {
                time: at(ago(70, 5)) + k * 20 * SECOND,
                user: victim.into(),
                operation: "MailItemsAccessed",
                workload: "Exchange",
                record_type: "ExchangeItemAggregated",
                ip: ATTACKER_IP,
                user_agent: ATTACKER_UA,
                site: "",
                file: "",
                parameters: serde_json::Value::Null,
                extra: vec![("Logon_Type", s("0"))],
            },
        );
    }
}

/// Identity Protection's detections for the takeover sign-in.
fn risk(g: &mut Gen, rng: &mut Rng, victim: &User, time: i64) {
    for (event, timing, level, detected) in [
        ("unfamiliarFeatures", "realtime", "medium", time),
        ("passwordSpray", "offline", "high", time + 3 * HOUR),
    ] {
        g.push(
            "AADUserRiskEvents",
            [
                ("TimeGenerated", dt(detected + 5 * MINUTE)),
                ("Activity", s("signin")),
                ("ActivityDateTime", dt(time)),
                ("DetectedDateTime", dt(detected)),
                ("LastUpdatedDateTime", dt(detected + 5 * MINUTE)),
                ("DetectionTimingType", s(timing)),
                ("Id", s(rng.hex(64))),
                ("IpAddress", s(ATTACKER_IP)),
                (
                    "Location",
                    dy(json!({"city": "Amsterdam", "state": "Noord-Holland", "countryOrRegion": "NL",
                              "geoCoordinates": {"latitude": 52.3676, "longitude": 4.9041}})),
                ),
                ("OperationName", s("User Risk Detection")),
                ("RequestId", s(rng.guid_string())),
                ("CorrelationId", s(rng.guid_string())),
                ("RiskDetail", s("none")),
                ("RiskEventType", s(event)),
                ("RiskLevel", s(level)),
                ("RiskState", s("atRisk")),
                ("Source", s("IdentityProtection")),
                ("SourceSystem", s("Azure AD")),
                ("TokenIssuerType", s("AzureAD")),
                ("UserDisplayName", s(&victim.display_name)),
                ("UserId", s(&victim.object_id)),
                ("UserPrincipalName", s(&victim.upn)),
                (
                    "AdditionalInfo",
                    dy(json!([{"Key": "userAgent", "Value": ATTACKER_UA}])),
                ),
            ],
        );
    }
    risky_user(g, victim, time + 10 * MINUTE, ("high", "atRisk", "none"));
}

/// AzureHound-style enumeration of the directory over Microsoft Graph with the stolen token.
fn graph_recon(g: &mut Gen, rng: &mut Rng, victim: &User, start: i64) {
    let paths = [
        "users",
        "groups",
        "directoryRoles",
        "servicePrincipals",
        "applications",
        "devices",
        "organization",
        "roleManagement/directory/roleAssignments",
    ];
    let app = "1950a258-227b-4e31-a9cf-717495945fc2";
    for (k, path) in paths.iter().enumerate() {
        let time = start + k as i64 * 9 * SECOND;
        let uri = format!("https://graph.microsoft.com/v1.0/{path}?$top=999");
        let request = rng.guid_string();
        let operation = rng.guid_string();
        let size = 40_000 + rng.range(0, 400_000) as i32;
        g.push(
            "MicrosoftGraphActivityLogs",
            [
                ("TimeGenerated", dt(time)),
                ("AadTenantId", s(TENANT_ID)),
                ("ApiVersion", s("v1.0")),
                ("AppId", s(app)),
                ("ClientAuthMethod", int(0)),
                ("ClientRequestId", s(&operation)),
                ("DurationMs", int(120 + rng.below(400) as i32)),
                (
                    "IdentityProvider",
                    s(format!("https://sts.windows.net/{TENANT_ID}/")),
                ),
                ("IPAddress", s(ATTACKER_IP)),
                ("Location", s("West Europe")),
                ("OperationId", s(&operation)),
                ("RequestId", s(&request)),
                ("RequestMethod", s("GET")),
                ("RequestUri", s(&uri)),
                ("ResponseSizeBytes", int(size)),
                ("ResponseStatusCode", int(200)),
                ("Roles", s("")),
                ("Scopes", s("Directory.AccessAsUser.All User.Read")),
                ("SignInActivityId", s(rng.hex(22))),
                ("SourceSystem", s("Azure AD")),
                ("TokenIssuedAt", dt(start - 4 * MINUTE)),
                ("UserAgent", s(AZUREHOUND_UA)),
                ("UserId", s(&victim.object_id)),
                ("Wids", s("b79fbf4d-3ef9-4689-8143-76b194e85509")),
            ],
        );
        g.push(
            "GraphAPIAuditEvents",
            [
                ("Timestamp", s(super::super::iso(time))),
                (
                    "IdentityProvider",
                    s(format!("https://sts.windows.net/{TENANT_ID}/")),
                ),
                ("ApiVersion", s("v1.0")),
                ("ApplicationId", s(app)),
                ("IPAddress", s(ATTACKER_IP)),
                ("ClientRequestId", s(&operation)),
                ("EntityType", s("user")),
                ("RequestUri", s(&uri)),
                ("AccountObjectId", s(&victim.object_id)),
                ("OperationId", s(&operation)),
                ("Location", s("West Europe")),
                ("RequestDuration", s((120 + k * 37).to_string())),
                ("RequestId", s(&request)),
                ("RequestMethod", s("GET")),
                ("ResponseStatusCode", s("200")),
                ("Scopes", s("Directory.AccessAsUser.All User.Read")),
                ("TargetWorkload", s("Microsoft.DirectoryServices")),
                ("ResponseSize", int(size)),
            ],
        );
    }
}
