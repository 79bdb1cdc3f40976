//! investigate_entity: everything the workspace knows about one user, IP address, host, file
//! hash, URL or domain, from the queries an analyst would run first, in one call.
//!
//! Each table the entity can appear in gets one query that ends in the same shape (the event,
//! the user, IP address, device, app and process it names, and why it is notable), summarized
//! so repeats count instead of crowding. The answers merge into first and last seen, activity
//! per table, related entities, notable events and a timeline. Every query passes the guard and
//! the limits run_kql_query applies, and the caller gets their text to pivot from.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use futures::StreamExt;
use rmcp::model::CallToolResult;
use serde::{Deserialize, Serialize};

use super::link::{self, Whole};
use super::query::request;
use super::{Call, ToolDef, ToolError, define, fresh};
use crate::backend::BackendError;
use crate::model::{DataKind, ToolClass};
use kql::Value;

/// Queries against the backend at once: Azure sees only a few from one call.
const CONCURRENT_QUERIES: usize = 3;
/// Summarized rows read from one table; notable rows come first, so only routine ones are cut.
const GROUPS_PER_TABLE: usize = 300;
/// Timeline events when the caller gives no `max_events`, and the most it may ask for.
const DEFAULT_EVENTS: usize = 50;
const MAX_EVENTS: usize = 500;
/// The longest value accepted: longer than any UPN, host name, hash or sensible URL.
const MAX_VALUE_LEN: usize = 512;
/// Related entities of each kind shown.
const RELATED_PER_KIND: usize = 20;
/// Distinct accounts one address must fail against to be called a password spray.
const SPRAY_ACCOUNTS: i64 = 10;
/// Downloads by one user from one address that make a mass download.
const MASS_DOWNLOAD: i64 = 50;

/// What is being investigated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
enum EntityKind {
    User,
    Ip,
    Host,
    FileHash,
    Url,
    Domain,
}

/// An entity's value: non-empty, bounded, free of control characters (checked when decoded, so a
/// bad one is an argument error naming the field).
#[derive(Debug, Clone)]
struct EntityValue(String);

impl<'de> Deserialize<'de> for EntityValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        let value = raw.trim();
        if value.is_empty() {
            return Err(serde::de::Error::custom("value is empty"));
        }
        if value.len() > MAX_VALUE_LEN {
            return Err(serde::de::Error::custom(format!(
                "value is longer than {MAX_VALUE_LEN} bytes"
            )));
        }
        if value.chars().any(char::is_control) {
            return Err(serde::de::Error::custom(
                "value contains a control character (a newline, tab or similar)",
            ));
        }
        Ok(EntityValue(value.to_string()))
    }
}

/// Arguments of investigate_entity.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct InvestigateArgs {
    /// What the value is: user (a UPN like mbrown@contoso.com, or an account name), ip, host (a device or computer name), file_hash (SHA256, SHA1 or MD5), url or domain.
    kind: EntityKind,
    /// The entity, e.g. mbrown@contoso.com, 203.0.113.57, srv-fs01, cdn-update.example. Matched exactly (case-insensitively where KQL's =~ applies), never interpreted as KQL.
    #[schemars(with = "String", length(min = 1, max = 512))]
    value: EntityValue,
    /// Time window to look in: ISO 8601 duration (P7D, PT12H), an interval `start/end`, or shorthand like 24h or 7d. Defaults to 7 days.
    #[serde(default)]
    timespan: Option<String>,
    /// Most events in the timeline (default 50, at most 500); notable events are kept first.
    #[serde(default)]
    max_events: Option<usize>,
    /// Which workspace to query, by the name the server's configuration gives it (SENTINEL_MCP_WORKSPACES); the default workspace when absent.
    #[serde(default)]
    workspace: Option<String>,
}

/// What the workspace knows about an entity.
#[derive(Debug, Serialize, schemars::JsonSchema)]
struct Investigation {
    kind: EntityKind,
    value: String,
    /// The window searched (ISO 8601 interval).
    timespan: String,
    /// The earliest and latest event naming the entity, when any did.
    first_seen: Option<String>,
    last_seen: Option<String>,
    /// Events naming the entity in each table that has some.
    activity: Vec<TableActivity>,
    /// Users, IP addresses, hosts, apps and processes seen with it, most events first.
    related: Vec<RelatedEntity>,
    /// Events worth an analyst's attention, oldest first: failed and risky sign-ins, alerts and incidents naming it, suspicious command lines, remote logons, threat intelligence matches.
    notable: Vec<Event>,
    /// Notable events left out to stay within max_events.
    notable_left_out: usize,
    /// The most relevant events (notable ones first), oldest first, at most max_events.
    timeline: Vec<Event>,
    /// Events the timeline left out to stay within max_events.
    timeline_left_out: usize,
    /// When events were left out: the URI the whole merged timeline (every event gathered, oldest first) is kept at for a while, to read in pages with resources/read (`?offset=&limit=`, `format=json|csv`).
    #[serde(skip_serializing_if = "Option::is_none")]
    full_result: Option<String>,
    /// Every query run, so it can be re-run or refined with run_kql_query.
    queries: Vec<QueryRun>,
    /// Tables the entity could appear in that this workspace does not have.
    skipped_tables: Vec<String>,
}

