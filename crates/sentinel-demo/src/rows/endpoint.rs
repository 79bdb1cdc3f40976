//! Defender device events (processes, logons, files, registry, image loads, connections) and
//! the Windows security events the same actions write.

use serde_json::json;

use crate::org::{DOMAIN, Device, NETBIOS, User};
use crate::{Gen, boolean, dt, dy, file_hashes, int, long, s};
use kql::value::Value;

/// `DeviceId` and `DeviceName`.
pub(crate) fn device(d: &Device) -> [(&'static str, Value); 2] {
    [("DeviceId", s(&d.device_id)), ("DeviceName", s(&d.fqdn))]
}

/// A process as the `InitiatingProcess*` columns describe it.
#[derive(Clone, Copy)]
pub(crate) struct Proc<'a> {
    pub file: &'a str,
    pub folder: &'a str,
    pub command_line: &'a str,
    pub pid: i64,
    pub parent: &'a str,
    /// `None` for the local system account.
    pub account: Option<&'a User>,
}

pub(crate) const SYSTEM: Proc<'static> = Proc {
    file: "services.exe",
    folder: "c:\\windows\\system32\\services.exe",
    command_line: "services.exe",
    pid: 716,
    parent: "wininit.exe",
    account: None,
};

pub(crate) const LSASS: Proc<'static> = Proc {
    file: "lsass.exe",
    folder: "c:\\windows\\system32\\lsass.exe",
    command_line: "lsass.exe",
    pid: 812,
    parent: "wininit.exe",
    account: None,
};

/// `(company, product, description)` of a binary's version information.
fn version_info(file: &str, folder: &str) -> (&'static str, &'static str, &'static str) {
    let f = file.to_ascii_lowercase();
    if f.ends_with(".exe")
        && (folder.contains("\\windows\\") || folder.contains("windows defender"))
    {
        (
            "Microsoft Corporation",
            "Microsoft® Windows® Operating System",
            "Windows component",
        )
    } else if folder.contains("microsoft office") {
        (
            "Microsoft Corporation",
            "Microsoft Office",
            "Microsoft Office application",
        )
    } else if folder.contains("google") {
        ("Google LLC", "Google Chrome", "Google Chrome")
    } else if folder.contains("microsoft\\edge") {
        ("Microsoft Corporation", "Microsoft Edge", "Microsoft Edge")
    } else if folder.contains("7-zip") {
        ("Igor Pavlov", "7-Zip", "7-Zip Console")
    } else {
        ("", "", "")
    }
}

/// The account columns of a process's account: `(domain, name, sid, upn, object id)`.
fn account_of(account: Option<&User>) -> (&'static str, &str, &str, &str, &str) {
    match account {
        Some(u) => (NETBIOS, &u.sam, &u.sid, &u.upn, &u.object_id),
        None => ("nt authority", "system", "S-1-5-18", "", ""),
    }
}

