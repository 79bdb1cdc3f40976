//! Microsoft 365 and Azure: SharePoint, OneDrive, Teams and Exchange activity, the Azure control
//! and data planes, Microsoft Graph calls of the organisation's apps, the OAuth app inventory and
//! exposure graph, and the SOC's own use of Sentinel (its queries and its threat feed).

use serde_json::json;

use super::super::org::{Org, SHAREPOINT, SUBSCRIPTION, TENANT_ID};
use super::super::rows::{self, O365, Signer};
use super::super::{DAY, Gen, HOUR, MINUTE, Rng, SPAN, boolean, dt, dy, int, long, real, s};
use super::{any_time, egress, office_time};

const DOC_STEMS: [&str; 8] = [
    "Q3-report",
    "budget",
    "meeting-notes",
    "proposal",
    "roadmap",
    "timesheet",
    "contract",
    "design",
];
const DOC_EXTS: [&str; 4] = ["docx", "xlsx", "pptx", "pdf"];

pub(super) fn m365(g: &mut Gen, org: &Org, rng: &mut Rng, n: usize) {
    for _ in 0..n {
        let u = rng.pick(&org.users);
        let time = office_time(g, rng, u.office);
        let ip = egress(u);
        let roll = rng.below(100);
        let (operation, workload, record, site, file, extra): (
            &str,
            &str,
            &str,
            String,
            String,
            Vec<(&str, super::super::Value)>,
        ) = if roll < 55 {
            let onedrive = rng.chance(0.3);
            let site = if onedrive {
                format!(
                    "https://contoso-my.sharepoint.com/personal/{}_contoso_com/",
                    u.sam
                )
            } else {
                format!(
                    "{SHAREPOINT}/sites/{}/",
                    rng.pick(&[
                        "Finance",
                        "HR",
                        "Engineering",
                        "Marketing",
                        "Sales",
                        "Intranet"
                    ])
                )
            };
            let file = format!(
                "{}-{}.{}",
                rng.pick(&DOC_STEMS),
                rng.below(400),
                rng.pick(&DOC_EXTS)
            );
            let op = *rng.pick(&[
                "FileAccessed",
                "FileAccessed",
                "FileAccessed",
                "FileModified",
                "FileUploaded",
                "FileDownloaded",
                "FilePreviewed",
                "FileSyncDownloadedFull",
                "SharingInvitationCreated",
                "SecureLinkCreated",
                "AddedToSecureLink",
            ]);
            let mut extra = Vec::new();
            if op.contains("Sharing") || op.contains("Secure") {
                let guest = rng.pick(&org.guests);
                extra.push(("TargetUserOrGroupName", s(&guest.upn)));
                extra.push(("TargetUserOrGroupType", s("Guest")));
            }
            (
                op,
                if onedrive { "OneDrive" } else { "SharePoint" },
                "SharePointFileOperation",
                site,
                file,
                extra,
            )
        } else if roll < 70 {
            let team = *rng.pick(&[
                "Finance Team",
                "Project Falcon",
                "IT Operations",
                "Sales EMEA",
            ]);
            let op = *rng.pick(&[
                "MemberAdded",
                "MemberAdded",
                "ChannelAdded",
                "TeamCreated",
                "AppInstalled",
                "MemberRoleChanged",
                "MemberRemoved",
            ]);
            let mut extra = vec![("TeamName", s(team)), ("CommunicationType", s("Team"))];
            if op.starts_with("Member") {
                let guest_add = rng.chance(0.4);
                let member = if guest_add {
                    let guest = rng.pick(&org.guests);
                    json!([{"UPN": guest.upn, "Role": 3, "DisplayName": guest.display_name}])
                } else {
                    let m = rng.pick(&org.users);
                    json!([{"UPN": m.upn, "Role": 1, "DisplayName": m.display_name}])
                };
                extra.push(("Members", dy(member)));
            }
            if op == "AppInstalled" {
                extra.push(("AddonName", s("Polls")));
                extra.push(("AzureADAppId", s("8a5a3f3b-0000-4b1e-9c2d-7d1f0e3c2b11")));
            }
            (
                op,
                "MicrosoftTeams",
                "MicrosoftTeams",
                String::new(),
                String::new(),
                extra,
            )
        } else {
            let op = *rng.pick(&[
                "MailItemsAccessed",
                "MailItemsAccessed",
                "MailItemsAccessed",
                "Send",
                "Update",
                "Set-Mailbox",
                "New-InboxRule",
                "Add-MailboxPermission",
                "SendAs",
            ]);
            let record = match op {
                "Set-Mailbox" | "New-InboxRule" | "Add-MailboxPermission" => "ExchangeAdmin",
                "MailItemsAccessed" => "ExchangeItemAggregated",
                _ => "ExchangeItem",
            };
            (
                op,
                "Exchange",
                record,
                String::new(),
                String::new(),
                Vec::new(),
            )
        };
        let parameters = match operation {
            "New-InboxRule" => json!([{"Name": "Name", "Value": "Newsletters"},
                                      {"Name": "From", "Value": "newsletter@wingtiptoys.com"},
                                      {"Name": "MoveToFolder", "Value": "Newsletters"}]),
            "Set-Mailbox" => json!([{"Name": "Identity", "Value": u.upn},
                                    {"Name": "AuditEnabled", "Value": "True"}]),
            "Add-MailboxPermission" => {
                json!([{"Name": "Identity", "Value": "shared-finance@contoso.com"},
                                              {"Name": "User", "Value": u.upn},
                                              {"Name": "AccessRights", "Value": "FullAccess"}])
            }
            _ => serde_json::Value::Null,
        };
        rows::office_activity(
            g,
            rng,
            O365 {
                time,
                user: u.into(),
                operation,
                workload,
                record_type: record,
                ip,
                user_agent: rows::ORG_USER_AGENT,
                site: &site,
                file: &file,
                parameters,
                extra,
            },
        );
    }
    // IT checks the malware scanning of SharePoint with the EICAR test file.
    let it = &org.users[0];
    for k in 0..2 {
        rows::office_activity(
            g,
            rng,
            O365 {
                time: g.now - (3 + 5 * k) * DAY - 4 * HOUR,
                user: it.into(),
                operation: "FileMalwareDetected",
                workload: "SharePoint",
                record_type: "SharePointFileOperation",
                ip: egress(it),
                user_agent: rows::ORG_USER_AGENT,
                site: &format!("{SHAREPOINT}/sites/IT/"),
                file: "eicar.com",
                parameters: serde_json::Value::Null,
                extra: Vec::new(),
            },
        );
    }
    // Guests reach the shared files too.
    for guest in &org.guests {
        let time = g.now - rng.range(HOUR, SPAN);
        let site = format!("{SHAREPOINT}/sites/Partners/");
        rows::office_activity(
            g,
            rng,
            O365 {
                time,
                user: Signer {
                    display_name: &guest.display_name,
                    upn: &guest.upn,
                    object_id: &guest.object_id,
                    guest: true,
                },
                operation: "FileDownloaded",
                workload: "SharePoint",
                record_type: "SharePointFileOperation",
                ip: "192.0.2.80",
                user_agent: rows::ORG_USER_AGENT,
                site: &site,
                file: "partner-pricing.xlsx",
                parameters: serde_json::Value::Null,
                extra: Vec::new(),
            },
        );
    }
}

