//! Benign activity of contoso.com: sign-ins in office hours, directory changes, processes, network,
//! logons, files, mail, SharePoint, firewall traffic, heartbeats, and the everyday alerts and
//! incidents (false and benign positives) a SOC closes.

use serde_json::json;

use super::org::{DOMAIN, Device, OFFICES, Org, SHAREPOINT, TENANT_ID, User};
use super::rows::{self, FileEvent, Logon, Place, Proc, SignIn};
use super::sentinel::{self, Alert, Incident, IncidentVersion, Product};
use super::{DAY, Gen, HOUR, MINUTE, Rng, SECOND, SPAN, Tbl, dt, dy, int, long, s};
use crate::value::Value;

/// Share of the noise rows each table gets.
const SHARES: [(Tbl, f64); 10] = [
    (Tbl::Signin, 0.17),
    (Tbl::Audit, 0.04),
    (Tbl::Process, 0.20),
    (Tbl::Network, 0.17),
    (Tbl::Logon, 0.06),
    (Tbl::File, 0.10),
    (Tbl::Email, 0.07),
    (Tbl::Office, 0.08),
    (Tbl::Firewall, 0.08),
    (Tbl::Heartbeat, 0.03),
];

/// Writes about `budget` rows of noise.
pub(super) fn write(g: &mut Gen, org: &Org, rng: &mut Rng, budget: usize) {
    let before = g.len(Tbl::Alert) + g.len(Tbl::Incident);
    alerts_and_incidents(g, org, rng, budget);
    let remaining = budget.saturating_sub(g.len(Tbl::Alert) + g.len(Tbl::Incident) - before);
    for (table, share) in SHARES {
        let n = (remaining as f64 * share).round() as usize;
        match table {
            Tbl::Signin => (0..n).for_each(|_| signin(g, org, rng)),
            Tbl::Audit => (0..n).for_each(|_| audit(g, org, rng)),
            Tbl::Process => (0..n).for_each(|_| process(g, org, rng)),
            Tbl::Network => (0..n).for_each(|_| network(g, org, rng)),
            Tbl::Logon => (0..n).for_each(|_| logon(g, org, rng)),
            Tbl::File => (0..n).for_each(|_| file(g, org, rng)),
            Tbl::Email => (0..n).for_each(|_| email(g, org, rng)),
            Tbl::Office => (0..n).for_each(|_| office(g, org, rng)),
            Tbl::Firewall => (0..n).for_each(|_| firewall(g, org, rng)),
            _ => heartbeats(g, org, rng, n),
        }
    }
}

/// Uniform in the workspace's span.
fn any_time(g: &Gen, rng: &mut Rng) -> i64 {
    rng.range(g.now - SPAN, g.now + 1)
}

/// A weekday between 08:00 and 18:00 in the office's time zone, mostly; some evenings and weekends.
fn office_time(g: &Gen, rng: &mut Rng, office: usize) -> i64 {
    let utc_offset = [-8, -5, 0][office % 3] * HOUR;
    let today = g.now.div_euclid(DAY) * DAY;
    for _ in 0..6 {
        let day = today - rng.range(0, 15) * DAY;
        let weekday = (day.div_euclid(DAY) + 3).rem_euclid(7); // 0 = Monday; 1970-01-01 was a Thursday
        if weekday >= 5 && !rng.chance(0.1) {
            continue;
        }
        let local = if rng.chance(0.92) {
            rng.range(8 * HOUR, 18 * HOUR)
        } else {
            rng.range(0, DAY)
        };
        let t = day + local - utc_offset;
        if (g.now - SPAN..=g.now).contains(&t) {
            return t;
        }
    }
    any_time(g, rng)
}

fn office_place(u: &User) -> Place<'static> {
    let o = &OFFICES[u.office];
    Place {
        ip: o.egress_ip,
        city: o.city,
        state: o.state,
        country: o.country,
        lat: o.lat,
        lon: o.lon,
        asn: 64_496,
    }
}

fn signin(g: &mut Gen, org: &Org, rng: &mut Rng) {
    let u = rng.pick(&org.users);
    let time = office_time(g, rng, u.office);
    let roll = rng.below(1000);
    let result = match roll {
        0..950 => "0",
        950..955 => "50126",
        955..975 => "50074",
        975..993 => "50140",
        _ => "53003",
    };
    let on_device = u.device.is_some() && rng.chance(0.7);
    let app = if rng.chance(0.02) && !u.admin {
        rows::APPS[6]
    } else {
        *rng.pick(&rows::APPS[..6])
    };
    rows::signin(
        g,
        rng,
        SignIn {
            time,
            user: u,
            place: office_place(u),
            app,
            result,
            client_app: if on_device {
                "Mobile Apps and Desktop clients"
            } else {
                "Browser"
            },
            user_agent: rows::ORG_USER_AGENT,
            risk: "none",
            mfa: !on_device,
            device: if on_device {
                u.device.map(|d| &org.devices[d])
            } else {
                None
            },
        },
    );
}