/// The `InitiatingProcess*` columns; a table keeps those it has.
pub(crate) fn initiating(p: &Proc<'_>, time: i64) -> Vec<(&'static str, Value)> {
    let (sha1, sha256, md5) = file_hashes(p.file);
    let (domain, name, sid, upn, oid) = account_of(p.account);
    let (company, product, description) = version_info(p.file, p.folder);
    let elevated = p.account.is_none_or(|u| u.admin);
    vec![
        ("InitiatingProcessAccountDomain", s(domain)),
        ("InitiatingProcessAccountName", s(name)),
        ("InitiatingProcessAccountSid", s(sid)),
        ("InitiatingProcessAccountUpn", s(upn)),
        ("InitiatingProcessAccountObjectId", s(oid)),
        ("InitiatingProcessFileName", s(p.file)),
        ("InitiatingProcessFolderPath", s(p.folder)),
        ("InitiatingProcessCommandLine", s(p.command_line)),
        ("InitiatingProcessId", long(p.pid)),
        ("InitiatingProcessSHA1", s(sha1)),
        ("InitiatingProcessSHA256", s(sha256)),
        ("InitiatingProcessMD5", s(md5)),
        (
            "InitiatingProcessFileSize",
            long(60_000 + (p.pid * 53) % 2_000_000),
        ),
        ("InitiatingProcessVersionInfoCompanyName", s(company)),
        ("InitiatingProcessVersionInfoProductName", s(product)),
        (
            "InitiatingProcessVersionInfoFileDescription",
            s(description),
        ),
        ("InitiatingProcessVersionInfoOriginalFileName", s(p.file)),
        ("InitiatingProcessVersionInfoInternalFileName", s(p.file)),
        (
            "InitiatingProcessCreationTime",
            dt(time - (p.pid % 3_600) * crate::SECOND),
        ),
        ("InitiatingProcessParentFileName", s(p.parent)),
        ("InitiatingProcessParentId", long(p.pid / 2 + 4)),
        (
            "InitiatingProcessParentCreationTime",
            dt(time - (p.pid % 7_200 + 3_600) * crate::SECOND),
        ),
        (
            "InitiatingProcessIntegrityLevel",
            s(if p.account.is_none() {
                "System"
            } else if elevated {
                "High"
            } else {
                "Medium"
            }),
        ),
        (
            "InitiatingProcessTokenElevation",
            s(if elevated {
                "TokenElevationTypeDefault"
            } else {
                "TokenElevationTypeLimited"
            }),
        ),
        ("InitiatingProcessLogonId", long(0x3e7 + p.pid % 97)),
        (
            "InitiatingProcessSessionId",
            long(i64::from(p.account.is_some())),
        ),
        ("IsInitiatingProcessRemoteSession", boolean(false)),
    ]
}