/// Azure control-plane operations: `(OperationNameValue, OperationName, Category)`.
const AZURE_OPS: [(&str, &str, &str); 8] = [
    (
        "MICROSOFT.COMPUTE/VIRTUALMACHINES/START/ACTION",
        "Start Virtual Machine",
        "Administrative",
    ),
    (
        "MICROSOFT.COMPUTE/VIRTUALMACHINES/DEALLOCATE/ACTION",
        "Deallocate Virtual Machine",
        "Administrative",
    ),
    (
        "MICROSOFT.STORAGE/STORAGEACCOUNTS/LISTKEYS/ACTION",
        "List Storage Account Keys",
        "Administrative",
    ),
    (
        "MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE",
        "Create role assignment",
        "Administrative",
    ),
    (
        "MICROSOFT.AUTHORIZATION/LOCKS/WRITE",
        "Create management locks",
        "Administrative",
    ),
    (
        "MICROSOFT.KEYVAULT/VAULTS/WRITE",
        "Update Key Vault",
        "Administrative",
    ),
    (
        "MICROSOFT.RESOURCES/DEPLOYMENTS/WRITE",
        "Create Deployment",
        "Administrative",
    ),
    (
        "MICROSOFT.SECURITY/POLICIES/WRITE",
        "Update security policy",
        "Policy",
    ),
];

