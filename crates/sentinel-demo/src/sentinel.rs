//! Alerts and incidents: SecurityAlert and SecurityIncident as Sentinel writes them, and the same
//! alerts in Defender XDR's AlertInfo and AlertEvidence.

use serde_json::{Value as Json, json};

use super::org::{DOMAIN, Device, NETBIOS, SUBSCRIPTION, User};
use super::{Gen, MINUTE, Rng, boolean, dt, dy, int, iso, real, s};
use kql::value::Value;

const PORTAL: &str = "https://portal.azure.com/#asset/Microsoft_Azure_Security_Insights/Incident";
const WORKSPACE_RG: &str = "soc-rg";

/// The Sentinel workspace's resource id.
pub(super) fn workspace() -> String {
    format!(
        "/subscriptions/{SUBSCRIPTION}/resourceGroups/{WORKSPACE_RG}/providers/Microsoft.OperationalInsights/workspaces/contoso-sentinel"
    )
}

/// Which product raised an alert.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Product {
    IdentityProtection,
    CloudApps,
    Endpoint,
    Office,
    Identity,
    Scheduled,
}

impl Product {
    /// `(ProviderName, ProductName, ProductComponentName)` in SecurityAlert.
    fn names(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Product::IdentityProtection => {
                ("IPC", "Azure Active Directory Identity Protection", "")
            }
            Product::CloudApps => ("MCAS", "Microsoft Cloud App Security", ""),
            Product::Endpoint => ("MDATP", "Microsoft Defender Advanced Threat Protection", ""),
            Product::Office => ("OATP", "Office 365 Advanced Threat Protection", ""),
            Product::Identity => (
                "Azure Advanced Threat Protection",
                "Azure Advanced Threat Protection",
                "",
            ),
            Product::Scheduled => ("ASI Scheduled Alerts", "Azure Sentinel", "Scheduled Alerts"),
        }
    }

    /// `(ServiceSource, DetectionSource)` in AlertInfo and AlertEvidence.
    fn sources(self) -> (&'static str, &'static str) {
        match self {
            Product::IdentityProtection => (
                "Microsoft Entra ID Protection",
                "Microsoft Entra ID Protection",
            ),
            Product::CloudApps => (
                "Microsoft Defender for Cloud Apps",
                "Microsoft Defender for Cloud Apps",
            ),
            Product::Endpoint => ("Microsoft Defender for Endpoint", "EDR"),
            Product::Office => (
                "Microsoft Defender for Office 365",
                "Microsoft Defender for Office 365",
            ),
            Product::Identity => (
                "Microsoft Defender for Identity",
                "Microsoft Defender for Identity",
            ),
            Product::Scheduled => ("Microsoft Sentinel", "Scheduled Alerts"),
        }
    }
}

/// An entity as Sentinel serialises it in `SecurityAlert.Entities`.
pub(super) fn account(u: &User) -> Json {
    json!({"Name": u.sam, "UPNSuffix": DOMAIN, "AadUserId": u.object_id, "Sid": u.sid,
           "NTDomain": NETBIOS.to_ascii_uppercase(), "DisplayName": u.display_name, "Type": "account"})
}

pub(super) fn host(d: &Device) -> Json {
    json!({"HostName": d.short, "DnsDomain": DOMAIN, "MdatpDeviceId": d.device_id,
           "OSFamily": if d.linux { "Linux" } else { "Windows" }, "Type": "host"})
}

pub(super) fn ip(address: &str) -> Json {
    json!({"Address": address, "Type": "ip"})
}

pub(super) fn process(command_line: &str, pid: i64) -> Json {
    json!({"ProcessId": pid.to_string(), "CommandLine": command_line, "Type": "process"})
}

pub(super) fn file(name: &str, directory: &str, sha256: &str) -> Json {
    json!({"Name": name, "Directory": directory,
           "FileHashes": [{"Algorithm": "SHA256", "Value": sha256, "Type": "filehash"}], "Type": "file"})
}

pub(super) fn mailbox(u: &User) -> Json {
    json!({"MailboxPrimaryAddress": u.upn, "DisplayName": u.display_name, "Upn": u.upn,
           "AadId": u.object_id, "Type": "mailbox"})
}