/// One table's events naming the entity.
#[derive(Debug, Serialize, schemars::JsonSchema)]
struct TableActivity {
    table: String,
    events: i64,
    first_seen: String,
    last_seen: String,
}

/// An entity seen together with the investigated one.
#[derive(Debug, Serialize, schemars::JsonSchema)]
struct RelatedEntity {
    /// user, ip, host, app or process.
    kind: String,
    value: String,
    /// Events naming both.
    events: i64,
}

/// Events of one kind, summarized: the first at `time`, `count` in all until `last_time`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
struct Event {
    time: String,
    last_time: String,
    count: i64,
    table: String,
    event: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    user: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    ip: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    host: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    app: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    process: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    command_line: String,
    /// Why the event is notable; absent for routine activity.
    #[serde(skip_serializing_if = "Option::is_none")]
    notable: Option<String>,
    /// Ticks of `time` and `last_time`, to sort and merge by.
    #[serde(skip)]
    ticks: i64,
    #[serde(skip)]
    last_ticks: i64,
}

/// A query the investigation ran.
#[derive(Debug, Serialize, schemars::JsonSchema)]
struct QueryRun {
    table: String,
    query: String,
    /// Summarized rows it returned.
    rows: usize,
    /// How long it took, waiting for a slot included.
    elapsed_ms: u64,
    /// Why it failed, when it did; the rest of the investigation stands.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

pub(super) fn definitions() -> Vec<ToolDef> {
    vec![define::<InvestigateArgs, Investigation>(
        ToolClass::Read,
        DataKind::Logs,
        "investigate_entity",
        "Investigate an entity",
        "Investigate one user, IP address, host, file hash, URL or domain across the workspace in one call: \
         runs the relevant KQL queries over sign-ins, audit logs, security events, device process/network/file/logon events, Office activity, email, firewall logs, alerts, incidents and threat intelligence (tables the workspace lacks are skipped and listed), \
         and returns first and last seen, activity per table, related entities (a user's IPs, hosts and apps; an IP's users; a host's users and processes), \
         notable events (failed and risky sign-ins, password sprays, alerts and incidents naming it, suspicious command lines, remote logons, threat intelligence matches), \
         a merged timeline, and every query it ran so you can pivot with run_kql_query. Read-only.",
        |call, args| fresh(investigate(call, args)),
    )]
}

/// One table's query: the table, and the pipeline up to the common summarizing tail.
struct Probe {
    table: &'static str,
    query: String,
}

/// A string as a KQL string literal: quoted, with `\` and `"` escaped, so no value can end
/// the literal. Control characters never get here (the argument refuses them).
fn literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '\\' || c == '"' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// The tail every probe ends with: one row per distinct event, notable ones first.
fn tail() -> String {
    format!(
        "\n| summarize Count = count(), First = min(TimeGenerated), Last = max(TimeGenerated) by Event, User, Ip, Device, App, Process, CommandLine, Flag\
         \n| extend Notable = Flag != \"\"\
         \n| order by Notable desc, First asc\
         \n| take {GROUPS_PER_TABLE}"
    )
}

/// The columns each table's events are read into (all strings).
const SIGNIN: &str = "extend Event = strcat(iff(ResultType == \"0\", \"sign-in succeeded\", strcat(\"sign-in failed (\", ResultType, \")\")), \" to \", AppDisplayName), User = UserPrincipalName, Ip = IPAddress, Device = tostring(DeviceDetail.displayName), App = AppDisplayName, Process = \"\", CommandLine = \"\", Flag = case(ResultType != \"0\", \"failed sign-in\", RiskLevelDuringSignIn in (\"medium\", \"high\"), \"risky sign-in\", \"\")";
const AUDIT: &str = "extend Event = OperationName, User = tostring(InitiatedBy.user.userPrincipalName), Ip = tostring(InitiatedBy.user.ipAddress), Device = \"\", App = tostring(InitiatedBy.app.displayName), Process = \"\", CommandLine = \"\", Flag = \"\"";
const SECURITY_EVENT: &str = "extend Event = strcat(tostring(EventID), \" \", Activity), User = TargetUserName, Ip = iff(IpAddress in (\"-\", \"\"), \"\", IpAddress), Device = Computer, App = \"\", Process = tostring(split(NewProcessName, \"\\\\\")[-1]), CommandLine = CommandLine, Flag = case(EventID == 4625, \"failed logon\", EventID == 4624 and LogonType == 10, \"remote interactive logon\", EventID == 1102, \"audit log cleared\", EventID == 4720, \"account created\", EventID == 4698, \"scheduled task created\", \"\")";
const PROCESS: &str = "extend Event = strcat(\"process \", FileName), User = iff(isnotempty(AccountUpn), AccountUpn, AccountName), Ip = \"\", Device = DeviceName, App = \"\", Process = FileName, CommandLine = ProcessCommandLine, Flag = iff(ProcessCommandLine has_any (\"-enc\", \"-encodedcommand\", \"-urlcache\", \"downloadstring\", \"lsass\", \"shadowcopy\", \"UseLogonCredential\", \"DisableRealtimeMonitoring\") or FileName in~ (\"rclone.exe\", \"procdump.exe\", \"procdump64.exe\", \"psexec.exe\", \"psexec64.exe\", \"adfind.exe\", \"vssadmin.exe\", \"wbadmin.exe\", \"bcdedit.exe\", \"mimikatz.exe\"), \"suspicious command line\", \"\")";
const LOGON: &str = "extend Event = strcat(ActionType, \" \", LogonType, \" logon\", iff(isnotempty(RemoteDeviceName), strcat(\" from \", RemoteDeviceName), \"\")), User = AccountName, Ip = RemoteIP, Device = DeviceName, App = \"\", Process = \"\", CommandLine = \"\", Flag = case(ActionType == \"LogonFailed\", \"failed logon\", LogonType == \"RemoteInteractive\", \"remote interactive logon\", \"\")";
const NETWORK: &str = "extend Event = strcat(ActionType, \" to \", RemoteIP, \":\", tostring(RemotePort), iff(isnotempty(RemoteUrl), strcat(\" (\", RemoteUrl, \")\"), \"\")), User = iff(isnotempty(InitiatingProcessAccountUpn), InitiatingProcessAccountUpn, InitiatingProcessAccountName), Ip = RemoteIP, Device = DeviceName, App = \"\", Process = InitiatingProcessFileName, CommandLine = \"\", Flag = \"\"";
const FILE: &str = "extend Event = strcat(ActionType, \" \", FolderPath), User = iff(isnotempty(InitiatingProcessAccountUpn), InitiatingProcessAccountUpn, InitiatingProcessAccountName), Ip = \"\", Device = DeviceName, App = \"\", Process = InitiatingProcessFileName, CommandLine = \"\", Flag = \"\"";
const OFFICE: &str = "extend Event = strcat(Operation, \" (\", OfficeWorkload, \")\"), User = UserId, Ip = ClientIP, Device = \"\", App = OfficeWorkload, Process = \"\", CommandLine = \"\", Flag = \"\"";
const FIREWALL: &str = "extend Event = strcat(Activity, \" \", SourceIP, \" -> \", DestinationIP, \":\", tostring(DestinationPort)), User = SourceUserName, Ip = DestinationIP, Device = \"\", App = \"\", Process = \"\", CommandLine = \"\", Flag = \"\"";
const EMAIL: &str = "extend Event = strcat(\"mail \\\"\", Subject, \"\\\" from \", SenderFromAddress), User = RecipientEmailAddress, Ip = SenderIPv4, Device = \"\", App = \"\", Process = \"\", CommandLine = \"\", Flag = iff(isnotempty(ThreatTypes), strcat(\"mail threat: \", ThreatTypes), \"\")";
const CLICK: &str = "extend Event = strcat(ActionType, \" \", Url), User = AccountUpn, Ip = IPAddress, Device = \"\", App = \"\", Process = \"\", CommandLine = \"\", Flag = \"\"";
const ALERT: &str = "extend Event = strcat(\"alert: \", AlertName, \" (\", AlertSeverity, \")\"), User = \"\", Ip = \"\", Device = \"\", App = \"\", Process = \"\", CommandLine = \"\", Flag = \"alert\"";
const INCIDENT: &str = "extend Event = strcat(\"incident \", tostring(IncidentNumber), \": \", Title, \" (\", Severity, \", \", Status, \")\"), User = \"\", Ip = \"\", Device = \"\", App = \"\", Process = \"\", CommandLine = \"\", Flag = \"incident\"";
const INTEL: &str = "extend Event = strcat(\"threat intelligence: \", ThreatType, \" - \", Description), User = \"\", Ip = NetworkIP, Device = \"\", App = \"\", Process = \"\", CommandLine = \"\", Flag = \"threat intelligence match\"";
const DNS: &str = "extend Event = strcat(\"DNS \", Name, \" -> \", IPAddresses), User = \"\", Ip = ClientIP, Device = Computer, App = \"\", Process = \"\", CommandLine = \"\", Flag = \"\"";
const MAIL_URL: &str = "extend Event = strcat(\"URL in mail: \", Url), User = \"\", Ip = \"\", Device = \"\", App = \"\", Process = \"\", CommandLine = \"\", Flag = \"\"";
const ATTACHMENT: &str = "extend Event = strcat(\"attachment \", FileName, \" from \", SenderFromAddress), User = RecipientEmailAddress, Ip = \"\", Device = \"\", App = \"\", Process = \"\", CommandLine = \"\", Flag = \"\"";

/// The queries for an entity: per table, the rows naming it and how to read them.
fn probes(kind: EntityKind, value: &str) -> Vec<Probe> {
    let v = literal(value);
    // An account name: the part of a UPN before the @, as endpoint and Windows logs name it.
    let sam = literal(value.split('@').next().unwrap_or(value));
    let probe = |table: &'static str, filter: String, fields: &str| Probe {
        table,
        query: format!("{table}\n| where {filter}\n| {fields}{}", tail()),
    };
    let alerts = || {
        probe(
            "SecurityAlert",
            format!("Entities contains {v} or CompromisedEntity =~ {v}"),
            ALERT,
        )
    };
    let incidents = || Probe {
        table: "SecurityIncident",
        query: format!(
            "SecurityIncident\n| summarize arg_max(TimeGenerated, *) by IncidentNumber\n| where Title contains {v} or Description contains {v}\n| {INCIDENT}{}",
            tail()
        ),
    };
    let host = format!("(DeviceName =~ {v} or DeviceName startswith strcat({v}, \".\"))");
    match kind {
        EntityKind::User => vec![
            probe("SigninLogs", format!("UserPrincipalName =~ {v}"), SIGNIN),
            probe(
                "AuditLogs",
                format!(
                    "tostring(InitiatedBy) contains {v} or tostring(TargetResources) contains {v}"
                ),
                AUDIT,
            ),
            probe(
                "SecurityEvent",
                format!("TargetUserName =~ {sam} or SubjectUserName =~ {sam}"),
                SECURITY_EVENT,
            ),
            probe(
                "DeviceProcessEvents",
                format!("AccountUpn =~ {v} or AccountName =~ {sam}"),
                PROCESS,
            ),
            probe("DeviceLogonEvents", format!("AccountName =~ {sam}"), LOGON),
            probe(
                "DeviceNetworkEvents",
                format!(
                    "InitiatingProcessAccountUpn =~ {v} or InitiatingProcessAccountName =~ {sam}"
                ),
                NETWORK,
            ),
            probe(
                "DeviceFileEvents",
                format!(
                    "InitiatingProcessAccountUpn =~ {v} or InitiatingProcessAccountName =~ {sam}"
                ),
                FILE,
            ),
            probe("OfficeActivity", format!("UserId =~ {v}"), OFFICE),
            probe(
                "EmailEvents",
                format!("RecipientEmailAddress =~ {v} or SenderFromAddress =~ {v}"),
                EMAIL,
            ),
            probe("UrlClickEvents", format!("AccountUpn =~ {v}"), CLICK),
            alerts(),
            incidents(),
        ],
        EntityKind::Ip => vec![
            probe("SigninLogs", format!("IPAddress == {v}"), SIGNIN),
            probe(
                "AuditLogs",
                format!("tostring(InitiatedBy) contains {v}"),
                AUDIT,
            ),
            probe("SecurityEvent", format!("IpAddress == {v}"), SECURITY_EVENT),
            probe("DeviceLogonEvents", format!("RemoteIP == {v}"), LOGON),
            probe(
                "DeviceNetworkEvents",
                format!("RemoteIP == {v} or LocalIP == {v}"),
                NETWORK,
            ),
            probe("OfficeActivity", format!("ClientIP == {v}"), OFFICE),
            probe(
                "CommonSecurityLog",
                format!("SourceIP == {v} or DestinationIP == {v}"),
                FIREWALL,
            ),
            probe("EmailEvents", format!("SenderIPv4 == {v}"), EMAIL),
            probe("UrlClickEvents", format!("IPAddress == {v}"), CLICK),
            probe("DnsEvents", format!("IPAddresses has {v}"), DNS),
            probe(
                "ThreatIntelligenceIndicator",
                format!("NetworkIP == {v}"),
                INTEL,
            ),
            alerts(),
            incidents(),
        ],
        EntityKind::Host => vec![
            probe(
                "SecurityEvent",
                format!("Computer =~ {v} or Computer startswith strcat({v}, \".\")"),
                SECURITY_EVENT,
            ),
            probe("DeviceProcessEvents", host.clone(), PROCESS),
            probe(
                "DeviceLogonEvents",
                format!("{host} or RemoteDeviceName =~ {v}"),
                LOGON,
            ),
            probe("DeviceNetworkEvents", host.clone(), NETWORK),
            probe("DeviceFileEvents", host, FILE),
            probe(
                "DnsEvents",
                format!("Computer =~ {v} or Computer startswith strcat({v}, \".\")"),
                DNS,
            ),
            alerts(),
            incidents(),
        ],
        EntityKind::FileHash => {
            let hash = format!("SHA256 =~ {v} or SHA1 =~ {v} or MD5 =~ {v}");
            vec![
                probe("DeviceProcessEvents", hash.clone(), PROCESS),
                probe("DeviceFileEvents", hash, FILE),
                probe("EmailAttachmentInfo", format!("SHA256 =~ {v}"), ATTACHMENT),
                probe(
                    "ThreatIntelligenceIndicator",
                    format!("FileHashValue =~ {v}"),
                    INTEL,
                ),
                alerts(),
            ]
        }
        EntityKind::Url => vec![
            probe("UrlClickEvents", format!("Url =~ {v}"), CLICK),
            probe("EmailUrlInfo", format!("Url =~ {v}"), MAIL_URL),
            probe("DeviceNetworkEvents", format!("RemoteUrl =~ {v}"), NETWORK),
            probe("ThreatIntelligenceIndicator", format!("Url =~ {v}"), INTEL),
            alerts(),
        ],
        EntityKind::Domain => {
            let under = |col: &str| format!("{col} =~ {v} or {col} endswith strcat(\".\", {v})");
            vec![
                probe("DnsEvents", under("Name"), DNS),
                probe("DeviceNetworkEvents", under("RemoteUrl"), NETWORK),
                probe("EmailEvents", format!("SenderFromDomain =~ {v}"), EMAIL),
                probe("EmailUrlInfo", under("UrlDomain"), MAIL_URL),
                probe("UrlClickEvents", format!("Url has {v}"), CLICK),
                probe("CommonSecurityLog", under("DestinationHostName"), FIREWALL),
                probe(
                    "ThreatIntelligenceIndicator",
                    format!("DomainName =~ {v}"),
                    INTEL,
                ),
                alerts(),
            ]
        }
    }
}