pub(super) fn azure(g: &mut Gen, org: &Org, rng: &mut Rng, n: usize) {
    for k in 0..n {
        let time = any_time(g, rng);
        if k % 2 == 0 {
            let &(value, name, category) = rng.pick(&AZURE_OPS);
            let admin = &org.users[rng.below(2)];
            let by_pipeline = rng.chance(0.3);
            let caller = if by_pipeline {
                org.service_principals[2].app_id.clone()
            } else {
                admin.upn.clone()
            };
            let caller_ip = if by_pipeline {
                "20.42.65.92"
            } else {
                egress(admin)
            };
            let rg = *rng.pick(&["prod-app-rg", "shared-rg", "soc-rg"]);
            let resource = format!(
                "/subscriptions/{SUBSCRIPTION}/resourceGroups/{rg}/providers/{}",
                value
                    .rsplit_once('/')
                    .map_or("", |(p, _)| p)
                    .to_ascii_lowercase()
            );
            let correlation = rng.guid_string();
            for (status, sub) in [("Started", ""), ("Succeeded", "OK")] {
                g.push(
                    "AzureActivity",
                    [
                        ("TimeGenerated", dt(time + if status == "Started" { 0 } else { 30 * super::super::SECOND })),
                        ("OperationNameValue", s(value)),
                        ("OperationName", s(name)),
                        ("Category", s(category)),
                        ("CategoryValue", s(category)),
                        ("ActivityStatus", s(status)),
                        ("ActivityStatusValue", s(if status == "Started" { "Start" } else { "Success" })),
                        ("ActivitySubstatus", s(sub)),
                        ("ActivitySubstatusValue", s(if sub.is_empty() { "" } else { "OK (HTTP Status Code: 200)" })),
                        ("Caller", s(&caller)),
                        ("CallerIpAddress", s(caller_ip)),
                        ("CorrelationId", s(&correlation)),
                        ("EventDataId", s(rng.guid_string())),
                        ("EventSubmissionTimestamp", dt(time + MINUTE)),
                        ("Level", s("Informational")),
                        ("OperationId", s(&correlation)),
                        ("ResourceGroup", s(rg)),
                        ("ResourceProviderValue", s(value.split('/').next().unwrap_or_default())),
                        ("ResourceId", s(&resource)),
                        ("_ResourceId", s(resource.to_ascii_lowercase())),
                        ("SubscriptionId", s(SUBSCRIPTION)),
                        ("_SubscriptionId", s(SUBSCRIPTION)),
                        ("Authorization", s(json!({"action": value, "scope": resource}).to_string())),
                        ("Authorization_d", dy(json!({"action": value, "scope": resource}))),
                        ("Properties", s(json!({"statusCode": if status == "Started" { "Created" } else { "OK" }}).to_string())),
                        ("Properties_d", dy(json!({"statusCode": if status == "Started" { "Created" } else { "OK" }}))),
                        ("Claims_d", dy(json!({"ipaddr": caller_ip}))),
                        ("Hierarchy", s(format!("{TENANT_ID}/{SUBSCRIPTION}"))),
                        ("SourceSystem", s("Azure")),
                    ],
                );
            }
        } else if k % 4 == 1 {
            let identity = &org.service_principals[4];
            let operation =
                *rng.pick(&["SecretGet", "SecretGet", "VaultGet", "KeyGet", "SecretList"]);
            g.push(
                "AzureDiagnostics",
                [
                    ("TimeGenerated", dt(time)),
                    ("ResourceType", s("VAULTS")),
                    ("ResourceProvider", s("MICROSOFT.KEYVAULT")),
                    ("Resource", s("KV-CONTOSO-PROD")),
                    ("ResourceGroup", s("PROD-APP-RG")),
                    ("_ResourceId", s(format!("/subscriptions/{SUBSCRIPTION}/resourcegroups/prod-app-rg/providers/microsoft.keyvault/vaults/kv-contoso-prod"))),
                    ("SubscriptionId", s(SUBSCRIPTION)),
                    ("Category", s("AuditEvent")),
                    ("OperationName", s(operation)),
                    ("OperationVersion", s("7.4")),
                    ("ResultType", s("Success")),
                    ("ResultSignature", s("OK")),
                    ("DurationMs", long(12 + rng.below(40) as i64)),
                    ("CallerIPAddress", s(identity.ip)),
                    ("CorrelationId", s(rng.guid_string())),
                    ("id_s", s("https://kv-contoso-prod.vault.azure.net/secrets/invoice-db")),
                    ("identity_claim_appid_g", s(&identity.app_id)),
                    ("identity_claim_ipaddr_s", s(identity.ip)),
                    ("requestUri_s", s("https://kv-contoso-prod.vault.azure.net/secrets/invoice-db?api-version=7.4")),
                    ("httpStatusCode_d", real(200.0)),
                    ("clientInfo_s", s("azsdk-net-Security.KeyVault.Secrets/4.5.0")),
                    ("isAccessPolicyMatch_b", boolean(true)),
                    ("TenantId", s(TENANT_ID)),
                    ("SourceSystem", s("Azure")),
                ],
            );
        } else {
            let client = format!("192.0.2.{}", 150 + rng.below(100));
            let (rule, action, uri) = *rng.pick(&[
                ("", "Allowed", "/api/orders"),
                ("", "Allowed", "/login"),
                ("942100", "Matched", "/search?q=1%27%20OR%201=1"),
                ("920350", "Detected", "/"),
                ("932100", "Blocked", "/cgi-bin/test.sh"),
            ]);
            g.push(
                "AzureDiagnostics",
                [
                    ("TimeGenerated", dt(time)),
                    ("ResourceType", s("APPLICATIONGATEWAYS")),
                    ("ResourceProvider", s("MICROSOFT.NETWORK")),
                    ("Resource", s("AGW-CONTOSO-WEB")),
                    ("ResourceGroup", s("PROD-APP-RG")),
                    ("SubscriptionId", s(SUBSCRIPTION)),
                    (
                        "Category",
                        s(if rule.is_empty() {
                            "ApplicationGatewayAccessLog"
                        } else {
                            "ApplicationGatewayFirewallLog"
                        }),
                    ),
                    (
                        "OperationName",
                        s(if rule.is_empty() {
                            "ApplicationGatewayAccess"
                        } else {
                            "ApplicationGatewayFirewall"
                        }),
                    ),
                    ("clientIP_s", s(&client)),
                    ("clientIp_s", s(&client)),
                    ("host_s", s("shop.contoso.com")),
                    ("requestUri_s", s(uri)),
                    ("httpMethod_s", s("GET")),
                    (
                        "httpStatus_d",
                        real(if action == "Blocked" { 403.0 } else { 200.0 }),
                    ),
                    ("action_s", s(action)),
                    (
                        "ruleName_s",
                        s(if rule.is_empty() { "" } else { "OWASP_3.2" }),
                    ),
                    ("TenantId", s(TENANT_ID)),
                    ("SourceSystem", s("Azure")),
                ],
            );
        }
    }
}