const AUDIT_OPS: [(&str, &str, &str); 9] = [
    ("Update user", "UserManagement", "Core Directory"),
    ("Add member to group", "GroupManagement", "Core Directory"),
    (
        "Remove member from group",
        "GroupManagement",
        "Core Directory",
    ),
    (
        "Reset password (self-service)",
        "UserManagement",
        "Self-service Password Management",
    ),
    ("Change user license", "UserManagement", "Core Directory"),
    (
        "Add app role assignment grant to user",
        "ApplicationManagement",
        "Core Directory",
    ),
    (
        "Update application",
        "ApplicationManagement",
        "Core Directory",
    ),
    ("Update device", "Device", "Core Directory"),
    (
        "User registered security info",
        "UserManagement",
        "Authentication Methods",
    ),
];

fn audit(g: &mut Gen, org: &Org, rng: &mut Rng) {
    let &(op, category, service) = rng.pick(&AUDIT_OPS);
    let target = rng.pick(&org.users);
    let self_service = op.contains("self-service") || op == "User registered security info";
    let admin = if self_service {
        target
    } else {
        &org.users[rng.below(2)]
    };
    let time = office_time(g, rng, admin.office);
    let actor = if rng.chance(0.15) && !self_service {
        json!({"app": {"appId": null, "displayName": "Microsoft Azure AD Cloud Sync", "servicePrincipalId": "a3e7b4c2-0000-4f6a-b0a1-2f7d9e5c1b00",
                       "servicePrincipalName": null}})
    } else {
        json!({"user": {"id": admin.object_id, "displayName": null, "userPrincipalName": admin.upn,
                        "ipAddress": OFFICES[admin.office].egress_ip}})
    };
    let targets = json!([{"id": target.object_id, "displayName": target.display_name, "type": "User",
                          "userPrincipalName": target.upn, "modifiedProperties": []}]);
    g.push(
        Tbl::Audit,
        [
            ("SourceSystem", s("Azure AD")),
            ("TimeGenerated", dt(time)),
            ("OperationName", s(op)),
            ("OperationVersion", s("1.0")),
            ("Category", s(category)),
            ("ResultSignature", s("None")),
            ("DurationMs", long(0)),
            ("CorrelationId", s(rng.guid_string())),
            ("Identity", s(&admin.display_name)),
            ("Level", s("4")),
            ("AdditionalDetails", dy(json!([]))),
            ("Id", s(format!("Directory_{}", rng.hex(12)))),
            ("InitiatedBy", dy(actor)),
            ("LoggedByService", s(service)),
            ("Result", s("success")),
            ("TargetResources", dy(targets)),
            ("AADTenantId", s(TENANT_ID)),
            ("ActivityDisplayName", s(op)),
            ("ActivityDateTime", dt(time)),
            (
                "AADOperationType",
                s(if op.starts_with("Add") {
                    "Add"
                } else {
                    "Update"
                }),
            ),
        ],
    );
}

/// Everyday processes: (file, folder, command line, started by the user?).
const WORKSTATION_PROCS: [(&str, &str, &str, bool); 14] = [
    (
        "chrome.exe",
        "c:\\program files\\google\\chrome\\application\\chrome.exe",
        "\"chrome.exe\" --type=renderer",
        true,
    ),
    (
        "msedge.exe",
        "c:\\program files (x86)\\microsoft\\edge\\application\\msedge.exe",
        "\"msedge.exe\" --profile-directory=Default",
        true,
    ),
    (
        "OUTLOOK.EXE",
        "c:\\program files\\microsoft office\\root\\office16\\outlook.exe",
        "\"OUTLOOK.EXE\" ",
        true,
    ),
    (
        "WINWORD.EXE",
        "c:\\program files\\microsoft office\\root\\office16\\winword.exe",
        "\"WINWORD.EXE\" /n",
        true,
    ),
    (
        "EXCEL.EXE",
        "c:\\program files\\microsoft office\\root\\office16\\excel.exe",
        "\"EXCEL.EXE\" ",
        true,
    ),
    (
        "ms-teams.exe",
        "c:\\program files\\windowsapps\\msteams\\ms-teams.exe",
        "\"ms-teams.exe\" --system-initiated",
        true,
    ),
    (
        "Code.exe",
        "c:\\users\\public\\appdata\\local\\programs\\microsoft vs code\\code.exe",
        "\"Code.exe\" ",
        true,
    ),
    (
        "cmd.exe",
        "c:\\windows\\system32\\cmd.exe",
        "cmd.exe /c ipconfig /all",
        true,
    ),
    (
        "svchost.exe",
        "c:\\windows\\system32\\svchost.exe",
        "svchost.exe -k netsvcs -p -s Schedule",
        false,
    ),
    (
        "MpCmdRun.exe",
        "c:\\program files\\windows defender\\mpcmdrun.exe",
        "\"MpCmdRun.exe\" -SignatureUpdate -ScheduleJob",
        false,
    ),
    (
        "SearchProtocolHost.exe",
        "c:\\windows\\system32\\searchprotocolhost.exe",
        "\"SearchProtocolHost.exe\" Global\\UsGthrFltPipeMssGthrPipe1",
        false,
    ),
    (
        "CompatTelRunner.exe",
        "c:\\windows\\system32\\compattelrunner.exe",
        "C:\\WINDOWS\\system32\\compattelrunner.exe -maintenance",
        false,
    ),
    (
        "powershell.exe",
        "c:\\windows\\system32\\windowspowershell\\v1.0\\powershell.exe",
        "powershell.exe -NoProfile -ExecutionPolicy Bypass -File \"C:\\Program Files (x86)\\Microsoft Intune Management Extension\\Policies\\Scripts\\detect.ps1\"",
        false,
    ),
    (
        "OneDrive.exe",
        "c:\\program files\\microsoft onedrive\\onedrive.exe",
        "\"OneDrive.exe\" /background",
        true,
    ),
];

