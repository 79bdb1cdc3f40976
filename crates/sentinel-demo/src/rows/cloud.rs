//! Entra ID directory changes (AuditLogs) and Microsoft 365 activity (OfficeActivity), each as
//! Defender for Cloud Apps also sees it (CloudAppEvents).

use serde_json::{Value as Json, json};

use super::Signer;
use crate::org::OFFICES;
use crate::{Gen, Rng, boolean, dt, dy, int, long, s};
use kql::value::Value;

/// One Entra ID directory change: AuditLogs, and CloudAppEvents as Defender for Cloud Apps sees it.
pub(crate) struct Audit<'a> {
    pub time: i64,
    pub operation: &'a str,
    pub category: &'a str,
    pub service: &'a str,
    /// The user or app that acted: `InitiatedBy`.
    pub actor: Json,
    /// `(display name, UPN, object id)` of the actor, for CloudAppEvents.
    pub actor_account: (&'a str, &'a str, &'a str),
    pub actor_ip: &'a str,
    pub targets: Json,
    pub details: Json,
    pub result: &'a str,
    pub result_reason: &'a str,
}

pub(crate) fn audit(g: &mut Gen, rng: &mut Rng, a: Audit<'_>) {
    let correlation = rng.guid_string();
    let id = format!("Directory_{}", rng.hex(12));
    let operation_type = if a.operation.starts_with("Add")
        || a.operation.starts_with("Invite")
        || a.operation.starts_with("Consent")
        || a.operation.contains("registered")
    {
        "Add"
    } else if a.operation.starts_with("Delete") || a.operation.starts_with("Remove") {
        "Delete"
    } else {
        "Update"
    };
    if g.wants("AuditLogs") {
        g.push(
            "AuditLogs",
            [
                ("SourceSystem", s("Azure AD")),
                ("TimeGenerated", dt(a.time)),
                ("OperationName", s(a.operation)),
                ("OperationVersion", s("1.0")),
                ("Category", s(a.category)),
                ("ResultType", s("")),
                ("ResultSignature", s("None")),
                (
                    "ResultDescription",
                    s(if a.result == "success" { "" } else { "Failure" }),
                ),
                ("DurationMs", long(0)),
                ("CorrelationId", s(&correlation)),
                ("Identity", s(a.actor_account.0)),
                ("Level", s("4")),
                ("Location", s("EU")),
                ("AdditionalDetails", dy(a.details.clone())),
                ("Id", s(&id)),
                ("InitiatedBy", dy(a.actor.clone())),
                ("LoggedByService", s(a.service)),
                ("Result", s(a.result)),
                ("ResultReason", s(a.result_reason)),
                ("TargetResources", dy(a.targets.clone())),
                ("AADTenantId", s(crate::org::TENANT_ID)),
                ("ActivityDisplayName", s(a.operation)),
                ("ActivityDateTime", dt(a.time)),
                ("AADOperationType", s(operation_type)),
            ],
        );
    }
    if g.wants("CloudAppEvents") {
        let raw = json!({"CreationTime": crate::iso(a.time), "Id": id, "Operation": format!("{}.", a.operation),
                         "OrganizationId": crate::org::TENANT_ID, "RecordType": 8, "ResultStatus": a.result,
                         "UserKey": a.actor_account.2, "UserType": 0, "Workload": "AzureActiveDirectory",
                         "ClientIP": a.actor_ip, "ObjectId": a.targets.get(0).and_then(|t| t.get("userPrincipalName").or(t.get("displayName"))).cloned().unwrap_or(Json::Null),
                         "UserId": a.actor_account.1, "AzureActiveDirectoryEventType": 1,
                         "ModifiedProperties": a.targets.get(0).and_then(|t| t.get("modifiedProperties")).cloned().unwrap_or(json!([])),
                         "Target": a.targets, "Actor": [{"ID": a.actor_account.1, "Type": 5}]});
        cloud_app_event(
            g,
            CloudApp {
                time: a.time,
                action: &format!("{}.", a.operation),
                application: "Office 365",
                application_id: 11161,
                account: a.actor_account,
                ip: a.actor_ip,
                activity_type: if operation_type == "Add" {
                    "Create"
                } else {
                    "Edit"
                },
                object_name: "",
                object_type: "Account",
                raw,
                user_agent: "",
                admin: a.actor_account.1.is_empty() || operation_type != "Update",
            },
        );
    }
}

