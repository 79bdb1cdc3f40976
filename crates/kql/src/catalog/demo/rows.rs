//! Row shapes shared by the story and the noise: sign-ins and Defender device events.

use serde_json::json;

use super::org::{Device, OFFICES, User};
use super::{Gen, Rng, Tbl, dt, dy, file_hashes, int, long, s};
use crate::value::Value;

pub(super) const APPS: [(&str, &str); 7] = [
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
    (
        "OneDrive SyncEngine",
        "ab9b8c07-8f02-4f72-87fa-80105867a763",
    ),
    ("Azure Portal", "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"),
    ("My Signins", "19db86c3-b2b9-44cc-b339-36da233a3be2"),
];

pub(super) const ORG_USER_AGENT: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0";

/// Where a sign-in came from.
pub(super) struct Place<'a> {
    pub ip: &'a str,
    pub city: &'a str,
    pub state: &'a str,
    pub country: &'a str,
    pub lat: f64,
    pub lon: f64,
    pub asn: i32,
}

/// One interactive sign-in.
pub(super) struct SignIn<'a> {
    pub time: i64,
    pub user: &'a User,
    pub place: Place<'a>,
    pub app: (&'a str, &'a str),
    pub result: &'a str,
    pub client_app: &'a str,
    pub user_agent: &'a str,
    pub risk: &'a str,
    pub mfa: bool,
    pub device: Option<&'a Device>,
}

fn result_description(code: &str) -> &'static str {
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
        "53003" => "Access has been blocked by Conditional Access policies.",
        _ => "Other",
    }
}

pub(super) fn signin(g: &mut Gen, rng: &mut Rng, si: SignIn<'_>) {
    let ok = si.result == "0";
    let device = match si.device {
        Some(d) => {
            json!({"deviceId": d.device_id, "displayName": d.short, "operatingSystem": "Windows10",
                          "browser": "Edge 130.0.0", "isCompliant": true, "isManaged": true,
                          "trustType": "Hybrid Azure AD joined"})
        }
        None => {
            json!({"deviceId": "", "operatingSystem": if si.user_agent.contains("Linux") { "Linux" } else { "Windows10" },
                       "browser": if si.user_agent.contains("Chrome/118") { "Chrome 118.0.0" } else { "Edge 130.0.0" }})
        }
    };
    let location = json!({"city": si.place.city, "state": si.place.state, "countryOrRegion": si.place.country,
                          "geoCoordinates": {"latitude": si.place.lat, "longitude": si.place.lon}});
    let status = if ok {
        json!({"errorCode": 0})
    } else {
        json!({"errorCode": si.result.parse::<i64>().unwrap_or(0), "failureReason": result_description(si.result)})
    };
    let mfa = if si.mfa && ok {
        json!({"authMethod": "Mobile app notification", "authDetail": null})
    } else {
        json!({})
    };
    let correlation = rng.guid_string();
    let risky = si.risk != "none";
    g.push(
        Tbl::Signin,
        [
            ("SourceSystem", s("Azure AD")),
            ("TimeGenerated", dt(si.time)),
            ("OperationName", s("Sign-in activity")),
            ("Category", s("SignInLogs")),
            ("ResultType", s(si.result)),
            ("ResultSignature", s(if ok { "SUCCESS" } else { "NONE" })),
            ("ResultDescription", s(result_description(si.result))),
            ("DurationMs", long(0)),
            ("CorrelationId", s(&correlation)),
            ("Identity", s(&si.user.display_name)),
            ("Level", s(if ok { "4" } else { "3" })),
            ("Location", s(si.place.country)),
            ("AppDisplayName", s(si.app.0)),
            ("AppId", s(si.app.1)),
            (
                "AuthenticationRequirement",
                s(if si.mfa {
                    "multiFactorAuthentication"
                } else {
                    "singleFactorAuthentication"
                }),
            ),
            ("ClientAppUsed", s(si.client_app)),
            (
                "ConditionalAccessStatus",
                s(if si.device.is_some() {
                    "success"
                } else {
                    "notApplied"
                }),
            ),
            ("CreatedDateTime", dt(si.time)),
            ("DeviceDetail", dy(device)),
            ("IsInteractive", Value::Bool(true)),
            ("Id", s(rng.guid_string())),
            ("IPAddress", s(si.place.ip)),
            ("IsRisky", Value::Bool(risky)),
            ("LocationDetails", dy(location)),
            ("MfaDetail", dy(mfa)),
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
            ("Status", dy(status)),
            ("UserAgent", s(si.user_agent)),
            ("UserDisplayName", s(&si.user.display_name)),
            ("UserId", s(&si.user.object_id)),
            ("UserPrincipalName", s(&si.user.upn)),
            ("UserType", s("Member")),
            ("AutonomousSystemNumber", int(si.place.asn)),
        ],
    );
}