/// One `ProcessCreated` event: `child` started by `parent` on `d` at `time` (and its 4688 in
/// SecurityEvent on Windows machines).
pub(crate) fn process_created(
    g: &mut Gen,
    d: &Device,
    time: i64,
    parent: &Proc<'_>,
    child: &Proc<'_>,
) {
    let (sha1, sha256, md5) = file_hashes(child.file);
    let (domain, name, sid, upn, oid) = account_of(child.account);
    let (company, product, description) = version_info(child.file, child.folder);
    let report = g.report_id();
    let elevated = child.account.is_none_or(|u| u.admin);
    if g.wants("DeviceProcessEvents") {
        let fields = device(d)
            .into_iter()
            .chain(initiating(parent, time))
            .chain([
                ("Timestamp", dt(time)),
                ("ActionType", s("ProcessCreated")),
                ("FileName", s(child.file)),
                ("FolderPath", s(child.folder)),
                ("SHA1", s(sha1)),
                ("SHA256", s(sha256)),
                ("MD5", s(md5)),
                ("FileSize", long(40_000 + (child.pid * 37) % 900_000)),
                ("ProcessVersionInfoCompanyName", s(company)),
                ("ProcessVersionInfoProductName", s(product)),
                ("ProcessVersionInfoFileDescription", s(description)),
                ("ProcessVersionInfoOriginalFileName", s(child.file)),
                ("ProcessVersionInfoInternalFileName", s(child.file)),
                ("ProcessId", long(child.pid)),
                ("ProcessCommandLine", s(child.command_line)),
                (
                    "ProcessIntegrityLevel",
                    s(if child.account.is_none() {
                        "System"
                    } else if elevated {
                        "High"
                    } else {
                        "Medium"
                    }),
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
                ("AccountDomain", s(domain)),
                ("AccountName", s(name)),
                ("AccountSid", s(sid)),
                ("AccountUpn", s(upn)),
                ("AccountObjectId", s(oid)),
                ("LogonId", long(0x3e7 + child.pid)),
                ("InitiatingProcessSignerType", s("OsVendor")),
                ("InitiatingProcessSignatureStatus", s("Valid")),
                ("ReportId", report),
                ("AdditionalFields", dy(json!({}))),
                ("SourceSystem", s("")),
            ]);
        g.push_known("DeviceProcessEvents", fields);
    }
    if !d.linux && g.wants("SecurityEvent") {
        let folder = child.folder.replace("c:\\", "C:\\");
        security_event(
            g,
            d,
            time,
            4688,
            [
                (
                    "Account",
                    s(format!("{}\\{}", domain.to_ascii_uppercase(), name)),
                ),
                (
                    "AccountType",
                    s(if child.account.is_some() {
                        "User"
                    } else {
                        "Machine"
                    }),
                ),
                ("SubjectUserName", s(name)),
                ("SubjectDomainName", s(domain.to_ascii_uppercase())),
                ("SubjectUserSid", s(sid)),
                ("SubjectLogonId", s(format!("0x{:x}", 0x3e7 + child.pid))),
                ("NewProcessName", s(folder)),
                ("NewProcessId", s(format!("0x{:x}", child.pid))),
                ("CommandLine", s(child.command_line)),
                (
                    "ParentProcessName",
                    s(parent.folder.replace("c:\\", "C:\\")),
                ),
                ("ProcessId", s(format!("0x{:x}", parent.pid))),
                ("Process", s(child.file)),
                (
                    "TokenElevationType",
                    s(if elevated { "%%1936" } else { "%%1938" }),
                ),
                (
                    "MandatoryLabel",
                    s(if child.account.is_none() {
                        "S-1-16-16384"
                    } else if elevated {
                        "S-1-16-12288"
                    } else {
                        "S-1-16-8192"
                    }),
                ),
            ],
        );
    }
}

/// Activity text of a Windows security event.
fn activity(event_id: i32) -> &'static str {
    match event_id {
        1102 => "1102 - The audit log was cleared.",
        4624 => "4624 - An account was successfully logged on.",
        4625 => "4625 - An account failed to log on.",
        4634 => "4634 - An account was logged off.",
        4648 => "4648 - A logon was attempted using explicit credentials.",
        4672 => "4672 - Special privileges assigned to new logon.",
        4688 => "4688 - A new process has been created.",
        4698 => "4698 - A scheduled task was created.",
        4720 => "4720 - A user account was created.",
        4724 => "4724 - An attempt was made to reset an account's password.",
        4726 => "4726 - A user account was deleted.",
        4728 => "4728 - A member was added to a security-enabled global group.",
        4732 => "4732 - A member was added to a security-enabled local group.",
        4738 => "4738 - A user account was changed.",
        4742 => "4742 - A computer account was changed.",
        4740 => "4740 - A user account was locked out.",
        4768 => "4768 - A Kerberos authentication ticket (TGT) was requested.",
        4769 => "4769 - A Kerberos service ticket was requested.",
        4776 => {
            "4776 - The domain controller attempted to validate the credentials for an account."
        }
        5136 => "5136 - A directory service object was modified.",
        5140 => "5140 - A network share object was accessed.",
        5145 => {
            "5145 - A network share object was checked to see whether client can be granted desired access."
        }
        _ => "",
    }
}

/// Task category of a Windows security event.
fn task(event_id: i32) -> i32 {
    match event_id {
        1102 => 104,
        4624 | 4625 | 4634 | 4648 => 12544,
        4672 => 12548,
        4688 => 13312,
        4698 => 12804,
        4720 | 4724 | 4726 | 4738 | 4740 => 13824,
        4742 => 13825,
        5136 => 14081,
        4728 | 4732 => 13826,
        4768 => 14339,
        4769 => 14337,
        4776 => 14336,
        5140 | 5145 => 12808,
        _ => 0,
    }
}

/// One event from a machine's Security log, as the Azure Monitor Agent sends it.
pub(crate) fn security_event<'a>(
    g: &mut Gen,
    d: &Device,
    time: i64,
    event_id: i32,
    fields: impl IntoIterator<Item = (&'a str, Value)>,
) {
    let computer = d.fqdn.clone();
    let base = [
        ("TimeGenerated", dt(time)),
        ("Computer", s(computer)),
        ("EventID", int(event_id)),
        ("Activity", s(activity(event_id))),
        ("Channel", s("Security")),
        (
            "EventSourceName",
            s(if event_id == 1102 {
                "Microsoft-Windows-Eventlog"
            } else {
                "Microsoft-Windows-Security-Auditing"
            }),
        ),
        ("Level", s(if event_id == 4625 { "0" } else { "8" })),
        ("Task", int(task(event_id))),
        ("SourceSystem", s("OpsManager")),
        (
            "ManagementGroupName",
            s("AOI-72f988bf-0000-4e1a-9c0d-c0a7050de4a0"),
        ),
        ("SourceComputerId", s(&d.aad_device_id)),
    ];
    g.push("SecurityEvent", base.into_iter().chain(fields));
}