const SERVER_PROCS: [(&str, &str, &str); 5] = [
    (
        "svchost.exe",
        "c:\\windows\\system32\\svchost.exe",
        "svchost.exe -k netsvcs -p",
    ),
    (
        "w3wp.exe",
        "c:\\windows\\system32\\inetsrv\\w3wp.exe",
        "w3wp.exe -ap \"DefaultAppPool\" -v \"v4.0\"",
    ),
    (
        "sqlservr.exe",
        "c:\\program files\\microsoft sql server\\mssql16.mssqlserver\\mssql\\binn\\sqlservr.exe",
        "\"sqlservr.exe\" -sMSSQLSERVER",
    ),
    (
        "wbengine.exe",
        "c:\\windows\\system32\\wbengine.exe",
        "\"wbengine.exe\"",
    ),
    (
        "MsSense.exe",
        "c:\\program files\\windows defender advanced threat protection\\mssense.exe",
        "\"MsSense.exe\"",
    ),
];

const LINUX_PROCS: [(&str, &str, &str); 4] = [
    ("nginx", "/usr/sbin/nginx", "nginx: worker process"),
    (
        "python3",
        "/usr/bin/python3",
        "/usr/bin/python3 /opt/app/manage.py runjobs",
    ),
    ("sshd", "/usr/sbin/sshd", "sshd: adavis [priv]"),
    (
        "logrotate",
        "/usr/sbin/logrotate",
        "/usr/sbin/logrotate /etc/logrotate.conf",
    ),
];

fn explorer(u: &User) -> Proc<'_> {
    Proc {
        file: "explorer.exe",
        folder: "c:\\windows\\explorer.exe",
        command_line: "C:\\WINDOWS\\Explorer.EXE",
        pid: 4_000 + u.sid.len() as i64 * 10,
        parent: "userinit.exe",
        account: Some(u),
    }
}

fn workstation<'a>(org: &'a Org, rng: &mut Rng) -> (&'a Device, &'a User) {
    let i = rng.below(24);
    (&org.devices[i], &org.users[i])
}

fn process(g: &mut Gen, org: &Org, rng: &mut Rng) {
    let pid = rng.range(1_000, 30_000);
    if rng.chance(0.8) {
        let (d, u) = workstation(org, rng);
        let time = office_time(g, rng, u.office);
        let &(file, folder, cmd, user) = rng.pick(&WORKSTATION_PROCS);
        let child = Proc {
            file,
            folder,
            command_line: cmd,
            pid,
            parent: "",
            account: user.then_some(u),
        };
        let parent = if user { explorer(u) } else { rows::SYSTEM };
        rows::process_created(
            g,
            d,
            time,
            &parent,
            &Proc {
                parent: parent.file,
                ..child
            },
        );
    } else {
        let d = &org.devices[24 + rng.below(6)];
        let time = any_time(g, rng);
        let (file, folder, cmd) = if d.linux {
            *rng.pick(&LINUX_PROCS)
        } else {
            *rng.pick(&SERVER_PROCS)
        };
        let parent = if d.linux {
            Proc {
                file: "systemd",
                folder: "/usr/lib/systemd/systemd",
                command_line: "/sbin/init",
                pid: 1,
                parent: "",
                account: None,
            }
        } else {
            rows::SYSTEM
        };
        rows::process_created(
            g,
            d,
            time,
            &parent,
            &Proc {
                file,
                folder,
                command_line: cmd,
                pid,
                parent: parent.file,
                account: None,
            },
        );
    }
}