/// The organisation's apps calling Microsoft Graph.
pub(super) fn graph(g: &mut Gen, org: &Org, rng: &mut Rng, n: usize) {
    for _ in 0..n {
        let sp = rng.pick(&org.service_principals[..4]);
        let time = any_time(g, rng);
        let (path, method) = *rng.pick(&[
            ("users?$select=id,displayName,mail", "GET"),
            ("groups", "GET"),
            ("users/delta", "GET"),
            ("me/messages", "GET"),
            ("subscriptions", "POST"),
        ]);
        let uri = format!("https://graph.microsoft.com/v1.0/{path}");
        let request = rng.guid_string();
        let size = 2_000 + rng.range(0, 80_000) as i32;
        let status = if rng.chance(0.97) { 200 } else { 429 };
        g.push(
            "MicrosoftGraphActivityLogs",
            [
                ("TimeGenerated", dt(time)),
                ("AadTenantId", s(TENANT_ID)),
                ("ApiVersion", s("v1.0")),
                ("AppId", s(&sp.app_id)),
                ("ClientAuthMethod", int(2)),
                ("ClientRequestId", s(&request)),
                ("DurationMs", int(40 + rng.below(300) as i32)),
                (
                    "IdentityProvider",
                    s(format!("https://sts.windows.net/{TENANT_ID}/")),
                ),
                ("IPAddress", s(sp.ip)),
                ("Location", s("East US")),
                ("OperationId", s(&request)),
                ("RequestId", s(&request)),
                ("RequestMethod", s(method)),
                ("RequestUri", s(&uri)),
                ("ResponseSizeBytes", int(size)),
                ("ResponseStatusCode", int(status)),
                ("Roles", s("User.Read.All Group.Read.All")),
                ("Scopes", s("")),
                ("ServicePrincipalId", s(&sp.object_id)),
                ("SignInActivityId", s(rng.hex(22))),
                ("SourceSystem", s("Azure AD")),
                ("TokenIssuedAt", dt(time - 20 * MINUTE)),
                ("UserAgent", s("Microsoft Graph .NET SDK/5.56.0")),
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
                ("ApplicationId", s(&sp.app_id)),
                ("IPAddress", s(sp.ip)),
                ("ClientRequestId", s(&request)),
                ("EntityType", s("application")),
                ("RequestUri", s(&uri)),
                ("OperationId", s(&request)),
                ("Location", s("East US")),
                ("RequestDuration", s("85")),
                ("RequestId", s(&request)),
                ("RequestMethod", s(method)),
                ("ResponseStatusCode", s(status.to_string())),
                ("Scopes", s("")),
                ("TargetWorkload", s("Microsoft.DirectoryServices")),
                ("ServicePrincipalId", s(&sp.object_id)),
                ("ResponseSize", int(size)),
            ],
        );
    }
}