/// The follow-up query that tells a password spray from a mistyped password: how many accounts
/// the addresses the entity failed from failed against.
fn spray_probe(ips: &[&str]) -> Probe {
    let list = ips
        .iter()
        .map(|ip| literal(ip))
        .collect::<Vec<_>>()
        .join(", ");
    Probe {
        table: "SigninLogs",
        query: format!(
            "SigninLogs\n| where IPAddress in ({list}) and ResultType != \"0\"\
             \n| summarize Failures = count(), Accounts = dcount(UserPrincipalName), First = min(TimeGenerated), Last = max(TimeGenerated) by IPAddress\
             \n| where Accounts >= {SPRAY_ACCOUNTS}"
        ),
    }
}

async fn investigate(call: &Call<'_>, args: InvestigateArgs) -> Result<CallToolResult, ToolError> {
    let ctx = call.ctx;
    let max_events = match args.max_events {
        Some(0) => return Err(ToolError::Input("max_events must be at least 1".into())),
        Some(n) if n > MAX_EVENTS => {
            return Err(ToolError::Input(format!(
                "max_events must be at most {MAX_EVENTS}"
            )));
        }
        Some(n) => n,
        None => DEFAULT_EVENTS,
    };
    let timespan = args.timespan.as_deref().unwrap_or("P7D");
    let range = ctx.time_range(Some(timespan))?;
    let value = args.value.0;
    let tables = ctx
        .backend
        .list_tables_in(args.workspace.as_deref())
        .await?;
    let (present, absent): (Vec<Probe>, Vec<Probe>) = probes(args.kind, &value)
        .into_iter()
        .partition(|p| tables.iter().any(|t| t.name == p.table));
    let skipped_tables = absent.into_iter().map(|p| p.table.to_string()).collect();

    let workspace = args.workspace.as_deref();
    let mut runs: Vec<Ran> = futures::stream::iter(
        present
            .into_iter()
            .map(|p| run(call, p, timespan, workspace)),
    )
    .buffer_unordered(CONCURRENT_QUERIES)
    .collect::<Vec<_>>()
    .await
    .into_iter()
    .collect::<Result<_, _>>()?;
    // Answers arrive in any order; report them in the order the probes list them.
    let order = |t: &str| probes_order(args.kind, t);
    runs.sort_by_key(|r| order(r.probe.table));

    let mut events = Vec::new();
    for r in &runs {
        if let Ok(table) = &r.out {
            events.extend(read_events(r.probe.table, table));
        }
    }
    if matches!(args.kind, EntityKind::User | EntityKind::Ip) {
        let mut failed: Vec<&str> = events
            .iter()
            .filter(|e| e.table == "SigninLogs" && e.notable.as_deref() == Some("failed sign-in"))
            .map(|e| e.ip.as_str())
            .filter(|ip| !ip.is_empty())
            .collect();
        failed.sort_unstable();
        failed.dedup();
        failed.truncate(20);
        if !failed.is_empty() {
            let ran = run(call, spray_probe(&failed), timespan, workspace).await?;
            if let Ok(table) = &ran.out {
                events.extend(read_sprays(table));
            }
            runs.push(ran);
        }
    }

    events.sort_by_key(|e| e.ticks);
    let result = summarize(
        args.kind,
        value,
        kql::value::format_datetime(range.start) + "/" + &kql::value::format_datetime(range.end),
        &events,
        max_events,
        runs,
        skipped_tables,
    );
    // The whole timeline when max_events cut it: every event gathered, oldest first.
    let whole = (result.timeline_left_out > 0).then(|| Whole {
        kind: &crate::results::ENTITY_TIMELINE,
        table: super::format::records_table(&events),
        warnings: Vec::new(),
        shown: result.timeline.len(),
        // The timeline shows the most relevant events, not the first ones.
        rest_at: 0,
    });
    let text = render(&result);
    link::answer(call, whole, text, result, |r| &mut r.full_result).await
}