const SITES: [(&str, &str); 8] = [
    ("outlook.office365.com", "198.51.100.101"),
    ("teams.microsoft.com", "198.51.100.102"),
    ("contoso.sharepoint.com", "198.51.100.103"),
    ("www.bing.com", "198.51.100.104"),
    ("login.microsoftonline.com", "198.51.100.105"),
    ("github.com", "192.0.2.110"),
    ("update.googleapis.com", "192.0.2.111"),
    ("news.example.com", "192.0.2.112"),
];

fn network(g: &mut Gen, org: &Org, rng: &mut Rng) {
    let (d, u) = workstation(org, rng);
    let time = office_time(g, rng, u.office);
    let port = rng.range(49_152, 65_535) as i32;
    if rng.chance(0.7) {
        let &(url, ip) = rng.pick(&SITES);
        let &(file, folder, cmd, _) = rng.pick(&WORKSTATION_PROCS[..6]);
        let p = Proc {
            file,
            folder,
            command_line: cmd,
            pid: rng.range(1_000, 30_000),
            parent: "explorer.exe",
            account: Some(u),
        };
        let action = if rng.chance(0.03) {
            "ConnectionFailed"
        } else {
            "ConnectionSuccess"
        };
        rows::connection(g, d, time, &p, action, (ip, 443, url), port);
    } else {
        let (server, remote_port) = *rng.pick(&[
            ("srv-dc01", 389),
            ("srv-dc01", 88),
            ("srv-dc02", 445),
            ("srv-fs01", 445),
            ("srv-app01", 443),
            ("srv-sql01", 1433),
        ]);
        let s = org.device(server);
        let p = Proc {
            file: "svchost.exe",
            folder: "c:\\windows\\system32\\svchost.exe",
            command_line: "svchost.exe -k NetworkService",
            pid: 1_620,
            parent: "services.exe",
            account: None,
        };
        rows::connection(
            g,
            d,
            time,
            &p,
            "ConnectionSuccess",
            (&s.ip, remote_port, ""),
            port,
        );
    }
}

/// Servers people reach over the network from their workstations.
const LOGON_SERVERS: [&str; 3] = ["srv-fs01", "srv-dc01", "srv-app01"];

fn logon(g: &mut Gen, org: &Org, rng: &mut Rng) {
    let (d, u) = workstation(org, rng);
    let time = office_time(g, rng, u.office);
    let success = !rng.chance(0.03);
    match rng.below(10) {
        0..5 => {
            let kind = *rng.pick(&["Interactive", "Unlock", "Unlock", "CachedInteractive"]);
            rows::logon(
                g,
                d,
                Logon {
                    time,
                    user: Some(u),
                    logon_type: kind,
                    success,
                    protocol: "Kerberos",
                    remote: None,
                },
            );
        }
        5..8 => {
            let name = LOGON_SERVERS[rng.below(LOGON_SERVERS.len())];
            let server = org.device(name);
            rows::logon(
                g,
                server,
                Logon {
                    time,
                    user: Some(u),
                    logon_type: "Network",
                    success,
                    protocol: "Kerberos",
                    remote: Some(d),
                },
            );
        }
        8 => {
            let admin = &org.users[rng.below(2)];
            let server = &org.devices[24 + rng.below(5)];
            let from = admin.device.map_or(&org.devices[0], |d| &org.devices[d]);
            rows::logon(
                g,
                server,
                Logon {
                    time,
                    user: Some(admin),
                    logon_type: "RemoteInteractive",
                    success: true,
                    protocol: "Negotiate",
                    remote: Some(from),
                },
            );
        }
        _ => {
            let server = &org.devices[24 + rng.below(5)];
            let kind = *rng.pick(&["Service", "Batch"]);
            rows::logon(
                g,
                server,
                Logon {
                    time: any_time(g, rng),
                    user: None,
                    logon_type: kind,
                    success: true,
                    protocol: "Negotiate",
                    remote: None,
                },
            );
        }
    }
}

const DOC_STEMS: [&str; 10] = [
    "Q3-report",
    "budget",
    "meeting-notes",
    "proposal",
    "roadmap",
    "timesheet",
    "contract",
    "slides",
    "invoice",
    "design",
];
const DOC_EXTS: [(&str, &str); 4] = [
    ("docx", "WINWORD.EXE"),
    ("xlsx", "EXCEL.EXE"),
    ("pptx", "POWERPNT.EXE"),
    ("pdf", "msedge.exe"),
];