/// The OAuth apps with access to Microsoft 365 (app governance) and the exposure graph's view of
/// who can reach what.
pub(super) fn apps(g: &mut Gen, org: &Org, rng: &mut Rng, _n: usize) {
    let time = g.now - 2 * HOUR;
    for (k, sp) in org
        .service_principals
        .iter()
        .filter(|sp| !sp.managed)
        .enumerate()
    {
        let (privilege, permission, external) = match k {
            0 => ("High", "User.ReadWrite.All", false),
            1 => ("High", "Mail.ReadWrite", true),
            2 => ("Medium", "Application.ReadWrite.OwnedBy", false),
            _ => ("Low", "User.Read", false),
        };
        g.push(
            "OAuthAppInfo",
            [
                ("ReportId", s(rng.guid_string())),
                ("Timestamp", dt(time)),
                ("OAuthAppId", s(&sp.app_id)),
                ("ServicePrincipalId", s(&sp.object_id)),
                ("AppName", s(sp.name)),
                ("AddedOnTime", dt(g.now - (200 + k as i64 * 40) * DAY)),
                ("LastModifiedTime", dt(time - 3 * DAY)),
                ("AppStatus", s("Enabled")),
                (
                    "VerifiedPublisher",
                    dy(if external {
                        json!({"DisplayName": "Veeam Software", "VerifiedPublisherId": "5031234", "AddedDateTime": "2021-04-01T00:00:00Z"})
                    } else {
                        json!({})
                    }),
                ),
                ("PrivilegeLevel", s(privilege)),
                (
                    "Permissions",
                    dy(json!([{"PermissionValue": permission, "TargetAppId": "00000003-0000-0000-c000-000000000000",
                               "TargetAppDisplayName": "Microsoft Graph", "PermissionType": "Application",
                               "PrivilegeLevel": privilege, "UsageStatus": "InUse"}])),
                ),
                ("ConsentedUsersCount", int(0)),
                ("IsAdminConsented", boolean(true)),
                ("AppOrigin", s(if external { "External" } else { "Internal" })),
                ("LastUsedTime", dt(time - HOUR)),
                (
                    "AppOwnerTenantId",
                    s(if external { "0b0d6d0c-0000-4c4b-8a6f-2f1e3d4c5b6a" } else { TENANT_ID }),
                ),
                ("RiskScore", int(if privilege == "High" { 60 } else { 10 })),
                ("AssignedRoles", dy(json!([]))),
            ],
        );
    }
    for u in &org.users {
        for (label, target, kind) in [
            (
                "has permissions to",
                "kv-contoso-prod",
                "microsoft.keyvault/vaults",
            ),
            ("member of", u.department, "group"),
            ("can authenticate to", "wks-001", "device"),
        ] {
            if label == "has permissions to" && !u.admin {
                continue;
            }
            let target = if kind == "device" {
                org.workstation_of(u).short.as_str()
            } else {
                target
            };
            g.push(
                "ExposureGraphEdges",
                [
                    ("EdgeId", s(rng.guid_string())),
                    ("EdgeLabel", s(label)),
                    ("SourceNodeId", s(&u.object_id)),
                    ("SourceNodeName", s(&u.display_name)),
                    ("SourceNodeLabel", s("user")),
                    ("SourceNodeCategories", dy(json!(["identity"]))),
                    ("TargetNodeId", s(format!("{kind}/{target}"))),
                    ("TargetNodeName", s(target)),
                    (
                        "TargetNodeLabel",
                        s(if kind == "group" { "group" } else if kind == "device" { "device" } else { kind }),
                    ),
                    (
                        "TargetNodeCategories",
                        dy(json!([if kind == "device" { "device" } else if kind == "group" { "identity" } else { "keyvault" }])),
                    ),
                    (
                        "EdgeProperties",
                        dy(json!({"rawData": {"permissions": {"roles": [{"name": if u.admin { "Key Vault Administrator" } else { "Reader" }}]}}})),
                    ),
                ],
            );
        }
    }
}

