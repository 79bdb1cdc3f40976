//! SecurityAlert and SecurityIncident rows, shaped as Sentinel writes them.

use serde_json::{Value as Json, json};

use super::org::{DOMAIN, Device, User};
use super::{Gen, MINUTE, Rng, Tbl, dt, dy, int, iso, s};
use crate::value::Value;

const PORTAL: &str = "https://portal.azure.com/#asset/Microsoft_Azure_Security_Insights/Incident";
const WORKSPACE: &str = "/subscriptions/d1d8779d-0000-4c2d-9d2b-6a9c0fe0e0e0/resourceGroups/soc-rg/providers/Microsoft.OperationalInsights/workspaces/contoso-sentinel";

/// Which product raised an alert: `(ProviderName, ProductName, ProductComponentName)`.
#[derive(Clone, Copy)]
pub(super) enum Product {
    IdentityProtection,
    CloudApps,
    Endpoint,
    Office,
    Scheduled,
}

impl Product {
    fn names(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Product::IdentityProtection => {
                ("IPC", "Azure Active Directory Identity Protection", "")
            }
            Product::CloudApps => ("MCAS", "Microsoft Cloud App Security", ""),
            Product::Endpoint => ("MDATP", "Microsoft Defender Advanced Threat Protection", ""),
            Product::Office => ("OATP", "Office 365 Advanced Threat Protection", ""),
            Product::Scheduled => ("ASI Scheduled Alerts", "Azure Sentinel", "Scheduled Alerts"),
        }
    }
}

/// An entity as Sentinel serialises it in `SecurityAlert.Entities`.
pub(super) fn account(u: &User) -> Json {
    json!({"Name": u.sam, "UPNSuffix": DOMAIN, "AadUserId": u.object_id, "Sid": u.sid,
           "DisplayName": u.display_name, "Type": "account"})
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

/// Writes one alert row, generated a few minutes after its last activity; returns its SystemAlertId.
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
    let link = match a.product {
        Product::Endpoint => format!("https://security.microsoft.com/alerts/da{vendor_id}"),
        Product::Scheduled => String::new(),
        _ => format!("https://security.microsoft.com/alerts/{vendor_id}"),
    };
    let confidence = 0.5 + (rng.below(50) as f64) / 100.0;
    g.push(
        Tbl::Alert,
        [
            ("TimeGenerated", dt(generated)),
            ("DisplayName", s(a.name)),
            ("AlertName", s(a.name)),
            ("AlertSeverity", s(a.severity)),
            ("Description", s(a.description)),
            ("ProviderName", s(provider)),
            ("VendorName", s("Microsoft")),
            ("VendorOriginalId", s(&vendor_id)),
            ("SystemAlertId", s(&id)),
            ("ResourceId", s(WORKSPACE)),
            (
                "AlertType",
                s(format!("{provider}_{}", a.name.replace(' ', ""))),
            ),
            ("ConfidenceLevel", s("Unknown")),
            ("ConfidenceScore", Value::Real(confidence)),
            ("IsIncident", Value::Bool(false)),
            ("StartTime", dt(a.start)),
            ("EndTime", dt(a.end)),
            ("ProcessingEndTime", dt(generated)),
            ("ExtendedProperties", s(extended.to_string())),
            ("Entities", s(Json::Array(entities).to_string())),
            ("SourceSystem", s("Detection")),
            ("ProductName", s(product)),
            ("ProductComponentName", s(component)),
            ("AlertLink", s(link)),
            ("Status", s("New")),
            ("CompromisedEntity", s(a.compromised)),
            ("Tactics", s(a.tactics)),
            ("Techniques", s(techniques)),
        ],
    );
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
        "alertProductNames": inc.products, "tactics": inc.tactics, "techniques": [],
        "providerIncidentUrl": format!("https://security.microsoft.com/incidents/{}", inc.number),
    });
    g.push(
        Tbl::Incident,
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
                    "{PORTAL}{WORKSPACE}/providers/Microsoft.SecurityInsights/Incidents/{}",
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