fn file(g: &mut Gen, org: &Org, rng: &mut Rng) {
    let stem = *rng.pick(&DOC_STEMS);
    let &(ext, app) = rng.pick(&DOC_EXTS);
    let name = format!("{stem}-{}.{ext}", rng.below(400));
    let size = rng.range(12_000, 4_000_000);
    if rng.chance(0.75) {
        let (d, u) = workstation(org, rng);
        let time = office_time(g, rng, u.office);
        let download = app == "msedge.exe";
        let folder = format!(
            "C:\\Users\\{}\\{}",
            u.sam,
            if download { "Downloads" } else { "Documents" }
        );
        let action = *rng.pick(&["FileCreated", "FileModified", "FileModified", "FileDeleted"]);
        let p = Proc {
            file: app,
            folder: "c:\\program files\\microsoft office\\root\\office16",
            command_line: app,
            pid: rng.range(1_000, 30_000),
            parent: "explorer.exe",
            account: Some(u),
        };
        let url = if download {
            "https://contoso.sharepoint.com/sites/Shared/Documents"
        } else {
            ""
        };
        rows::file_event(
            g,
            d,
            &p,
            FileEvent {
                time,
                action,
                name: &name,
                folder: &folder,
                size,
                origin_url: url,
                remote: None,
            },
        );
    } else {
        let (client, u) = workstation(org, rng);
        let time = office_time(g, rng, u.office);
        let fs = org.device("srv-fs01");
        let share = *rng.pick(&["Finance", "HR", "Engineering", "Marketing", "Sales"]);
        let folder = format!("D:\\Shares\\{share}");
        let system = Proc {
            file: "System",
            folder: "",
            command_line: "",
            pid: 4,
            parent: "",
            account: None,
        };
        let action = *rng.pick(&["FileCreated", "FileModified"]);
        rows::file_event(
            g,
            fs,
            &system,
            FileEvent {
                time,
                action,
                name: &name,
                folder: &folder,
                size,
                origin_url: "",
                remote: Some((u, &client.ip)),
            },
        );
    }
}

const PARTNERS: [&str; 6] = [
    "fabrikam.com",
    "northwindtraders.com",
    "adventure-works.com",
    "tailspintoys.com",
    "wingtiptoys.com",
    "litwareinc.com",
];
const SUBJECTS: [&str; 10] = [
    "Weekly sync notes",
    "RE: Contract renewal",
    "Invoice for October services",
    "Lunch on Friday?",
    "Updated project timeline",
    "FW: Security awareness training reminder",
    "Your order has shipped",
    "Quarterly newsletter",
    "Meeting request: roadmap review",
    "RE: Budget approval",
];

fn email(g: &mut Gen, org: &Org, rng: &mut Rng) {
    let to = rng.pick(&org.users);
    let time = office_time(g, rng, to.office);
    let inbound = rng.chance(0.6);
    let (from, from_domain, sender_ip, direction) = if inbound {
        let domain = *rng.pick(&PARTNERS);
        (
            format!(
                "{}@{domain}",
                rng.pick(&["billing", "info", "sales", "j.smith", "support"])
            ),
            domain.to_string(),
            format!("192.0.2.{}", 40 + rng.below(40)),
            "Inbound",
        )
    } else {
        let sender = rng.pick(&org.users);
        (
            sender.upn.clone(),
            DOMAIN.to_string(),
            String::new(),
            "Intra-org",
        )
    };
    let roll = rng.below(100);
    let (action, location, threats) = match roll {
        0..90 => ("Delivered", "Inbox/folder", ""),
        90..97 => ("Junked", "Junk folder", "Spam"),
        _ => (
            "Blocked",
            "Quarantine",
            if roll == 99 { "Malware" } else { "Phish" },
        ),
    };
    let (action, location, threats) = if inbound {
        (action, location, threats)
    } else {
        ("Delivered", "Inbox/folder", "")
    };
    let subject = *rng.pick(&SUBJECTS);
    g.push(
        Tbl::Email,
        [
            ("Timestamp", dt(time)),
            ("NetworkMessageId", s(rng.guid_string())),
            (
                "InternetMessageId",
                s(format!("<{}@{from_domain}>", rng.hex(20))),
            ),
            ("SenderMailFromAddress", s(&from)),
            ("SenderFromAddress", s(&from)),
            (
                "SenderDisplayName",
                s(from.split('@').next().unwrap_or_default()),
            ),
            ("SenderMailFromDomain", s(&from_domain)),
            ("SenderFromDomain", s(&from_domain)),
            ("SenderIPv4", s(sender_ip)),
            ("RecipientEmailAddress", s(&to.upn)),
            ("RecipientObjectId", s(&to.object_id)),
            ("Subject", s(subject)),
            ("EmailClusterId", long(rng.range(1_000_000, 9_000_000))),
            ("EmailDirection", s(direction)),
            ("DeliveryAction", s(action)),
            ("DeliveryLocation", s(location)),
            ("ThreatTypes", s(threats)),
            (
                "BulkComplaintLevel",
                int(if subject.contains("newsletter") { 6 } else { 0 }),
            ),
            ("AttachmentCount", int(rng.below(3) as i32)),
            ("UrlCount", int(rng.below(5) as i32)),
            (
                "AuthenticationDetails",
                s("{\"SPF\":\"pass\",\"DKIM\":\"pass\",\"DMARC\":\"pass\",\"CompAuth\":\"pass\"}"),
            ),
            ("ReportId", s(rng.guid_string())),
        ],
    );
}