/// One network event from `d`'s point of view.
pub(crate) fn connection(
    g: &mut Gen,
    d: &Device,
    time: i64,
    p: &Proc<'_>,
    action: &str,
    remote: (&str, i32, &str),
    local_port: i32,
) {
    let report = g.report_id();
    if !g.wants("DeviceNetworkEvents") {
        return;
    }
    let private = remote.0.starts_with("10.") || remote.0.starts_with("192.168.");
    let inbound = action == "InboundConnectionAccepted";
    // A domain controller's services listen on dual-stack sockets: Defender records their IPv4
    // addresses as IPv4-mapped IPv6 ones.
    let mapped = inbound && d.short.starts_with("srv-dc");
    let (local_ip, remote_ip, local_type) = if mapped {
        (
            format!("::ffff:{}", d.ip),
            format!("::ffff:{}", remote.0),
            "FourToSixMapping",
        )
    } else {
        (d.ip.clone(), remote.0.to_string(), "Private")
    };
    let fields = device(d).into_iter().chain(initiating(p, time)).chain([
        ("Timestamp", dt(time)),
        ("ActionType", s(action)),
        ("RemoteIP", s(remote_ip)),
        ("RemotePort", int(remote.1)),
        ("RemoteUrl", s(remote.2)),
        ("LocalIP", s(local_ip)),
        ("LocalPort", int(local_port)),
        (
            "Protocol",
            s(if inbound || remote.1 != 53 {
                "Tcp"
            } else {
                "Udp"
            }),
        ),
        ("LocalIPType", s(local_type)),
        (
            "RemoteIPType",
            s(if mapped {
                "FourToSixMapping"
            } else if private {
                "Private"
            } else {
                "Public"
            }),
        ),
        ("ReportId", report),
        ("AdditionalFields", dy(json!({}))),
    ]);
    g.push_known("DeviceNetworkEvents", fields);
}

/// Network protection's inspection of a connection's first packets (NetworkSignatureInspected).
pub(crate) fn inspected(
    g: &mut Gen,
    d: &Device,
    time: i64,
    p: &Proc<'_>,
    remote: (&str, i32, &str),
    local_port: i32,
) {
    let report = g.report_id();
    if !g.wants("DeviceNetworkEvents") {
        return;
    }
    let (host, path) = remote
        .2
        .split("://")
        .last()
        .unwrap_or_default()
        .split_once('/')
        .unwrap_or((remote.2, ""));
    let fields = device(d).into_iter().chain(initiating(p, time)).chain([
        ("Timestamp", dt(time)),
        ("ActionType", s("NetworkSignatureInspected")),
        ("RemoteIP", s(remote.0)),
        ("RemotePort", int(remote.1)),
        ("LocalIP", s(&d.ip)),
        ("LocalPort", int(local_port)),
        ("Protocol", s("Tcp")),
        ("LocalIPType", s("Private")),
        ("RemoteIPType", s("Public")),
        ("ReportId", report),
        (
            "AdditionalFields",
            dy(json!({"SignatureName": "HTTP_Client",
                      "SignatureMatchedContent": format!("GET /{path} HTTP/1.1"),
                      "SamplePacketContent": format!("GET /{path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: Mozilla/5.0")})),
        ),
    ]);
    g.push_known("DeviceNetworkEvents", fields);
}

/// One logon on `d`.
pub(crate) struct Logon<'a> {
    pub time: i64,
    pub user: Option<&'a User>,
    pub logon_type: &'a str,
    pub success: bool,
    pub protocol: &'a str,
    pub remote: Option<&'a Device>,
}