/// One alert to write.
pub(super) struct Alert<'a> {
    pub name: &'a str,
    pub severity: &'a str,
    pub product: Product,
    pub description: &'a str,
    pub tactics: &'a str,
    pub techniques: &'a [&'a str],
    pub compromised: &'a str,
    pub entities: Vec<Json>,
    pub start: i64,
    pub end: i64,
}

/// The AlertEvidence columns of one entity: `(EntityType, EvidenceRole, fields)`.
fn evidence(e: &Json) -> (&'static str, Vec<(&'static str, Value)>) {
    let text = |k: &str| s(e.get(k).and_then(Json::as_str).unwrap_or_default());
    match e.get("Type").and_then(Json::as_str).unwrap_or_default() {
        "account" => (
            "User",
            vec![
                ("AccountName", text("Name")),
                ("AccountDomain", s(NETBIOS)),
                ("AccountSid", text("Sid")),
                ("AccountObjectId", text("AadUserId")),
                (
                    "AccountUpn",
                    s(format!(
                        "{}@{DOMAIN}",
                        e.get("Name").and_then(Json::as_str).unwrap_or_default()
                    )),
                ),
            ],
        ),
        "host" => (
            "Machine",
            vec![
                ("DeviceId", text("MdatpDeviceId")),
                (
                    "DeviceName",
                    s(format!(
                        "{}.{DOMAIN}",
                        e.get("HostName").and_then(Json::as_str).unwrap_or_default()
                    )),
                ),
            ],
        ),
        "ip" => ("Ip", vec![("RemoteIP", text("Address"))]),
        "process" => ("Process", vec![("ProcessCommandLine", text("CommandLine"))]),
        "file" => (
            "File",
            vec![
                ("FileName", text("Name")),
                ("FolderPath", text("Directory")),
                (
                    "SHA256",
                    s(e.pointer("/FileHashes/0/Value")
                        .and_then(Json::as_str)
                        .unwrap_or_default()),
                ),
            ],
        ),
        "mailbox" => (
            "Mailbox",
            vec![
                ("AccountUpn", text("Upn")),
                ("AccountObjectId", text("AadId")),
            ],
        ),
        "mailMessage" => (
            "MailMessage",
            vec![
                ("NetworkMessageId", text("NetworkMessageId")),
                ("EmailSubject", text("Subject")),
            ],
        ),
        "url" => ("Url", vec![("RemoteUrl", text("Url"))]),
        _ => ("Other", Vec::new()),
    }
}

/// MITRE ATT&CK technique names, as Defender writes them in `AttackTechniques`.
fn technique_name(id: &str) -> String {
    let name = match id {
        "T1110" => "Brute Force",
        "T1110.003" => "Password Spraying",
        "T1078" => "Valid Accounts",
        "T1564" => "Hide Artifacts",
        "T1564.008" => "Email Hiding Rules",
        "T1114" => "Email Collection",
        "T1059.001" => "PowerShell",
        "T1204.002" => "Malicious File",
        "T1021.001" => "Remote Desktop Protocol",
        "T1021.002" => "SMB/Windows Admin Shares",
        "T1570" => "Lateral Tool Transfer",
        "T1048" => "Exfiltration Over Alternative Protocol",
        "T1567.002" => "Exfiltration to Cloud Storage",
        "T1530" => "Data from Cloud Storage",
        "T1566.002" => "Spearphishing Link",
        "T1098" => "Account Manipulation",
        "T1547.001" => "Registry Run Keys / Startup Folder",
        "T1090" => "Proxy",
        "T1053.005" => "Scheduled Task",
        "T1087.002" => "Domain Account",
        _ => "Technique",
    };
    format!("{name} ({id})")
}