fn office(g: &mut Gen, org: &Org, rng: &mut Rng) {
    let u = rng.pick(&org.users);
    let time = office_time(g, rng, u.office);
    let ip = OFFICES[u.office].egress_ip;
    if rng.chance(0.75) {
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
        let &(ext, _) = rng.pick(&DOC_EXTS);
        let name = format!("{}-{}.{ext}", rng.pick(&DOC_STEMS), rng.below(400));
        let op = *rng.pick(&[
            "FileAccessed",
            "FileAccessed",
            "FileAccessed",
            "FileModified",
            "FileUploaded",
            "FileDownloaded",
            "FilePreviewed",
        ]);
        let workload = if onedrive { "OneDrive" } else { "SharePoint" };
        g.push(
            Tbl::Office,
            [
                ("TimeGenerated", dt(time)),
                ("RecordType", s("SharePointFileOperation")),
                ("Operation", s(op)),
                ("OrganizationId", s(TENANT_ID)),
                ("UserType", s("Regular")),
                ("UserKey", s(&u.object_id)),
                ("OfficeWorkload", s(workload)),
                (
                    "OfficeObjectId",
                    s(format!("{site}Shared Documents/{name}")),
                ),
                ("UserId", s(&u.upn)),
                ("ClientIP", s(ip)),
                ("UserAgent", s(rows::ORG_USER_AGENT)),
                ("Site_Url", s(&site)),
                ("SourceRelativeUrl", s("Shared Documents")),
                ("SourceFileName", s(&name)),
                ("SourceFileExtension", s(ext)),
                ("ItemType", s("File")),
                ("EventSource", s("SharePoint")),
                ("ExternalAccess", s("false")),
                ("OfficeId", s(rng.guid_string())),
                ("SourceSystem", s("OfficeActivityManager")),
            ],
        );
    } else {
        let op = *rng.pick(&[
            "MailItemsAccessed",
            "MailItemsAccessed",
            "Send",
            "Set-Mailbox",
            "Update",
        ]);
        g.push(
            Tbl::Office,
            [
                ("TimeGenerated", dt(time)),
                (
                    "RecordType",
                    s(if op == "Set-Mailbox" {
                        "ExchangeAdmin"
                    } else {
                        "ExchangeItem"
                    }),
                ),
                ("Operation", s(op)),
                ("OrganizationId", s(TENANT_ID)),
                ("UserType", s("Regular")),
                ("UserKey", s(&u.object_id)),
                ("OfficeWorkload", s("Exchange")),
                ("ResultStatus", s("Succeeded")),
                ("OfficeObjectId", s(&u.upn)),
                ("UserId", s(&u.upn)),
                ("ClientIP", s(format!("{ip}:{}", rng.range(40_000, 60_000)))),
                ("MailboxOwnerUPN", s(&u.upn)),
                ("ExternalAccess", s("false")),
                ("OfficeId", s(rng.guid_string())),
                ("SourceSystem", s("OfficeActivityManager")),
            ],
        );
    }
}

fn firewall(g: &mut Gen, org: &Org, rng: &mut Rng) {
    let port = rng.range(49_152, 65_535) as i32;
    if rng.chance(0.9) {
        let (d, u) = workstation(org, rng);
        let time = office_time(g, rng, u.office);
        let &(_, ip) = rng.pick(&SITES);
        let (dst_port, app) = *rng.pick(&[
            (443, "ssl"),
            (443, "ssl"),
            (443, "ms-office365"),
            (80, "web-browsing"),
        ]);
        let sent = rng.range(400, 200_000);
        let received = rng.range(1_000, 5_000_000);
        let user = format!("contoso\\{}", u.sam);
        g.push(
            Tbl::Firewall,
            rows::firewall_row(
                time,
                (&d.ip, port),
                (ip, dst_port),
                app,
                (sent, received),
                &user,
            ),
        );
    } else {
        // Internet scanners knocking on the office egress, denied.
        let time = any_time(g, rng);
        let scanner = format!("192.0.2.{}", 150 + rng.below(100));
        let dst_port = *rng.pick(&[22, 23, 445, 3389, 8080]);
        let row = rows::firewall_row(
            time,
            (&scanner, port),
            (OFFICES[0].egress_ip, dst_port),
            "incomplete",
            (60, 0),
            "",
        );
        let deny = [
            ("DeviceAction", s("deny")),
            ("SimplifiedDeviceAction", s("Deny")),
            ("CommunicationDirection", s("Inbound")),
            ("DeviceInboundInterface", s("ethernet1/1")),
            ("DeviceOutboundInterface", s("")),
            ("SourceTranslatedAddress", s("")),
        ];
        g.push(Tbl::Firewall, row.into_iter().chain(deny));
    }
}