/// Where a table's probe stands in the kind's list, so results come in a stable order.
fn probes_order(kind: EntityKind, table: &str) -> usize {
    probes(kind, "")
        .iter()
        .position(|p| p.table == table)
        .unwrap_or(usize::MAX)
}

/// Runs one probe through the guard and the limits run_kql_query applies. A query the caller
/// can act on failing is recorded beside the others; a busy or failing server fails the call.
async fn run(
    call: &Call<'_>,
    probe: Probe,
    timespan: &str,
    workspace: Option<&str>,
) -> Result<Ran, ToolError> {
    let started = Instant::now();
    let out = match request(call, probe.query.clone(), Some(timespan)) {
        Ok(mut req) => {
            req.workspace = workspace.map(str::to_string);
            match call.ctx.backend.query(req).await {
                Ok(out) => Ok(out.table),
                Err(e @ (BackendError::Busy(_) | BackendError::Internal(_))) => {
                    return Err(e.into());
                }
                Err(e) => Err(e.to_string()),
            }
        }
        Err(ToolError::Guard(e)) => Err(e.to_string()),
        Err(e) => return Err(e),
    };
    Ok(Ran {
        probe,
        out,
        elapsed: started.elapsed(),
    })
}

/// A probe that ran: its table, or why it failed, and how long it took.
struct Ran {
    probe: Probe,
    out: Result<kql::Table, String>,
    elapsed: Duration,
}