/// One CloudAppEvents row.
pub(crate) struct CloudApp<'a> {
    pub time: i64,
    pub action: &'a str,
    pub application: &'a str,
    pub application_id: i32,
    /// `(display name, UPN, object id)`.
    pub account: (&'a str, &'a str, &'a str),
    pub ip: &'a str,
    pub activity_type: &'a str,
    pub object_name: &'a str,
    pub object_type: &'a str,
    pub raw: Json,
    pub user_agent: &'a str,
    pub admin: bool,
}

pub(crate) fn cloud_app_event(g: &mut Gen, c: CloudApp<'_>) {
    let office = OFFICES.iter().find(|o| o.egress_ip == c.ip);
    let (country, city, isp) = match office {
        Some(o) => (o.country, o.city, "Contoso Networks"),
        None if c.ip.starts_with("203.0.113.") => ("NL", "Amsterdam", "Example Hosting B.V."),
        None => ("US", "Boydton", "Microsoft Azure"),
    };
    let report = format!(
        "{}{}",
        c.raw.get("Id").and_then(Json::as_str).unwrap_or("report"),
        c.time % 100_000
    );
    g.push(
        "CloudAppEvents",
        [
            ("Timestamp", dt(c.time)),
            ("ActionType", s(c.action)),
            ("Application", s(c.application)),
            ("ApplicationId", int(c.application_id)),
            ("AppInstanceId", int(0)),
            ("AccountObjectId", s(c.account.2)),
            ("AccountId", s(c.account.2)),
            ("AccountDisplayName", s(c.account.0)),
            ("IsAdminOperation", boolean(c.admin)),
            ("DeviceType", s(if c.user_agent.is_empty() { "" } else { "Desktop" })),
            (
                "OSPlatform",
                s(if c.user_agent.contains("Linux") {
                    "Linux"
                } else if c.user_agent.is_empty() {
                    ""
                } else {
                    "Windows 10"
                }),
            ),
            ("IPAddress", s(c.ip)),
            ("IsAnonymousProxy", boolean(false)),
            ("CountryCode", s(country)),
            ("City", s(city)),
            ("Isp", s(isp)),
            ("UserAgent", s(c.user_agent)),
            ("ActivityType", s(c.activity_type)),
            (
                "ActivityObjects",
                dy(json!([{"Type": c.object_type, "Name": c.object_name, "Role": "Target object"}])),
            ),
            ("ObjectName", s(c.object_name)),
            ("ObjectType", s(c.object_type)),
            ("ObjectId", s(c.object_name)),
            ("ReportId", s(report)),
            ("AccountType", s(if c.admin { "Admin" } else { "Regular" })),
            ("IsExternalUser", boolean(c.account.1.contains("#EXT#"))),
            (
                "IsImpersonated",
                boolean(matches!(c.action, "SendAs" | "SendOnBehalf")),
            ),
            ("IPTags", dy(json!([]))),
            ("IPCategory", s(if office.is_some() { "Corporate" } else { "" })),
            ("UserAgentTags", dy(json!([]))),
            ("RawEventData", dy(c.raw)),
            ("AdditionalFields", dy(json!({}))),
            ("LastSeenForUser", dy(json!({}))),
            ("UncommonForUser", dy(json!([]))),
            ("AuditSource", s("Defender for Cloud Apps app connector")),
            ("SessionData", dy(json!({}))),
            ("SourceSystem", s("")),
        ],
    );
}

/// One Microsoft 365 audit record: OfficeActivity (the Sentinel connector) and CloudAppEvents
/// (Defender for Cloud Apps).
pub(crate) struct O365<'a> {
    pub time: i64,
    pub user: Signer<'a>,
    pub operation: &'a str,
    /// `Exchange`, `SharePoint`, `OneDrive` or `MicrosoftTeams`.
    pub workload: &'a str,
    pub record_type: &'a str,
    pub ip: &'a str,
    pub user_agent: &'a str,
    /// Site URL for SharePoint and OneDrive.
    pub site: &'a str,
    pub file: &'a str,
    /// The cmdlet's parameters (Exchange admin records) as `[{"Name", "Value"}]`.
    pub parameters: Json,
    /// Extra OfficeActivity columns.
    pub extra: Vec<(&'a str, Value)>,
}