fn heartbeats(g: &mut Gen, org: &Org, rng: &mut Rng, n: usize) {
    let per_device = (n / org.devices.len()).max(1) as i64;
    let interval = SPAN / per_device;
    for d in &org.devices {
        let computer_id = rng.guid_string();
        let (os, os_name, major, minor) = if d.linux {
            ("Linux", "Ubuntu", "22", "04")
        } else if d.server {
            ("Windows", "Windows Server 2022 Datacenter", "10", "0")
        } else {
            ("Windows", "Windows 11 Enterprise", "10", "0")
        };
        let offset = rng.range(0, interval.max(1));
        for k in 0..per_device {
            let time = g.now - k * interval - offset;
            g.push(
                Tbl::Heartbeat,
                [
                    (
                        "SourceSystem",
                        s(if d.linux { "Linux" } else { "OpsManager" }),
                    ),
                    ("TimeGenerated", dt(time)),
                    ("SourceComputerId", s(&computer_id)),
                    ("ComputerIP", s(OFFICES[0].egress_ip)),
                    ("Computer", s(&d.short)),
                    ("Category", s("Azure Monitor Agent")),
                    ("OSType", s(os)),
                    ("OSName", s(os_name)),
                    ("OSMajorVersion", s(major)),
                    ("OSMinorVersion", s(minor)),
                    ("Version", s("1.33.0.0")),
                    ("IsGatewayInstalled", Value::Bool(false)),
                    ("RemoteIPCountry", s("United States")),
                    ("RemoteIPLatitude", Value::Real(OFFICES[0].lat)),
                    ("RemoteIPLongitude", Value::Real(OFFICES[0].lon)),
                    ("ComputerEnvironment", s("Non-Azure")),
                    ("Solutions", s("security, changeTracking")),
                    ("ComputerPrivateIPs", dy(json!([d.ip]))),
                ],
            );
        }
    }
}

/// The everyday alerts, and the incidents a SOC opened for them and mostly closed.
struct NoiseKind {
    name: &'static str,
    severity: &'static str,
    product: Product,
    description: &'static str,
    tactics: &'static str,
    techniques: &'static [&'static str],
    /// `(Classification, ClassificationReason, comment)` when the incident is closed.
    verdict: (&'static str, &'static str, &'static str),
}

const NOISE_KINDS: [NoiseKind; 7] = [
    NoiseKind {
        name: "Atypical travel",
        severity: "Medium",
        product: Product::IdentityProtection,
        description: "Sign-ins from two geographically distant locations within a time shorter than travel between them.",
        tactics: "InitialAccess",
        techniques: &["T1078"],
        verdict: (
            "BenignPositive",
            "SuspiciousButExpected",
            "User travelling between offices; confirmed with the user.",
        ),
    },
    NoiseKind {
        name: "Multiple failed sign-in attempts",
        severity: "Low",
        product: Product::Scheduled,
        description: "A user failed to sign in 10 or more times within 10 minutes.",
        tactics: "CredentialAccess",
        techniques: &["T1110"],
        verdict: (
            "BenignPositive",
            "SuspiciousButExpected",
            "User forgot the new password after a reset.",
        ),
    },
    NoiseKind {
        name: "'EICAR_Test_File' malware was prevented",
        severity: "Informational",
        product: Product::Endpoint,
        description: "The EICAR test file was detected and quarantined.",
        tactics: "Execution",
        techniques: &[],
        verdict: (
            "BenignPositive",
            "SuspiciousButExpected",
            "Antivirus test by IT.",
        ),
    },
    NoiseKind {
        name: "Anonymous IP address",
        severity: "Low",
        product: Product::IdentityProtection,
        description: "Sign-in from an anonymous IP address (for example a VPN service).",
        tactics: "InitialAccess",
        techniques: &["T1090"],
        verdict: (
            "FalsePositive",
            "InaccurateData",
            "Corporate VPN egress mis-classified as anonymous proxy.",
        ),
    },
    NoiseKind {
        name: "Email messages containing malicious URL removed after delivery",
        severity: "Informational",
        product: Product::Office,
        description: "Messages with a URL later found malicious were removed from mailboxes (zero-hour auto purge).",
        tactics: "InitialAccess",
        techniques: &["T1566.002"],
        verdict: (
            "TruePositive",
            "SuspiciousActivity",
            "ZAP removed the messages; no clicks.",
        ),
    },
    NoiseKind {
        name: "User added to privileged group",
        severity: "Medium",
        product: Product::Scheduled,
        description: "A user was added to a privileged directory role or group.",
        tactics: "Persistence, PrivilegeEscalation",
        techniques: &["T1098"],
        verdict: (
            "BenignPositive",
            "SuspiciousButExpected",
            "Approved change request.",
        ),
    },
    NoiseKind {
        name: "An uncommon file was created and added to a Run Key",
        severity: "Low",
        product: Product::Endpoint,
        description: "A file seen on few devices was added to an autorun registry key.",
        tactics: "Persistence",
        techniques: &["T1547.001"],
        verdict: (
            "FalsePositive",
            "IncorrectAlertLogic",
            "Line-of-business updater signed by the vendor.",
        ),
    },
];