/// A row's cell by column name, as text.
fn cell(table: &kql::Table, row: &[Value], name: &str) -> Value {
    table
        .columns
        .iter()
        .position(|c| c.name == name)
        .and_then(|i| row.get(i).cloned())
        .unwrap_or(Value::Null)
}

fn text_of(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.to_string(),
        Value::Dynamic(d) => match &**d {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Null => String::new(),
            other => other.to_string(),
        },
        other => other
            .to_json()
            .as_str()
            .map_or_else(|| other.to_json().to_string(), str::to_string),
    }
}

fn ticks_of(v: &Value) -> Option<i64> {
    match v {
        Value::DateTime(t) => Some(*t),
        Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|d| kql::value::datetime_to_ticks(d.with_timezone(&chrono::Utc))),
        _ => None,
    }
}

fn long_of(v: &Value) -> i64 {
    match v {
        Value::Int(n) => i64::from(*n),
        Value::Long(n) => *n,
        Value::Real(x) => *x as i64,
        Value::Decimal(d) => d.to_f64() as i64,
        _ => 0,
    }
}

/// A probe's summarized rows as events.
fn read_events(table_name: &str, table: &kql::Table) -> Vec<Event> {
    table
        .rows
        .iter()
        .filter_map(|row| {
            let get = |name: &str| text_of(&cell(table, row, name));
            let first = ticks_of(&cell(table, row, "First"))?;
            let last = ticks_of(&cell(table, row, "Last")).unwrap_or(first);
            let count = long_of(&cell(table, row, "Count"));
            let event = get("Event");
            let mut notable = Some(get("Flag")).filter(|f| !f.is_empty());
            if notable.is_none()
                && table_name == "OfficeActivity"
                && event.starts_with("FileDownloaded")
                && count >= MASS_DOWNLOAD
            {
                notable = Some("mass download".into());
            }
            Some(Event {
                time: kql::value::format_datetime(first),
                last_time: kql::value::format_datetime(last),
                count,
                table: table_name.to_string(),
                event,
                user: get("User"),
                ip: get("Ip"),
                host: get("Device"),
                app: get("App"),
                process: get("Process"),
                command_line: get("CommandLine"),
                notable,
                ticks: first,
                last_ticks: last,
            })
        })
        .collect()
}