/// Writes one alert: its SecurityAlert row (generated a few minutes after its last activity) and
/// its AlertInfo and AlertEvidence rows; returns its SystemAlertId.
pub(super) fn write_alert(g: &mut Gen, rng: &mut Rng, a: Alert<'_>) -> String {
    let id = rng.guid_string();
    let vendor_id = rng.guid_string();
    let (provider, product, component) = a.product.names();
    let generated = (a.end + rng.range(2 * MINUTE, 6 * MINUTE)).min(g.now);
    let entities: Vec<Json> = a
        .entities
        .into_iter()
        .enumerate()
        .map(|(i, mut e)| {
            if let Some(obj) = e.as_object_mut() {
                obj.insert("$id".into(), Json::String((i + 2).to_string()));
            }
            e
        })
        .collect();
    let techniques = serde_json::to_string(a.techniques).unwrap_or_default();
    let extended = json!({"Alert generation status": "Full alert created",
                          "ProcessedBySentinel": "True", "Tactics": a.tactics});
    let (alert_id, link) = match a.product {
        Product::Endpoint => (
            format!("da{}", vendor_id.replace('-', "")),
            format!("https://security.microsoft.com/alerts/da{vendor_id}"),
        ),
        Product::Scheduled => (vendor_id.clone(), String::new()),
        _ => (
            vendor_id.clone(),
            format!("https://security.microsoft.com/alerts/{vendor_id}"),
        ),
    };
    let confidence = 0.5 + (rng.below(50) as f64) / 100.0;
    let alert_type = format!("{provider}_{}", a.name.replace(' ', ""));
    g.push(
        "SecurityAlert",
        [
            ("TimeGenerated", dt(generated)),
            ("DisplayName", s(a.name)),
            ("AlertName", s(a.name)),
            ("AlertSeverity", s(a.severity)),
            ("AlertType", s(&alert_type)),
            ("Description", s(a.description)),
            ("ProviderName", s(provider)),
            ("VendorName", s("Microsoft")),
            ("VendorOriginalId", s(&vendor_id)),
            ("SystemAlertId", s(&id)),
            ("ResourceId", s(workspace())),
            ("WorkspaceSubscriptionId", s(SUBSCRIPTION)),
            ("WorkspaceResourceGroup", s(WORKSPACE_RG)),
            ("ConfidenceLevel", s("Unknown")),
            ("ConfidenceScore", real(confidence)),
            ("IsIncident", boolean(false)),
            ("StartTime", dt(a.start)),
            ("EndTime", dt(a.end)),
            ("ProcessingEndTime", dt(generated)),
            ("ExtendedProperties", s(extended.to_string())),
            ("Entities", s(Json::Array(entities.clone()).to_string())),
            ("ProductName", s(product)),
            ("ProductComponentName", s(component)),
            ("AlertLink", s(link)),
            ("Status", s("New")),
            ("CompromisedEntity", s(a.compromised)),
            ("Tactics", s(a.tactics)),
            ("Techniques", s(&techniques)),
            ("SubTechniques", s("")),
        ],
    );
    let (service, detection) = a.product.sources();
    let category = a.tactics.split(',').next().unwrap_or_default().trim();
    let attack = serde_json::to_string(
        &a.techniques
            .iter()
            .map(|t| technique_name(t))
            .collect::<Vec<_>>(),
    )
    .unwrap_or_default();
    let common = || {
        [
            ("Timestamp", dt(generated)),
            ("AlertId", s(&alert_id)),
            ("Title", s(a.name)),
            ("ServiceSource", s(service)),
            ("DetectionSource", s(detection)),
            ("AttackTechniques", s(&attack)),
            ("SourceSystem", s("")),
        ]
    };
    let info = common()
        .into_iter()
        .chain([("Category", s(category)), ("Severity", s(a.severity))]);
    g.push("AlertInfo", info);
    for (k, e) in entities.iter().enumerate() {
        let (kind, fields) = evidence(e);
        let role = if k == 0 || kind == "Machine" {
            "Impacted"
        } else {
            "Related"
        };
        let row = common()
            .into_iter()
            .chain([
                ("Categories", s(format!("[\"{category}\"]"))),
                ("EntityType", s(kind)),
                ("EvidenceRole", s(role)),
                ("EvidenceDirection", s("")),
                ("Severity", s(a.severity)),
                (
                    "AdditionalFields",
                    dy(json!({"Type": e.get("Type"), "Role": role})),
                ),
            ])
            .chain(fields);
        g.push("AlertEvidence", row);
    }
    id
}