pub(crate) fn office_activity(g: &mut Gen, rng: &mut Rng, o: O365<'_>) {
    let id = rng.guid_string();
    let files = matches!(o.workload, "SharePoint" | "OneDrive");
    let object = if files {
        format!("{}Shared Documents/{}", o.site, o.file)
    } else if o.workload == "Exchange" {
        o.user.upn.to_string()
    } else {
        o.file.to_string()
    };
    let client_ip = if o.workload == "Exchange" && !o.ip.is_empty() {
        format!("{}:{}", o.ip, 40_000 + rng.below(20_000))
    } else {
        o.ip.to_string()
    };
    let params = if o.parameters.is_null() {
        String::new()
    } else {
        o.parameters.to_string()
    };
    if g.wants("OfficeActivity") {
        let fields = [
            ("TimeGenerated", dt(o.time)),
            ("RecordType", s(o.record_type)),
            ("Operation", s(o.operation)),
            ("OrganizationId", s(crate::org::TENANT_ID)),
            (
                "UserType",
                s(if o.user.guest { "Guest" } else { "Regular" }),
            ),
            ("UserKey", s(o.user.object_id)),
            ("OfficeWorkload", s(o.workload)),
            (
                "ResultStatus",
                s(if o.workload == "Exchange" {
                    "True"
                } else {
                    "Succeeded"
                }),
            ),
            ("OfficeObjectId", s(&object)),
            ("UserId", s(o.user.upn)),
            ("ClientIP", s(&client_ip)),
            ("UserAgent", s(o.user_agent)),
            ("Site_Url", s(o.site)),
            (
                "SourceRelativeUrl",
                s(if files { "Shared Documents" } else { "" }),
            ),
            ("SourceFileName", s(o.file)),
            (
                "SourceFileExtension",
                s(if files {
                    o.file.rsplit_once('.').map_or("", |(_, e)| e)
                } else {
                    ""
                }),
            ),
            ("ItemType", s(if files { "File" } else { "" })),
            ("EventSource", s(if files { "SharePoint" } else { "" })),
            ("Parameters", s(&params)),
            (
                "MailboxOwnerUPN",
                s(if o.workload == "Exchange" {
                    o.user.upn
                } else {
                    ""
                }),
            ),
            ("ExternalAccess", s("false")),
            ("OfficeId", s(&id)),
            ("OfficeTenantId", s(crate::org::TENANT_ID)),
            ("SourceSystem", s("OfficeActivityManager")),
        ];
        g.push("OfficeActivity", fields.into_iter().chain(o.extra));
    }
    if g.wants("CloudAppEvents") {
        let (application, app_id) = match o.workload {
            "Exchange" => ("Microsoft Exchange Online", 20893),
            "SharePoint" => ("Microsoft SharePoint Online", 20892),
            "OneDrive" => ("Microsoft OneDrive for Business", 15600),
            _ => ("Microsoft Teams", 28375),
        };
        let mut raw = json!({"CreationTime": crate::iso(o.time), "Id": id, "Operation": o.operation,
                             "OrganizationId": crate::org::TENANT_ID, "RecordType": o.record_type,
                             "UserKey": o.user.object_id, "Workload": o.workload, "ClientIP": client_ip,
                             "UserId": o.user.upn, "ObjectId": object});
        if !params.is_empty() {
            raw["Parameters"] = o.parameters.clone();
        }
        if files {
            raw["SourceFileName"] = json!(o.file);
            raw["SiteUrl"] = json!(o.site);
        }
        let activity = match o.operation {
            "FileDownloaded" | "FileSyncDownloadedFull" => "Download",
            "FileUploaded" => "Upload",
            "FileAccessed" | "FilePreviewed" | "MailItemsAccessed" => "Read",
            "Send" => "Send",
            _ => "Edit",
        };
        cloud_app_event(
            g,
            CloudApp {
                time: o.time,
                action: o.operation,
                application,
                application_id: app_id,
                account: (o.user.display_name, o.user.upn, o.user.object_id),
                ip: o.ip,
                activity_type: activity,
                object_name: if files { o.file } else { o.user.upn },
                object_type: if files { "File" } else { "Mailbox" },
                raw,
                user_agent: o.user_agent,
                admin: o.record_type == "ExchangeAdmin" && o.operation != "New-InboxRule",
            },
        );
    }
}