/// `DeviceId` and `DeviceName`.
pub(super) fn device(d: &Device) -> [(&'static str, Value); 2] {
    [("DeviceId", s(&d.device_id)), ("DeviceName", s(&d.fqdn))]
}

/// A process as the `InitiatingProcess*` columns describe it.
pub(super) struct Proc<'a> {
    pub file: &'a str,
    pub folder: &'a str,
    pub command_line: &'a str,
    pub pid: i64,
    pub parent: &'a str,
    /// `None` for the local system account.
    pub account: Option<&'a User>,
}

pub(super) const SYSTEM: Proc<'static> = Proc {
    file: "services.exe",
    folder: "c:\\windows\\system32\\services.exe",
    command_line: "services.exe",
    pid: 716,
    parent: "wininit.exe",
    account: None,
};

pub(super) fn initiating(p: &Proc<'_>) -> [(&'static str, Value); 9] {
    let (_, sha256, _) = file_hashes(p.file);
    let (domain, name, upn) = match p.account {
        Some(u) => (s("contoso"), s(&u.sam), s(&u.upn)),
        None => (s("nt authority"), s("system"), s("")),
    };
    [
        ("InitiatingProcessAccountDomain", domain),
        ("InitiatingProcessAccountName", name),
        ("InitiatingProcessAccountUpn", upn),
        ("InitiatingProcessFileName", s(p.file)),
        ("InitiatingProcessFolderPath", s(p.folder)),
        ("InitiatingProcessCommandLine", s(p.command_line)),
        ("InitiatingProcessId", long(p.pid)),
        ("InitiatingProcessSHA256", s(sha256)),
        ("InitiatingProcessParentFileName", s(p.parent)),
    ]
}

/// One `ProcessCreated` event: `child` started by `parent` on `d` at `time`.
pub(super) fn process_created(
    g: &mut Gen,
    d: &Device,
    time: i64,
    parent: &Proc<'_>,
    child: &Proc<'_>,
) {
    let (sha1, sha256, md5) = file_hashes(child.file);
    let (domain, name, sid, upn, oid) = match child.account {
        Some(u) => (
            s("contoso"),
            s(&u.sam),
            s(&u.sid),
            s(&u.upn),
            s(&u.object_id),
        ),
        None => (s("nt authority"), s("system"), s("S-1-5-18"), s(""), s("")),
    };
    let report = g.report_id();
    let elevated = child.account.is_none_or(|u| u.admin);
    let fields = device(d).into_iter().chain(initiating(parent)).chain([
        ("Timestamp", dt(time)),
        ("ActionType", s("ProcessCreated")),
        ("FileName", s(child.file)),
        ("FolderPath", s(child.folder)),
        ("SHA1", s(sha1)),
        ("SHA256", s(sha256)),
        ("MD5", s(md5)),
        ("FileSize", long(40_000 + (child.pid * 37) % 900_000)),
        (
            "ProcessVersionInfoCompanyName",
            s(if child.folder.contains("windows") {
                "Microsoft Corporation"
            } else {
                ""
            }),
        ),
        ("ProcessId", long(child.pid)),
        ("ProcessCommandLine", s(child.command_line)),
        (
            "ProcessIntegrityLevel",
            s(if elevated { "System" } else { "Medium" }),
        ),
        (
            "ProcessTokenElevation",
            s(if elevated {
                "TokenElevationTypeDefault"
            } else {
                "TokenElevationTypeLimited"
            }),
        ),
        ("ProcessCreationTime", dt(time)),
        ("AccountDomain", domain),
        ("AccountName", name),
        ("AccountSid", sid),
        ("AccountUpn", upn),
        ("AccountObjectId", oid),
        ("LogonId", long(0x3e7 + child.pid)),
        ("ReportId", report),
        ("SourceSystem", s("")),
    ]);
    g.push(Tbl::Process, fields);
}