/// The numeric Windows logon type of a Defender logon type.
fn logon_type_number(kind: &str) -> i32 {
    match kind {
        "Interactive" => 2,
        "Network" => 3,
        "Batch" => 4,
        "Service" => 5,
        "Unlock" => 7,
        "NetworkCleartext" => 8,
        "RemoteInteractive" => 10,
        "CachedInteractive" => 11,
        _ => 0,
    }
}

/// A logon: DeviceLogonEvents, its 4624/4625 in SecurityEvent, and (for domain accounts) the
/// authentication Defender for Identity saw at the domain controller.
pub(crate) fn logon(g: &mut Gen, d: &Device, l: Logon<'_>) {
    let report = g.report_id();
    let report_n = match report {
        Value::Long(n) => n,
        _ => 0,
    };
    let (name, sid, admin, domain) = match l.user {
        Some(u) => (u.sam.as_str(), u.sid.as_str(), u.admin, NETBIOS),
        None => ("system", "S-1-5-18", true, "nt authority"),
    };
    let remote_port = 49_152 + (report_n % 16_000) as i32;
    if g.wants("DeviceLogonEvents") {
        let fields = device(d)
            .into_iter()
            .chain(initiating(&LSASS, l.time))
            .chain([
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
                ("AccountDomain", s(domain)),
                ("AccountName", s(name)),
                ("AccountSid", s(sid)),
                ("Protocol", s(l.protocol)),
                (
                    "FailureReason",
                    s(if l.success {
                        ""
                    } else {
                        "InvalidUserNameOrPassword"
                    }),
                ),
                ("IsLocalAdmin", boolean(admin)),
                ("LogonId", long(0x10_0000 + report_n)),
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
                        int(remote_port)
                    } else {
                        Value::Null
                    },
                ),
                ("ReportId", report),
                (
                    "AdditionalFields",
                    dy(json!({"IsLocalLogon": l.remote.is_none()})),
                ),
            ]);
        g.push_known("DeviceLogonEvents", fields);
    }
    let number = logon_type_number(l.logon_type);
    if !d.linux && g.wants("SecurityEvent") {
        let event_id = if l.success { 4624 } else { 4625 };
        let workstation = l.remote.map_or(d.short.to_ascii_uppercase(), |r| {
            r.short.to_ascii_uppercase()
        });
        let failure = [
            ("Status", s("0xc000006d")),
            ("SubStatus", s("0xc000006a")),
            ("FailureReason", s("%%2313")),
        ];
        security_event(
            g,
            d,
            l.time,
            event_id,
            [
                (
                    "Account",
                    s(format!("{}\\{name}", domain.to_ascii_uppercase())),
                ),
                (
                    "AccountType",
                    s(if l.user.is_some() { "User" } else { "Machine" }),
                ),
                (
                    "TargetAccount",
                    s(format!("{}\\{name}", domain.to_ascii_uppercase())),
                ),
                ("TargetUserName", s(name)),
                ("TargetDomainName", s(domain.to_ascii_uppercase())),
                ("TargetUserSid", s(sid)),
                ("TargetLogonId", s(format!("0x{:x}", 0x10_0000 + report_n))),
                (
                    "SubjectUserName",
                    s(format!("{}$", d.short.to_ascii_uppercase())),
                ),
                ("SubjectDomainName", s(NETBIOS.to_ascii_uppercase())),
                ("SubjectUserSid", s("S-1-5-18")),
                ("LogonType", int(number)),
                ("LogonTypeName", s(format!("{number} - {}", l.logon_type))),
                (
                    "LogonProcessName",
                    s(if number == 10 || number == 2 {
                        "User32 "
                    } else {
                        "NtLmSsp "
                    }),
                ),
                (
                    "AuthenticationPackageName",
                    s(if l.protocol == "NTLM" {
                        "NTLM"
                    } else {
                        "Negotiate"
                    }),
                ),
                ("IpAddress", s(l.remote.map_or("-", |r| r.ip.as_str()))),
                (
                    "IpPort",
                    s(if l.remote.is_some() {
                        remote_port.to_string()
                    } else {
                        "-".into()
                    }),
                ),
                ("WorkstationName", s(workstation)),
                ("ElevatedToken", s(if admin { "%%1842" } else { "%%1843" })),
                ("ProcessName", s("C:\\Windows\\System32\\svchost.exe")),
            ]
            .into_iter()
            .chain(failure.into_iter().filter(|_| !l.success)),
        );
    }
    // Domain accounts authenticate at a domain controller, which Defender for Identity watches.
    if let Some(u) = l.user
        && number != 7
        && g.wants("IdentityLogonEvents")
    {
        let (kind, application) = match number {
            3 => ("Resource access", "Active Directory"),
            10 => ("Remote desktop", "Active Directory"),
            _ => ("Interactive", "Active Directory"),
        };
        g.push(
            "IdentityLogonEvents",
            [
                ("Timestamp", dt(l.time)),
                (
                    "ActionType",
                    s(if l.success { "LogonSuccess" } else { "LogonFailed" }),
                ),
                ("Application", s(application)),
                ("LogonType", s(kind)),
                ("Protocol", s(if l.protocol == "NTLM" { "Ntlm" } else { "Kerberos" })),
                (
                    "FailureReason",
                    s(if l.success { "" } else { "WrongPassword" }),
                ),
                ("AccountName", s(&u.sam)),
                ("AccountDomain", s(DOMAIN)),
                ("AccountUpn", s(&u.upn)),
                ("AccountSid", s(&u.sid)),
                ("AccountObjectId", s(&u.object_id)),
                ("AccountDisplayName", s(&u.display_name)),
                ("DeviceName", s(l.remote.map_or(d.fqdn.as_str(), |r| r.fqdn.as_str()))),
                ("DeviceType", s(if l.remote.is_some_and(|r| r.server) || (l.remote.is_none() && d.server) { "Server" } else { "Desktop" })),
                ("OSPlatform", s("Windows")),
                ("IPAddress", s(l.remote.map_or(d.ip.as_str(), |r| r.ip.as_str()))),
                ("Port", int(remote_port)),
                ("DestinationDeviceName", s("srv-dc01.contoso.com")),
                ("DestinationIPAddress", s("10.20.0.10")),
                ("DestinationPort", int(if l.protocol == "NTLM" { 445 } else { 88 })),
                ("TargetDeviceName", s(&d.fqdn)),
                ("Location", s("")),
                ("Isp", s("")),
                ("ReportId", s(format!("{report_n}"))),
                (
                    "AdditionalFields",
                    dy(json!({"Count": "1", "Category": "Initial Access",
                              "TO.DEVICE": d.short, "FROM.DEVICE": l.remote.map_or(d.short.as_str(), |r| r.short.as_str()),
                              "ACTOR.DEVICE": ""})),
                ),
            ],
        );
    }
}