fn alerts_and_incidents(g: &mut Gen, org: &Org, rng: &mut Rng, budget: usize) {
    let incidents = 6 + budget / 15_000;
    let standalone = 4 + budget / 10_000;
    let mut created: Vec<i64> = (0..incidents)
        .map(|_| rng.range(g.now - SPAN + HOUR, g.now - 2 * HOUR))
        .collect();
    created.sort_unstable();
    let mut number = 1000;
    for first in created {
        number += 1;
        if number == super::story::INCIDENT_NUMBER {
            number += 1;
        }
        let kind = rng.pick(&NOISE_KINDS);
        let user = &org.users[2 + rng.below(48)];
        let count = 1 + rng.below(3);
        let mut ids = Vec::new();
        let mut last = first;
        for k in 0..count {
            let start = (first + k as i64 * rng.range(10, 120) * MINUTE).min(g.now - 10 * MINUTE);
            last = start;
            ids.push(noise_alert(g, org, rng, kind, user, start));
        }
        let name = rng.guid_string();
        let incident = Incident {
            number,
            name: &name,
            description: kind.description,
            created: (first + 6 * MINUTE).min(g.now),
            tactics: &[],
            products: &[],
            labels: &[],
        };
        let analyst = &org.users[1];
        let title = kind.name;
        let mut modified = incident.created;
        sentinel::write_incident_version(
            g,
            &incident,
            base_of(&incident, title, kind, &ids, first, last),
        );
        if rng.chance(0.8) {
            modified += rng.range(20, 240) * MINUTE;
            if modified <= g.now {
                let active = IncidentVersion {
                    modified,
                    status: "Active",
                    owner: Some(analyst),
                    ..base_of(&incident, title, kind, &ids, first, last)
                };
                sentinel::write_incident_version(g, &incident, active);
                modified += rng.range(1, 30) * HOUR;
                if modified <= g.now && rng.chance(0.85) {
                    let closed = IncidentVersion {
                        modified,
                        status: "Closed",
                        owner: Some(analyst),
                        classification: Some(kind.verdict),
                        ..base_of(&incident, title, kind, &ids, first, last)
                    };
                    sentinel::write_incident_version(g, &incident, closed);
                }
            }
        }
    }
    for _ in 0..standalone {
        let kind = rng.pick(&NOISE_KINDS[..4]);
        let user = &org.users[2 + rng.below(48)];
        let start = rng.range(g.now - SPAN + HOUR, g.now - HOUR);
        noise_alert(g, org, rng, kind, user, start);
    }
}

fn base_of<'a>(
    incident: &Incident<'_>,
    title: &'a str,
    kind: &'a NoiseKind,
    ids: &'a [String],
    first: i64,
    last: i64,
) -> IncidentVersion<'a> {
    IncidentVersion {
        modified: incident.created,
        title,
        severity: kind.severity,
        status: "New",
        classification: None,
        owner: None,
        alert_ids: ids,
        comments: &[],
        first_activity: first,
        last_activity: last,
    }
}

fn noise_alert(
    g: &mut Gen,
    org: &Org,
    rng: &mut Rng,
    kind: &NoiseKind,
    user: &User,
    start: i64,
) -> String {
    let device = user.device.map_or(&org.devices[0], |d| &org.devices[d]);
    let entities = match kind.product {
        Product::Endpoint => vec![
            sentinel::host(device),
            sentinel::account(user),
            sentinel::file(
                "eicar.com",
                &format!("C:\\Users\\{}\\Downloads", user.sam),
                &super::file_hashes("eicar.com").1,
            ),
        ],
        Product::Office => vec![sentinel::mailbox(user)],
        _ => vec![
            sentinel::account(user),
            sentinel::ip(OFFICES[(user.office + 2) % 3].egress_ip),
        ],
    };
    let compromised = match kind.product {
        Product::Endpoint => device.fqdn.clone(),
        _ => user.upn.clone(),
    };
    let end = (start + rng.range(0, 30) * MINUTE + SECOND).min(g.now);
    sentinel::write_alert(
        g,
        rng,
        Alert {
            name: kind.name,
            severity: kind.severity,
            product: kind.product,
            description: kind.description,
            tactics: kind.tactics,
            techniques: kind.techniques,
            compromised: &compromised,
            entities,
            start,
            end,
        },
    )
}