/// One network event from `d`'s point of view.
#[allow(clippy::too_many_arguments)]
pub(super) fn connection(
    g: &mut Gen,
    d: &Device,
    time: i64,
    p: &Proc<'_>,
    action: &str,
    remote: (&str, i32, &str),
    local_port: i32,
) {
    let report = g.report_id();
    let private = remote.0.starts_with("10.");
    let fields = device(d).into_iter().chain(initiating(p)).chain([
        ("Timestamp", dt(time)),
        ("ActionType", s(action)),
        ("RemoteIP", s(remote.0)),
        ("RemotePort", int(remote.1)),
        ("RemoteUrl", s(remote.2)),
        ("LocalIP", s(&d.ip)),
        ("LocalPort", int(local_port)),
        ("Protocol", s("Tcp")),
        ("LocalIPType", s("Private")),
        (
            "RemoteIPType",
            s(if private { "Private" } else { "Public" }),
        ),
        ("ReportId", report),
    ]);
    g.push(Tbl::Network, fields);
}

/// One logon on `d`.
pub(super) struct Logon<'a> {
    pub time: i64,
    pub user: Option<&'a User>,
    pub logon_type: &'a str,
    pub success: bool,
    pub protocol: &'a str,
    pub remote: Option<&'a Device>,
}

pub(super) fn logon(g: &mut Gen, d: &Device, l: Logon<'_>) {
    let report = g.report_id();
    let (name, sid, admin) = match l.user {
        Some(u) => (s(&u.sam), s(&u.sid), u.admin),
        None => (s("system"), s("S-1-5-18"), true),
    };
    let fields = device(d).into_iter().chain(initiating(&Proc {
        file: "lsass.exe",
        folder: "c:\\windows\\system32\\lsass.exe",
        command_line: "lsass.exe",
        pid: 812,
        parent: "wininit.exe",
        account: None,
    }));
    let fields = fields.chain([
        ("Timestamp", dt(l.time)),
        (
            "ActionType",
            s(if l.success {
                "LogonSuccess"
            } else {
                "LogonFailed"
            }),
        ),
        ("LogonType", s(l.logon_type)),
        (
            "AccountDomain",
            s(if l.user.is_some() {
                "contoso"
            } else {
                "nt authority"
            }),
        ),
        ("AccountName", name),
        ("AccountSid", sid),
        ("Protocol", s(l.protocol)),
        (
            "FailureReason",
            s(if l.success {
                ""
            } else {
                "InvalidUserNameOrPassword"
            }),
        ),
        ("IsLocalAdmin", Value::Bool(admin)),
        ("LogonId", long(0x10_0000 + report_num(&report))),
        (
            "RemoteDeviceName",
            s(l.remote.map_or("", |r| r.fqdn.as_str())),
        ),
        ("RemoteIP", s(l.remote.map_or("", |r| r.ip.as_str()))),
        (
            "RemoteIPType",
            s(if l.remote.is_some() { "Private" } else { "" }),
        ),
        (
            "RemotePort",
            if l.remote.is_some() {
                int(49_152 + (report_num(&report) % 16_000) as i32)
            } else {
                Value::Null
            },
        ),
        ("ReportId", report),
    ]);
    g.push(Tbl::Logon, fields);
}