/// One version (row) of an incident.
pub(super) struct IncidentVersion<'a> {
    pub modified: i64,
    pub title: &'a str,
    pub severity: &'a str,
    pub status: &'a str,
    /// `(Classification, ClassificationReason, comment)` once closed.
    pub classification: Option<(&'a str, &'a str, &'a str)>,
    pub owner: Option<&'a User>,
    pub alert_ids: &'a [String],
    pub comments: &'a [(&'a str, i64)],
    pub first_activity: i64,
    pub last_activity: i64,
}

/// The fixed parts of an incident shared by its versions.
pub(super) struct Incident<'a> {
    pub number: i32,
    pub name: &'a str,
    pub description: &'a str,
    pub created: i64,
    pub tactics: &'a [&'a str],
    pub techniques: &'a [&'a str],
    pub products: &'a [&'a str],
    pub labels: &'a [&'a str],
}

pub(super) fn write_incident_version(g: &mut Gen, inc: &Incident<'_>, v: IncidentVersion<'_>) {
    let owner = match v.owner {
        Some(u) => json!({"objectId": u.object_id, "email": u.upn, "assignedTo": u.display_name,
                          "userPrincipalName": u.upn}),
        None => {
            json!({"objectId": null, "email": null, "assignedTo": null, "userPrincipalName": null})
        }
    };
    let comments: Vec<Json> = v
        .comments
        .iter()
        .map(|(text, at)| json!({"message": text, "createdTimeUtc": iso(*at), "author": {"name": "SOC"}}))
        .collect();
    let labels: Vec<Json> = inc
        .labels
        .iter()
        .map(|l| json!({"labelName": l, "labelType": "User"}))
        .collect();
    let (class, reason, comment) = v.classification.unwrap_or(("", "", ""));
    let additional = json!({
        "alertsCount": v.alert_ids.len(), "bookmarksCount": 0, "commentsCount": v.comments.len(),
        "alertProductNames": inc.products, "tactics": inc.tactics, "techniques": inc.techniques,
        "providerIncidentUrl": format!("https://security.microsoft.com/incidents/{}", inc.number),
    });
    g.push(
        "SecurityIncident",
        [
            ("TimeGenerated", dt(v.modified)),
            ("IncidentName", s(inc.name)),
            ("Title", s(v.title)),
            ("Description", s(inc.description)),
            ("Severity", s(v.severity)),
            ("Status", s(v.status)),
            ("Classification", s(class)),
            ("ClassificationReason", s(reason)),
            ("ClassificationComment", s(comment)),
            ("Owner", dy(owner)),
            ("ProviderName", s("Azure Sentinel")),
            ("ProviderIncidentId", s(inc.number.to_string())),
            ("FirstActivityTime", dt(v.first_activity)),
            ("LastActivityTime", dt(v.last_activity)),
            ("FirstModifiedTime", dt(inc.created)),
            ("LastModifiedTime", dt(v.modified)),
            ("CreatedTime", dt(inc.created)),
            (
                "ClosedTime",
                if v.status == "Closed" {
                    dt(v.modified)
                } else {
                    Value::Null
                },
            ),
            ("IncidentNumber", int(inc.number)),
            ("RelatedAnalyticRuleIds", dy(json!([]))),
            ("AlertIds", dy(json!(v.alert_ids))),
            ("BookmarkIds", dy(json!([]))),
            ("Comments", dy(Json::Array(comments))),
            ("Tasks", dy(json!([]))),
            ("Labels", dy(Json::Array(labels))),
            (
                "IncidentUrl",
                s(format!(
                    "{PORTAL}{}/providers/Microsoft.SecurityInsights/Incidents/{}",
                    workspace(),
                    inc.name
                )),
            ),
            ("AdditionalData", dy(additional)),
            (
                "ModifiedBy",
                s(v.owner
                    .map_or("Incident created from alert", |u| u.upn.as_str())),
            ),
            ("SourceSystem", s("Azure")),
        ],
    );
}