/// The spray follow-up's rows as events.
fn read_sprays(table: &kql::Table) -> Vec<Event> {
    table
        .rows
        .iter()
        .filter_map(|row| {
            let first = ticks_of(&cell(table, row, "First"))?;
            let last = ticks_of(&cell(table, row, "Last")).unwrap_or(first);
            let ip = text_of(&cell(table, row, "IPAddress"));
            let failures = long_of(&cell(table, row, "Failures"));
            let accounts = long_of(&cell(table, row, "Accounts"));
            Some(Event {
                time: kql::value::format_datetime(first),
                last_time: kql::value::format_datetime(last),
                count: failures,
                table: "SigninLogs".into(),
                event: format!(
                    "password spray: {failures} failed sign-ins against {accounts} accounts from {ip}"
                ),
                user: String::new(),
                ip,
                host: String::new(),
                app: String::new(),
                process: String::new(),
                command_line: String::new(),
                notable: Some("password spray".into()),
                ticks: first,
                last_ticks: last,
            })
        })
        .collect()
}

/// Merges the events (oldest first) into the investigation's answer.
fn summarize(
    kind: EntityKind,
    value: String,
    timespan: String,
    events: &[Event],
    max_events: usize,
    runs: Vec<Ran>,
    skipped_tables: Vec<String>,
) -> Investigation {
    // The spray follow-up describes other accounts too: it is context, not the entity's activity.
    let own = |e: &&Event| e.notable.as_deref() != Some("password spray");

    let mut per_table: BTreeMap<&str, (i64, i64, i64)> = BTreeMap::new();
    for e in events.iter().filter(own) {
        let last = e.last_ticks;
        let entry = per_table
            .entry(e.table.as_str())
            .or_insert((0, e.ticks, last));
        entry.0 += e.count;
        entry.1 = entry.1.min(e.ticks);
        entry.2 = entry.2.max(last);
    }
    let first_seen = per_table.values().map(|a| a.1).min();
    let last_seen = per_table.values().map(|a| a.2).max();
    let activity = per_table
        .iter()
        .map(|(table, (n, first, last))| TableActivity {
            table: table.to_string(),
            events: *n,
            first_seen: kql::value::format_datetime(*first),
            last_seen: kql::value::format_datetime(*last),
        })
        .collect();

    let mut related: HashMap<(&'static str, String), i64> = HashMap::new();
    for e in events.iter().filter(own) {
        let fields: [(&'static str, &str, bool); 5] = [
            ("user", &e.user, kind != EntityKind::User),
            ("ip", &e.ip, kind != EntityKind::Ip),
            ("host", &e.host, kind != EntityKind::Host),
            ("app", &e.app, true),
            ("process", &e.process, true),
        ];
        for (k, v, wanted) in fields {
            if wanted && !v.is_empty() && !v.eq_ignore_ascii_case(&value) {
                *related.entry((k, v.to_lowercase())).or_default() += e.count;
            }
        }
    }
    let mut related: Vec<RelatedEntity> = related
        .into_iter()
        .map(|((k, v), n)| RelatedEntity {
            kind: k.to_string(),
            value: v,
            events: n,
        })
        .collect();
    related.sort_by(|a, b| {
        (a.kind.as_str(), -a.events, &a.value).cmp(&(b.kind.as_str(), -b.events, &b.value))
    });
    let mut shown: HashMap<String, usize> = HashMap::new();
    related.retain(|r| {
        let n = shown.entry(r.kind.clone()).or_default();
        *n += 1;
        *n <= RELATED_PER_KIND
    });

    // The most frequent notable events when there are more than max_events, oldest first.
    let mut notable: Vec<&Event> = events.iter().filter(|e| e.notable.is_some()).collect();
    let notable_left_out = notable.len().saturating_sub(max_events);
    if notable_left_out > 0 {
        notable.sort_by_key(|e| (-e.count, e.ticks));
        notable.truncate(max_events);
        notable.sort_by_key(|e| e.ticks);
    }
    let notable: Vec<Event> = notable.into_iter().cloned().collect();
    // Notable events first, then the entity's busiest routine activity, shown oldest first.
    let mut ranked: Vec<&Event> = events.iter().collect();
    ranked.sort_by_key(|e| (e.notable.is_none(), -e.count, e.ticks));
    let timeline_left_out = ranked.len().saturating_sub(max_events);
    ranked.truncate(max_events);
    ranked.sort_by_key(|e| e.ticks);
    let timeline = ranked.into_iter().cloned().collect();

    let queries = runs
        .into_iter()
        .map(|r| {
            let (rows, error) = match r.out {
                Ok(t) => (t.rows.len(), None),
                Err(e) => (0, Some(e)),
            };
            QueryRun {
                table: r.probe.table.to_string(),
                query: r.probe.query,
                rows,
                elapsed_ms: u64::try_from(r.elapsed.as_millis()).unwrap_or(u64::MAX),
                error,
            }
        })
        .collect();
    Investigation {
        kind,
        value,
        timespan,
        first_seen: first_seen.map(kql::value::format_datetime),
        last_seen: last_seen.map(kql::value::format_datetime),
        activity,
        related,
        notable,
        notable_left_out,
        timeline,
        timeline_left_out,
        full_result: None,
        queries,
        skipped_tables,
    }
}

/// The readable summary of an investigation.
fn render(inv: &Investigation) -> String {
    let kind = serde_json::to_value(inv.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let mut out = format!(
        "Investigation of {kind} {} over {}\n",
        inv.value, inv.timespan
    );
    match (&inv.first_seen, &inv.last_seen) {
        (Some(first), Some(last)) => {
            out.push_str(&format!("First seen {first}, last seen {last}\n"))
        }
        _ => out.push_str("No events name it in this window.\n"),
    }
    if !inv.activity.is_empty() {
        out.push_str("\nActivity:\n");
        for a in &inv.activity {
            out.push_str(&format!(
                "  {}: {} events ({} to {})\n",
                a.table, a.events, a.first_seen, a.last_seen
            ));
        }
    }
    if !inv.related.is_empty() {
        out.push_str("\nRelated:\n");
        for r in &inv.related {
            out.push_str(&format!("  {} {} ({} events)\n", r.kind, r.value, r.events));
        }
    }
    let line = |e: &Event| {
        let mut s = format!("  {} [{}] {}", e.time, e.table, e.event);
        for (label, v) in [
            ("user", &e.user),
            ("ip", &e.ip),
            ("host", &e.host),
            ("cmd", &e.command_line),
        ] {
            if !v.is_empty() {
                s.push_str(&format!(" {label}={v}"));
            }
        }
        if e.count > 1 {
            s.push_str(&format!(" (x{})", e.count));
        }
        if let Some(n) = &e.notable {
            s.push_str(&format!(" <- {n}"));
        }
        s.push('\n');
        s
    };
    out.push_str(&format!("\nNotable events: {}", inv.notable.len()));
    if inv.notable_left_out > 0 {
        out.push_str(&format!(" ({} more left out)", inv.notable_left_out));
    }
    out.push('\n');
    for e in &inv.notable {
        out.push_str(&line(e));
    }
    out.push_str(&format!("\nTimeline ({} events", inv.timeline.len()));
    if inv.timeline_left_out > 0 {
        out.push_str(&format!(", {} more left out", inv.timeline_left_out));
    }
    out.push_str("):\n");
    for e in &inv.timeline {
        out.push_str(&line(e));
    }
    if !inv.skipped_tables.is_empty() {
        out.push_str(&format!(
            "\nSkipped (not in this workspace): {}\n",
            inv.skipped_tables.join(", ")
        ));
    }
    out.push_str("\nQueries run (pivot with run_kql_query):\n");
    for q in &inv.queries {
        out.push_str(&format!(
            "-- {} ({} rows, {} ms)",
            q.table, q.rows, q.elapsed_ms
        ));
        if let Some(e) = &q.error {
            out.push_str(&format!(" failed: {e}"));
        }
        out.push('\n');
        out.push_str(&q.query);
        out.push_str("\n\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_quoted_so_it_cannot_end_the_literal() {
        assert_eq!(literal(r#"x" | union *"#), r#""x\" | union *""#);
        assert_eq!(literal(r"a\"), r#""a\\""#);
        // The quoted value lexes as one string token equal to the value.
        for value in [
            r#"x" | union *"#,
            r#"a\"#,
            r#"\" or 1==1 //"#,
            "mbrown@contoso.com",
        ] {
            let q = format!("print v = {}", literal(value));
            let out = kql::execute(&kql::Catalog::default(), &q, &kql::ExecOptions::default())
                .expect("the query runs");
            assert_eq!(out.table.rows, vec![vec![Value::str(value)]], "{q}");
        }
    }

    #[test]
    fn values_with_control_characters_or_nothing_in_them_are_refused() {
        let decode = |v: serde_json::Value| serde_json::from_value::<EntityValue>(v);
        assert!(decode(serde_json::json!("a\nb")).is_err());
        assert!(decode(serde_json::json!("a\u{0}")).is_err());
        assert!(decode(serde_json::json!("  ")).is_err());
        assert!(decode(serde_json::json!("x".repeat(MAX_VALUE_LEN + 1))).is_err());
        assert_eq!(
            decode(serde_json::json!(" mbrown@contoso.com "))
                .map(|v| v.0)
                .ok(),
            Some("mbrown@contoso.com".to_string())
        );
    }
}