fn report_num(v: &Value) -> i64 {
    match v {
        Value::Long(n) => *n,
        _ => 0,
    }
}

/// One file event on `d`.
pub(super) struct FileEvent<'a> {
    pub time: i64,
    pub action: &'a str,
    pub name: &'a str,
    pub folder: &'a str,
    pub size: i64,
    pub origin_url: &'a str,
    /// `(account, source IP)` when written over SMB from another machine.
    pub remote: Option<(&'a User, &'a str)>,
}

pub(super) fn file_event(g: &mut Gen, d: &Device, p: &Proc<'_>, f: FileEvent<'_>) {
    let (sha1, sha256, md5) = file_hashes(f.name);
    let report = g.report_id();
    let (req_name, req_domain, req_ip, req_proto) = match f.remote {
        Some((u, ip)) => (u.sam.as_str(), "contoso", ip, "SMB"),
        None => ("", "", "", ""),
    };
    let fields = device(d).into_iter().chain(initiating(p)).chain([
        ("Timestamp", dt(f.time)),
        ("ActionType", s(f.action)),
        ("FileName", s(f.name)),
        ("FolderPath", s(format!("{}\\{}", f.folder, f.name))),
        ("SHA1", s(sha1)),
        ("SHA256", s(sha256)),
        ("MD5", s(md5)),
        ("FileSize", long(f.size)),
        ("FileOriginUrl", s(f.origin_url)),
        ("RequestAccountName", s(req_name)),
        ("RequestAccountDomain", s(req_domain)),
        ("RequestSourceIP", s(req_ip)),
        ("RequestProtocol", s(req_proto)),
        ("ReportId", report),
    ]);
    g.push(Tbl::File, fields);
}

/// One Palo Alto traffic log, as CEF lands in CommonSecurityLog.
pub(super) fn firewall_row(
    time: i64,
    (src, src_port): (&str, i32),
    (dst, dst_port): (&str, i32),
    app: &str,
    (sent, received): (i64, i64),
    user: &str,
) -> [(&'static str, Value); 26] {
    let outbound = !dst.starts_with("10.");
    [
        ("TimeGenerated", dt(time)),
        ("DeviceVendor", s("Palo Alto Networks")),
        ("DeviceProduct", s("PAN-OS")),
        ("DeviceVersion", s("11.1.2")),
        ("DeviceEventClassID", s("end")),
        ("Activity", s("TRAFFIC")),
        ("LogSeverity", s("1")),
        ("DeviceAction", s("allow")),
        ("SimplifiedDeviceAction", s("Allow")),
        ("ApplicationProtocol", s(app)),
        (
            "CommunicationDirection",
            s(if outbound { "Outbound" } else { "Internal" }),
        ),
        ("DeviceName", s("pa-fw01")),
        ("DeviceInboundInterface", s("ethernet1/2")),
        (
            "DeviceOutboundInterface",
            s(if outbound {
                "ethernet1/1"
            } else {
                "ethernet1/3"
            }),
        ),
        ("SourceIP", s(src)),
        ("SourcePort", int(src_port)),
        ("SourceUserName", s(user)),
        (
            "SourceTranslatedAddress",
            s(if outbound { OFFICES[0].egress_ip } else { "" }),
        ),
        ("DestinationIP", s(dst)),
        ("DestinationPort", int(dst_port)),
        ("Protocol", s("TCP")),
        ("SentBytes", long(sent)),
        ("ReceivedBytes", long(received)),
        ("EventCount", int(1)),
        ("Computer", s("syslog-fwd01")),
        ("SourceSystem", s("OpsManager")),
    ]
}