/// One file event on `d`.
pub(crate) struct FileEvent<'a> {
    pub time: i64,
    pub action: &'a str,
    pub name: &'a str,
    pub folder: &'a str,
    pub size: i64,
    pub origin_url: &'a str,
    /// `(account, source IP)` when written over SMB from another machine.
    pub remote: Option<(&'a User, &'a str)>,
}

pub(crate) fn file_event(g: &mut Gen, d: &Device, p: &Proc<'_>, f: FileEvent<'_>) {
    let report = g.report_id();
    if !g.wants("DeviceFileEvents") {
        return;
    }
    let (sha1, sha256, md5) = file_hashes(f.name);
    let (req_name, req_domain, req_sid, req_ip, req_proto, share) = match f.remote {
        Some((u, ip)) => (
            u.sam.as_str(),
            NETBIOS,
            u.sid.as_str(),
            ip,
            "SMB",
            f.folder.rsplit('\\').next().unwrap_or_default(),
        ),
        None => ("", "", "", "", "Local", ""),
    };
    let fields = device(d).into_iter().chain(initiating(p, f.time)).chain([
        ("Timestamp", dt(f.time)),
        ("ActionType", s(f.action)),
        ("FileName", s(f.name)),
        ("FolderPath", s(format!("{}\\{}", f.folder, f.name))),
        ("SHA1", s(sha1)),
        ("SHA256", s(sha256)),
        ("MD5", s(md5)),
        ("FileSize", long(f.size)),
        ("FileOriginUrl", s(f.origin_url)),
        (
            "FileOriginReferrerUrl",
            s(f.origin_url
                .strip_prefix("https://")
                .and_then(|r| r.split('/').next())
                .map(|host| format!("https://{host}/"))
                .unwrap_or_default()),
        ),
        (
            "FileOriginIP",
            s(f.origin_url
                .strip_prefix("http://")
                .and_then(|r| r.split('/').next())
                .filter(|h| h.chars().all(|c| c.is_ascii_digit() || c == '.'))
                .unwrap_or("")),
        ),
        ("RequestAccountName", s(req_name)),
        ("RequestAccountDomain", s(req_domain)),
        ("RequestAccountSid", s(req_sid)),
        ("RequestSourceIP", s(req_ip)),
        ("RequestProtocol", s(req_proto)),
        ("ShareName", s(share)),
        ("IsAzureInfoProtectionApplied", boolean(false)),
        ("ReportId", report),
        ("AdditionalFields", dy(json!({"FileType": f.name.rsplit('.').next().unwrap_or_default().to_ascii_uppercase()}))),
    ]);
    g.push_known("DeviceFileEvents", fields);
}