/// The SOC's queries (LAQueryLogs) and its threat intelligence feed of unrelated indicators.
pub(super) fn sentinel_usage(g: &mut Gen, org: &Org, rng: &mut Rng, n: usize) {
    let analysts = [&org.users[1], org.user("jlee")];
    for k in 0..n {
        let time = office_time(g, rng, 0);
        if k % 3 == 0 {
            let indicator = format!("198.18.{}.{}", rng.below(256), rng.below(256));
            g.push(
                "ThreatIntelligenceIndicator",
                [
                    ("TimeGenerated", dt(time)),
                    ("SourceSystem", s("SecurityGraph")),
                    ("Action", s("alert")),
                    ("Active", boolean(true)),
                    ("ConfidenceScore", real(50.0 + rng.below(50) as f64)),
                    ("Description", s("Known scanning infrastructure")),
                    ("ExpirationDateTime", dt(time + 30 * DAY)),
                    (
                        "ExternalIndicatorId",
                        s(format!("indicator--{}", rng.guid_string())),
                    ),
                    ("IndicatorId", s(rng.hex(64))),
                    ("IndicatorProvider", s("Microsoft Threat Intelligence")),
                    ("NetworkIP", s(&indicator)),
                    ("ThreatSeverity", int(2)),
                    ("ThreatType", s("WatchList")),
                    ("TrafficLightProtocolLevel", s("white")),
                    ("Tags", s("[]")),
                ],
            );
        } else {
            let analyst = rng.pick(&analysts);
            let query = *rng.pick(&[
                "SecurityIncident | summarize arg_max(TimeGenerated, *) by IncidentNumber | where Status != \"Closed\"",
                "SigninLogs | where ResultType != \"0\" | summarize count() by UserPrincipalName",
                "DeviceProcessEvents | where ProcessCommandLine has \"-enc\"",
                "OfficeActivity | where Operation == \"New-InboxRule\"",
            ]);
            g.push(
                "LAQueryLogs",
                [
                    ("TimeGenerated", dt(time)),
                    ("AADClientId", s("95a5d94c-a1a0-40eb-ac6d-48c5bdee96d5")),
                    ("AADEmail", s(&analyst.upn)),
                    ("AADObjectId", s(&analyst.object_id)),
                    ("AADTenantId", s(TENANT_ID)),
                    ("CorrelationId", s(rng.guid_string())),
                    ("IsBillableQuery", boolean(false)),
                    ("IsWorkspaceInFailover", boolean(false)),
                    ("QueryText", s(query)),
                    ("QueryTimeRangeStart", dt(time - DAY)),
                    ("QueryTimeRangeEnd", dt(time)),
                    ("RequestClientApp", s("ASI_Portal")),
                    ("RequestContext", dy(json!({"workspaces": [format!("/subscriptions/{SUBSCRIPTION}/resourceGroups/soc-rg/providers/Microsoft.OperationalInsights/workspaces/contoso-sentinel")]}))),
                    ("RequestTarget", s(format!("/subscriptions/{SUBSCRIPTION}/resourceGroups/soc-rg/providers/Microsoft.OperationalInsights/workspaces/contoso-sentinel"))),
                    ("ResponseCode", int(200)),
                    ("ResponseDurationMs", real(200.0 + rng.below(3000) as f64)),
                    ("ResponseRowCount", int(rng.below(500) as i32)),
                    ("StatsCPUTimeMs", real(50.0 + rng.below(900) as f64)),
                    ("StatsRegionCount", int(1)),
                    ("StatsWorkspaceCount", int(1)),
                    ("WorkspaceRegion", s("westeurope")),
                    ("SourceSystem", s("Azure")),
                ],
            );
        }
    }
}

