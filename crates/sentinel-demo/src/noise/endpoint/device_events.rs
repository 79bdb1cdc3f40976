//! Miscellaneous device events (DeviceEvents), each under the action type Defender records:
//! USB devices, antivirus, attack surface reduction audits, network protection, DNS, named pipes,
//! PowerShell and the rest.

use serde_json::json;

use super::SITES;
use crate::noise::{office_time, workstation};
use crate::org::Org;
use crate::rows::{self, Proc};
use crate::{Gen, Rng, SECOND, dy, int, long, s};

/// USB sticks people plug in: (product, manufacturer, vendor id).
const USB: [(&str, &str, &str); 3] = [
    ("Ultra USB 3.0", "SanDisk", "USB\\VID_0781&PID_5581"),
    ("DataTraveler 3.0", "Kingston", "USB\\VID_0951&PID_1666"),
    ("Portable SSD T7", "Samsung", "USB\\VID_04E8&PID_4001"),
];

pub(crate) fn device_events(g: &mut Gen, org: &Org, rng: &mut Rng, n: usize) {
    for _ in 0..n {
        let (d, u) = workstation(org, rng);
        let time = office_time(g, rng, u.office);
        let user_proc = |file: &'static str, folder: &'static str| Proc {
            file,
            folder,
            command_line: file,
            pid: 3_000 + (time % 20_000),
            parent: "explorer.exe",
            account: Some(u),
        };
        let outlook = user_proc(
            "OUTLOOK.EXE",
            "c:\\program files\\microsoft office\\root\\office16\\outlook.exe",
        );
        let edge = user_proc(
            "msedge.exe",
            "c:\\program files (x86)\\microsoft\\edge\\application\\msedge.exe",
        );
        let defender = Proc {
            file: "MsMpEng.exe",
            folder: "c:\\programdata\\microsoft\\windows defender\\platform\\4.18.24090.11-0\\msmpeng.exe",
            command_line: "\"MsMpEng.exe\"",
            pid: 3_412,
            parent: "services.exe",
            account: None,
        };
        let system = rows::SYSTEM;
        let admin = &org.users[rng.below(2)];
        let server = &org.devices[24 + rng.below(5)];
        match rng.below(100) {
            0..28 => {
                let &(url, _) = rng.pick(&SITES);
                rows::device_event(
                    g,
                    d,
                    time,
                    &outlook,
                    "BrowserLaunchedToOpenUrl",
                    [("RemoteUrl", s(format!("https://{url}/")))],
                );
            }
            28..38 => {
                let action = *rng.pick(&["AntivirusScanCompleted", "AntivirusDefinitionsUpdated"]);
                rows::device_event(
                    g,
                    d,
                    time,
                    &defender,
                    action,
                    [(
                        "AdditionalFields",
                        dy(json!({"ScanTypeIndex": "Quick", "Domain": "", "User": "SYSTEM"})),
                    )],
                );
            }
            38..44 => {
                // A warning, which the user overrides about a third of the time: Defender links the
                // two by their ActivityId.
                let &(url, _) = rng.pick(&SITES[5..8]);
                let app = rng.chance(0.3);
                let (action, experience, file) = if app {
                    ("SmartScreenAppWarning", "Untrusted", "setup-helper.exe")
                } else {
                    (
                        "SmartScreenUrlWarning",
                        *rng.pick(&["Untrusted", "Phishing", "Malicious"]),
                        "",
                    )
                };
                let activity = rng.guid_string();
                let overridden = rng.chance(0.35);
                for (k, action) in [action, "SmartScreenUserOverride"]
                    .into_iter()
                    .take(1 + overridden as usize)
                    .enumerate()
                {
                    rows::device_event(
                        g,
                        d,
                        time + k as i64 * 9 * SECOND,
                        &edge,
                        action,
                        [
                            ("RemoteUrl", s(format!("https://{url}/download"))),
                            ("FileName", s(file)),
                            (
                                "AdditionalFields",
                                dy(json!({"Experience": experience, "ActivityId": activity})),
                            ),
                        ],
                    );
                }
            }
            44..49 => {
                let &(product, maker, vid) = rng.pick(&USB);
                rows::device_event(
                    g,
                    d,
                    time,
                    &system,
                    "PnpDeviceConnected",
                    [(
                        "AdditionalFields",
                        dy(
                            json!({"ClassName": "DiskDrive", "DeviceDescription": format!("{maker} {product} USB Device"),
                                  "DeviceId": format!("{vid}\\4C530001230627113291"), "VendorIds": vid,
                                  "ClassId": "{4d36e967-e325-11ce-bfc1-08002be10318}"}),
                        ),
                    )],
                );
                rows::device_event(
                    g,
                    d,
                    time + 2 * SECOND,
                    &system,
                    "UsbDriveMounted",
                    [(
                        "AdditionalFields",
                        dy(
                            json!({"DriveLetter": "E:", "ProductName": product, "Manufacturer": maker,
                                  "SerialNumber": "4C530001230627113291", "Volume": "\\\\?\\Volume{8a1f...}",
                                  "BusType": 7, "LoggedOnUsers": u.sam}),
                        ),
                    )],
                );
            }
            49..56 => {
                let (kind, rule) = *rng.pick(&[
                    (
                        "AsrLsassCredentialTheftAudited",
                        "9e6c4e1f-7d60-472f-ba1a-a39ef669e4b2",
                    ),
                    (
                        "AsrOfficeChildProcessAudited",
                        "d4f940ab-401b-4efc-aadc-ad5f3c50688a",
                    ),
                    (
                        "AsrPsexecWmiChildProcessAudited",
                        "d1e49aac-8f56-4280-b9ba-993a6d77406c",
                    ),
                    (
                        "AsrExecutableEmailContentAudited",
                        "be9ba2d9-53ea-4cdc-84e5-9b1eeee46550",
                    ),
                ]);
                let excel = user_proc(
                    "EXCEL.EXE",
                    "c:\\program files\\microsoft office\\root\\office16\\excel.exe",
                );
                rows::device_event(
                    g,
                    d,
                    time,
                    &excel,
                    kind,
                    [
                        ("FileName", s("splwow64.exe")),
                        ("FolderPath", s("C:\\Windows\\splwow64.exe")),
                        (
                            "AdditionalFields",
                            dy(json!({"IsAudit": true, "RuleId": rule})),
                        ),
                    ],
                );
            }
            56..61 => {
                let sense = Proc {
                    file: "MsSense.exe",
                    folder: "c:\\program files\\windows defender advanced threat protection\\mssense.exe",
                    command_line: "\"MsSense.exe\"",
                    pid: 3_990,
                    parent: "services.exe",
                    account: None,
                };
                rows::device_event(
                    g,
                    d,
                    time,
                    &sense,
                    "OpenProcessApiCall",
                    [
                        ("FileName", s("lsass.exe")),
                        ("FolderPath", s("C:\\Windows\\System32\\lsass.exe")),
                        ("AdditionalFields", dy(json!({"DesiredAccess": 4096}))),
                    ],
                );
            }
            61..66 => {
                let teams = user_proc(
                    "ms-teams.exe",
                    "c:\\program files\\windowsapps\\msteams\\ms-teams.exe",
                );
                let site = rng.pick(&SITES[..5]).0;
                rows::device_event(
                    g,
                    d,
                    time,
                    &teams,
                    "DnsQueryResponse",
                    [(
                        "AdditionalFields",
                        dy(
                            json!({"DnsQueryString": site, "DnsQueryResult": [{"DnsQueryType": "A"}]}),
                        ),
                    )],
                );
            }
            66..71 => rows::device_event(
                g,
                d,
                time,
                &system,
                "NamedPipeEvent",
                [(
                    "AdditionalFields",
                    dy(
                        json!({"PipeName": "\\Device\\NamedPipe\\mojo.5480.1234", "FileOperation": "File opened",
                              "NamedPipeEnd": "Client", "ShareMode": "Read"}),
                    ),
                )],
            ),
            71..74 => {
                let snip = user_proc(
                    "SnippingTool.exe",
                    "c:\\program files\\windowsapps\\microsoft.screensketch\\snippingtool.exe",
                );
                rows::device_event(g, d, time, &snip, "ScreenshotTaken", []);
            }
            74..79 => {
                let ps = user_proc(
                    "powershell.exe",
                    "c:\\windows\\system32\\windowspowershell\\v1.0\\powershell.exe",
                );
                let command = *rng.pick(&[
                    "Get-ItemProperty",
                    "Get-Service",
                    "Test-NetConnection",
                    "Get-ChildItem",
                    "Set-ExecutionPolicy",
                ]);
                rows::device_event(
                    g,
                    d,
                    time,
                    &ps,
                    "PowerShellCommand",
                    [("AdditionalFields", dy(json!({"Command": command})))],
                );
            }
            79..83 => {
                let action = *rng.pick(&["ScheduledTaskUpdated", "ScheduledTaskCreated"]);
                rows::device_event(
                    g,
                    d,
                    time,
                    &system,
                    action,
                    [(
                        "AdditionalFields",
                        dy(
                            json!({"TaskName": "\\Microsoft\\Windows\\UpdateOrchestrator\\Schedule Scan",
                                  "TaskContent": "<Task/>"}),
                        ),
                    )],
                );
            }
            83..86 => {
                // NetBIOS chatter between workstations, and the vulnerability scanner's sweeps,
                // which several workstations' firewalls refuse within minutes.
                let sweep = rng.chance(0.3);
                let (remote, port, targets) = if sweep {
                    ("10.20.0.40".to_string(), 445, 4 + rng.below(3))
                } else {
                    (format!("10.10.1.{}", 1 + rng.below(24)), 137, 1)
                };
                for k in 0..targets {
                    let target = if k == 0 { d } else { workstation(org, rng).0 };
                    rows::device_event(
                        g,
                        target,
                        time + k as i64 * 40 * SECOND,
                        &system,
                        "FirewallInboundConnectionBlocked",
                        [
                            ("RemoteIP", s(&remote)),
                            (
                                "RemotePort",
                                int(if sweep { 53_000 + k as i32 } else { 137 }),
                            ),
                            ("LocalPort", int(port)),
                        ],
                    );
                }
            }
            86..89 => {
                let &(url, ip) = rng.pick(&SITES[5..8]);
                let action = *rng.pick(&[
                    "ExploitGuardNetworkProtectionAudited",
                    "ExploitGuardNetworkProtectionBlocked",
                ]);
                let &(category, name) = rng.pick(&[
                    ("CustomBlockList", ""),
                    ("CustomBlockList", ""),
                    ("Malicious", "Malicious site"),
                    ("Phishing", "Phishing site"),
                    ("CustomPolicy", "Block file-sharing sites"),
                ]);
                rows::device_event(
                    g,
                    d,
                    time,
                    &edge,
                    action,
                    [
                        ("RemoteUrl", s(url)),
                        ("RemoteIP", s(ip)),
                        (
                            "AdditionalFields",
                            dy(json!({"ResponseCategory": category, "DisplayName": name,
                                       "IsAudit": action.ends_with("Audited")})),
                        ),
                    ],
                );
            }
            89..91 => {
                let notepad = user_proc(
                    "notepad++.exe",
                    "c:\\program files\\notepad++\\notepad++.exe",
                );
                rows::device_event(
                    g,
                    d,
                    time,
                    &notepad,
                    "ControlledFolderAccessViolationAudited",
                    [
                        ("FileName", s("notes.docx")),
                        (
                            "FolderPath",
                            s(format!("C:\\Users\\{}\\Documents\\notes.docx", u.sam)),
                        ),
                        ("AdditionalFields", dy(json!({"IsAudit": true}))),
                    ],
                );
            }
            91..93 => rows::device_event(
                g,
                d,
                time,
                &defender,
                "CreateRemoteThreadApiCall",
                [
                    ("FileName", s("svchost.exe")),
                    ("FolderPath", s("C:\\Windows\\System32\\svchost.exe")),
                    ("ProcessId", long(1_212)),
                ],
            ),
            93..95 => rows::device_event(
                g,
                d,
                time,
                &system,
                "ProcessPrimaryTokenModified",
                [
                    ("FileName", s("consent.exe")),
                    ("FolderPath", s("C:\\Windows\\System32\\consent.exe")),
                    (
                        "AdditionalFields",
                        dy(
                            json!({"OriginalTokenIntegrityLevel": "Medium", "TokenModificationProperties": "PrivilegesAdded"}),
                        ),
                    ),
                ],
            ),
            95..97 => {
                let (file, threat, category) = *rng.pick(&[
                    ("eicar.com", "Virus:DOS/EICAR_Test_File", "Virus"),
                    (
                        "freepdf-setup.exe",
                        "PUA:Win32/Softcnapp",
                        "PotentiallyUnwantedSoftware",
                    ),
                ]);
                rows::device_event(
                    g,
                    d,
                    time,
                    &defender,
                    "AntivirusDetection",
                    [
                        ("FileName", s(file)),
                        (
                            "FolderPath",
                            s(format!("C:\\Users\\{}\\Downloads\\{file}", u.sam)),
                        ),
                        ("SHA1", s(crate::file_hashes(file).0)),
                        (
                            "AdditionalFields",
                            dy(json!({"ThreatName": threat, "WasRemediated": true,
                                      "WasExecutingWhileDetected": false, "Category": category})),
                        ),
                    ],
                );
            }
            97 => {
                let mmc = Proc {
                    file: "mmc.exe",
                    folder: "c:\\windows\\system32\\mmc.exe",
                    command_line: "\"C:\\WINDOWS\\system32\\mmc.exe\" \"C:\\WINDOWS\\system32\\lusrmgr.msc\"",
                    pid: 6_104,
                    parent: "explorer.exe",
                    account: Some(admin),
                };
                rows::device_event(
                    g,
                    server,
                    time,
                    &mmc,
                    "UserAccountCreated",
                    [
                        ("AccountName", s("svc-backup")),
                        ("AccountDomain", s(server.short.to_ascii_uppercase())),
                        (
                            "AccountSid",
                            s("S-1-5-21-3623811015-3361044348-30300820-1013"),
                        ),
                    ],
                );
            }
            _ => {
                let mmc = Proc {
                    file: "mmc.exe",
                    folder: "c:\\windows\\system32\\mmc.exe",
                    command_line: "\"C:\\WINDOWS\\system32\\mmc.exe\" \"C:\\WINDOWS\\system32\\lusrmgr.msc\"",
                    pid: 6_104,
                    parent: "explorer.exe",
                    account: Some(admin),
                };
                let target = rng.pick(&org.users[..2]);
                rows::device_event(
                    g,
                    server,
                    time,
                    &mmc,
                    "UserAccountAddedToLocalGroup",
                    [
                        ("AccountSid", s(&target.sid)),
                        ("AccountName", s(&target.sam)),
                        ("AccountDomain", s("contoso")),
                        (
                            "AdditionalFields",
                            dy(
                                json!({"GroupName": "Administrators", "GroupDomainName": "BUILTIN",
                                      "GroupSid": "S-1-5-32-544"}),
                            ),
                        ),
                    ],
                );
            }
        }
    }
}