/// One miscellaneous device event (DeviceEvents): `fields` carry what the action type records.
pub(crate) fn device_event<'a>(
    g: &mut Gen,
    d: &Device,
    time: i64,
    p: &Proc<'_>,
    action: &str,
    fields: impl IntoIterator<Item = (&'a str, Value)>,
) {
    let report = g.report_id();
    if !g.wants("DeviceEvents") {
        return;
    }
    let all = device(d)
        .into_iter()
        .chain(initiating(p, time))
        .chain([
            ("Timestamp", dt(time)),
            ("ActionType", s(action)),
            ("ReportId", report),
            (
                "MachineGroup",
                s(if d.server { "Servers" } else { "Workstations" }),
            ),
        ])
        .chain(fields);
    g.push_known("DeviceEvents", all);
}

/// One registry event (DeviceRegistryEvents).
pub(crate) fn registry_event(
    g: &mut Gen,
    d: &Device,
    time: i64,
    p: &Proc<'_>,
    action: &str,
    (key, value_name, value_type, data): (&str, &str, &str, &str),
) {
    let report = g.report_id();
    if !g.wants("DeviceRegistryEvents") {
        return;
    }
    let fields = device(d).into_iter().chain(initiating(p, time)).chain([
        ("Timestamp", dt(time)),
        ("ActionType", s(action)),
        ("RegistryKey", s(key)),
        ("RegistryValueName", s(value_name)),
        ("RegistryValueType", s(value_type)),
        ("RegistryValueData", s(data)),
        ("ReportId", report),
    ]);
    g.push_known("DeviceRegistryEvents", fields);
}

/// One image (DLL) load (DeviceImageLoadEvents).
pub(crate) fn image_load(
    g: &mut Gen,
    d: &Device,
    time: i64,
    p: &Proc<'_>,
    dll: &str,
    folder: &str,
) {
    let report = g.report_id();
    if !g.wants("DeviceImageLoadEvents") {
        return;
    }
    let (sha1, sha256, md5) = file_hashes(dll);
    let fields = device(d).into_iter().chain(initiating(p, time)).chain([
        ("Timestamp", dt(time)),
        ("ActionType", s("ImageLoaded")),
        ("FileName", s(dll)),
        ("FolderPath", s(format!("{folder}\\{dll}"))),
        ("SHA1", s(sha1)),
        ("SHA256", s(sha256)),
        ("MD5", s(md5)),
        (
            "FileSize",
            long(80_000 + (dll.len() as i64 * 7_919) % 3_000_000),
        ),
        ("ReportId", report),
    ]);
    g.push_known("DeviceImageLoadEvents", fields);
}