/// What the SOC and IT admins change in the Defender portal, as its audit records reach
/// CloudAppEvents: `(action, workload, object, fields the record adds)`.
fn portal_changes() -> [(&'static str, &'static str, &'static str, serde_json::Value); 9] {
    let rule = "Encoded PowerShell started by an Office app";
    let rule_query = "DeviceProcessEvents | where InitiatingProcessFileName in~ (\"winword.exe\", \"excel.exe\", \"outlook.exe\") | where ProcessCommandLine has_any (\"-enc\", \"-encodedcommand\")";
    let custom_rule = |status: &str| {
        json!({"RuleName": rule, "RuleId": "4127", "Query": rule_query,
               "AlertTitle": "Encoded PowerShell from Office", "AlertCategory": "Execution",
               "AlertSeverity": "Medium", "MitreTechniques": ["T1059.001", "T1204.002"],
               "RuleFrequency": "1h", "IsEnabled": status == "enabled"})
    };
    [
        (
            "SetAdvancedFeatures",
            "MicrosoftDefenderATP",
            "Live Response unsigned script execution",
            json!({"SettingName": "Live Response unsigned script execution",
                   "SettingsOldValue": true, "SettingsNewValue": false}),
        ),
        (
            "SetAdvancedFeatures",
            "MicrosoftDefenderATP",
            "Allow or block file",
            json!({"SettingName": "Allow or block file", "SettingsOldValue": false,
                   "SettingsNewValue": true}),
        ),
        (
            "CreateCustomDetection",
            "Microsoft365Defender",
            rule,
            custom_rule("enabled"),
        ),
        (
            "EditCustomDetection",
            "Microsoft365Defender",
            rule,
            custom_rule("enabled"),
        ),
        (
            "DeleteCustomDetection",
            "Microsoft365Defender",
            "TEST - EICAR download",
            json!({"RuleName": "TEST - EICAR download", "RuleId": "4088",
                   "Query": "DeviceFileEvents | where FileName =~ \"eicar.com\"",
                   "AlertDescription": "Test rule for the EICAR file; no longer needed"}),
        ),
        (
            "EditRole",
            "Microsoft365Defender",
            "SOC Tier 1",
            json!({"RoleName": "SOC Tier 1",
                   "RolePermissions": "Security operations: Security data basics (read), Alerts (manage), Response (manage)",
                   "AssignedGroups": "SG-SOC-Tier1"}),
        ),
        (
            "DownloadOffboardingPkg",
            "MicrosoftDefenderATP",
            "WindowsServer2019",
            json!({"OsPlatform": "Windows Server 2019", "DeploymentMethod": "Group Policy"}),
        ),
        (
            "SensorDeleted",
            "MicrosoftDefenderForIdentity",
            "SRV-DC00",
            json!({"ResultDescription": "Sensor SRV-DC00 (decommissioned domain controller) deleted"}),
        ),
        (
            "Write AlertsSuppressionRules",
            "MicrosoftDefenderForCloud",
            "Suppress-VA-scanner-srv-app01",
            json!({"RuleName": "Suppress-VA-scanner-srv-app01",
                   "AlertType": "VM_SuspiciousScanActivity", "State": "Enabled",
                   "Comment": "Nessus scans from 10.20.0.40 every Sunday"}),
        ),
    ]
}

/// The admins' changes in the Defender portal, spread over the span (a fixed handful).
pub(super) fn security_admin(g: &mut Gen, org: &Org, rng: &mut Rng, _n: usize) {
    for (k, (action, workload, object, fields)) in portal_changes().into_iter().enumerate() {
        let admin = &org.users[k % 2];
        let time = office_time(g, rng, admin.office);
        let mut raw = json!({"CreationTime": super::super::iso(time), "Id": rng.guid_string(),
                             "Operation": action, "OrganizationId": TENANT_ID, "UserKey": admin.object_id,
                             "UserType": 2, "Workload": workload, "UserId": admin.upn,
                             "ClientIP": egress(admin), "ResultStatus": "Success"});
        if let (Some(raw), Some(fields)) = (raw.as_object_mut(), fields.as_object()) {
            raw.extend(fields.clone());
        }
        rows::cloud_app_event(
            g,
            rows::CloudApp {
                time,
                action,
                application: "Microsoft Defender XDR",
                application_id: 0,
                account: (&admin.display_name, &admin.upn, &admin.object_id),
                ip: egress(admin),
                activity_type: "Edit",
                object_name: object,
                object_type: "Setting",
                raw,
                user_agent: rows::ORG_USER_AGENT,
                admin: true,
            },
        );
    }
}

/// The workspace's hourly ingestion per table (Usage), newest hour first: `(table, solution,
/// MB per hour, billable)`.
const INGESTION: [(&str, &str, f64, bool); 10] = [
    ("CommonSecurityLog", "Security", 58.0, true),
    ("SecurityEvent", "Security", 41.0, true),
    ("DeviceNetworkEvents", "SecurityInsights", 37.0, true),
    ("DeviceProcessEvents", "SecurityInsights", 26.0, true),
    ("DeviceFileEvents", "SecurityInsights", 19.0, true),
    ("AzureDiagnostics", "LogManagement", 11.0, true),
    ("SigninLogs", "SecurityInsights", 4.2, true),
    ("OfficeActivity", "SecurityInsights", 3.1, false),
    ("AzureActivity", "LogManagement", 0.8, false),
    ("SecurityAlert", "SecurityInsights", 0.05, false),
];

/// `n` hourly Usage records, the newest hours first.
pub(super) fn workspace_usage(g: &mut Gen, _org: &Org, rng: &mut Rng, n: usize) {
    let last_hour = g.now.div_euclid(HOUR) * HOUR;
    for k in 0..n {
        let (table, solution, mb, billable) = INGESTION[k % INGESTION.len()];
        let start = last_hour - (1 + (k / INGESTION.len()) as i64) * HOUR;
        let batches = rng.range(40, 400);
        g.push(
            "Usage",
            [
                ("TimeGenerated", dt(start + HOUR - MINUTE)),
                (
                    "AvgLatencyInSeconds",
                    real(20.0 + rng.below(200) as f64 / 4.0),
                ),
                ("BatchesCapped", long(0)),
                ("BatchesOutsideSla", long(0)),
                ("BatchesWithinSla", long(batches)),
                ("TotalBatches", long(batches)),
                ("DataType", s(table)),
                ("StartTime", dt(start)),
                ("EndTime", dt(start + HOUR)),
                ("IsBillable", boolean(billable)),
                (
                    "Quantity",
                    real((mb * (600.0 + rng.below(800) as f64)).round() / 1000.0),
                ),
                ("QuantityUnit", s("MBytes")),
                ("ResourceUri", s(super::super::sentinel::workspace())),
                ("Solution", s(solution)),
                ("SourceSystem", s("OMS")),
            ],
        );
    }
}
