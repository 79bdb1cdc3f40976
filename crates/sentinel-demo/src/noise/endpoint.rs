//! Defender for Endpoint telemetry of everyday work: processes, connections, files, logons,
//! miscellaneous device events, registry changes and image loads.

use serde_json::json;

use super::super::org::{Device, Org, User};
use super::super::rows::{self, FileEvent, Logon, Proc};
use super::super::{Gen, Rng, SECOND, dy, int, long, s};
use super::{any_time, office_time, workstation};

/// Everyday workstation processes: (file, folder, command line, started by the user?).
const WORKSTATION_PROCS: [(&str, &str, &str, bool); 24] = [
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
        "POWERPNT.EXE",
        "c:\\program files\\microsoft office\\root\\office16\\powerpnt.exe",
        "\"POWERPNT.EXE\" ",
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
        "OneDrive.exe",
        "c:\\program files\\microsoft onedrive\\onedrive.exe",
        "\"OneDrive.exe\" /background",
        true,
    ),
    (
        "cmd.exe",
        "c:\\windows\\system32\\cmd.exe",
        "cmd.exe /c ipconfig /all",
        true,
    ),
    (
        "notepad.exe",
        "c:\\windows\\system32\\notepad.exe",
        "\"notepad.exe\" C:\\Users\\Public\\notes.txt",
        true,
    ),
    (
        "SnippingTool.exe",
        "c:\\program files\\windowsapps\\microsoft.screensketch\\snippingtool.exe",
        "\"SnippingTool.exe\"",
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
        "gpupdate.exe",
        "c:\\windows\\system32\\gpupdate.exe",
        "gpupdate.exe /target:computer",
        false,
    ),
    (
        "msiexec.exe",
        "c:\\windows\\system32\\msiexec.exe",
        "msiexec.exe /i \"C:\\Windows\\ccmcache\\2f\\TeamsMachineInstaller.msi\" /qn",
        false,
    ),
    (
        "rundll32.exe",
        "c:\\windows\\system32\\rundll32.exe",
        "rundll32.exe C:\\Windows\\system32\\printui.dll,PrintUIEntry /in /n \\\\srv-app01\\Floor2-Printer",
        true,
    ),
    (
        "conhost.exe",
        "c:\\windows\\system32\\conhost.exe",
        "\\??\\C:\\WINDOWS\\system32\\conhost.exe 0xffffffff -ForceV1",
        false,
    ),
    (
        "taskhostw.exe",
        "c:\\windows\\system32\\taskhostw.exe",
        "taskhostw.exe",
        true,
    ),
    (
        "wuauclt.exe",
        "c:\\windows\\system32\\wuauclt.exe",
        "\"wuauclt.exe\" /RunHandlerComServer",
        false,
    ),
    (
        "MsMpEng.exe",
        "c:\\programdata\\microsoft\\windows defender\\platform\\4.18.24090.11-0\\msmpeng.exe",
        "\"MsMpEng.exe\"",
        false,
    ),
];

/// What the IT admins run: (file, folder, command line).
const ADMIN_PROCS: [(&str, &str, &str); 19] = [
    (
        "net.exe",
        "c:\\windows\\system32\\net.exe",
        "net.exe localgroup administrators",
    ),
    (
        "net.exe",
        "c:\\windows\\system32\\net.exe",
        "net.exe user jlee /domain",
    ),
    (
        "net1.exe",
        "c:\\windows\\system32\\net1.exe",
        "C:\\WINDOWS\\system32\\net1 localgroup administrators",
    ),
    (
        "whoami.exe",
        "c:\\windows\\system32\\whoami.exe",
        "whoami.exe /groups",
    ),
    (
        "reg.exe",
        "c:\\windows\\system32\\reg.exe",
        "reg.exe query HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall /s",
    ),
    (
        "schtasks.exe",
        "c:\\windows\\system32\\schtasks.exe",
        "schtasks.exe /query /fo LIST /v",
    ),
    (
        "sc.exe",
        "c:\\windows\\system32\\sc.exe",
        "sc.exe query wuauserv",
    ),
    (
        "netsh.exe",
        "c:\\windows\\system32\\netsh.exe",
        "netsh.exe advfirewall show allprofiles",
    ),
    (
        "nltest.exe",
        "c:\\windows\\system32\\nltest.exe",
        "nltest.exe /dsgetdc:contoso.com",
    ),
    (
        "ipconfig.exe",
        "c:\\windows\\system32\\ipconfig.exe",
        "ipconfig.exe /flushdns",
    ),
    (
        "mstsc.exe",
        "c:\\windows\\system32\\mstsc.exe",
        "mstsc.exe /v:srv-app01.contoso.com",
    ),
    (
        "powershell.exe",
        "c:\\windows\\system32\\windowspowershell\\v1.0\\powershell.exe",
        "powershell.exe -Command Get-ADUser -Filter * -SearchBase \"OU=Users,DC=contoso,DC=com\"",
    ),
    (
        "certutil.exe",
        "c:\\windows\\system32\\certutil.exe",
        "certutil.exe -store my",
    ),
    (
        "wmic.exe",
        "c:\\windows\\system32\\wbem\\wmic.exe",
        "wmic.exe os get caption,version",
    ),
    (
        "net.exe",
        "c:\\windows\\system32\\net.exe",
        "net.exe group \"IT\" pwagner /add /domain",
    ),
    (
        "PsExec.exe",
        "c:\\tools\\sysinternals\\psexec.exe",
        "PsExec.exe -accepteula \\\\srv-app01 cmd.exe /c \"sc query w3svc\"",
    ),
    (
        "runas.exe",
        "c:\\windows\\system32\\runas.exe",
        "runas.exe /user:contoso\\adavis-adm mmc.exe",
    ),
    (
        "ping.exe",
        "c:\\windows\\system32\\ping.exe",
        "ping.exe -n 4 srv-fs01.contoso.com",
    ),
    (
        "ssh.exe",
        "c:\\windows\\system32\\openssh\\ssh.exe",
        "ssh.exe adavis@srv-web01.contoso.com",
    ),
];

/// Benign parent and child pairs of software at work: (parent, parent command line, child, child
/// folder, child command line, system account?).
const CHAINS: [(&str, &str, &str, &str, &str, bool); 12] = [
    (
        "AgentExecutor.exe",
        "\"AgentExecutor.exe\" -powershell",
        "powershell.exe",
        "c:\\windows\\system32\\windowspowershell\\v1.0\\powershell.exe",
        "powershell.exe -NoLogo -NonInteractive -ExecutionPolicy Bypass -EncodedCommand RwBlAHQALQBDAGkAbQBJAG4AcwB0AGEAbgBjAGUAIAAtAEMAbABhAHMAcwBOAGEAbQBlACAAVwBpAG4AMwAyAF8AQwBvAG0AcAB1AHQAZQByAFMAeQBzAHQAZQBtACAAfAAgAFMAZQBsAGUAYwB0AC0ATwBiAGoAZQBjAHQAIABNAGEAbgB1AGYAYQBjAHQAdQByAGUAcgAsAE0AbwBkAGUAbAA=",
        true,
    ),
    (
        "CcmExec.exe",
        "C:\\WINDOWS\\CCM\\CcmExec.exe",
        "powershell.exe",
        "c:\\windows\\system32\\windowspowershell\\v1.0\\powershell.exe",
        "powershell.exe -NoProfile -NonInteractive -enc WwBDAG8AbgBzAG8AbABlAF0AOgA6AE8AdQB0AHAAdQB0AEUAbgBjAG8AZABpAG4AZwA9AFsAVABlAHgAdAAuAEUAbgBjAG8AZABpAG4AZwBdADoAOgBVAFQARgA4ADsAIABHAGUAdAAtAEkAdABlAG0AUAByAG8AcABlAHIAdAB5ACAASABLAEwATQA6AFwAUwBPAEYAVABXAEEAUgBFAFwATQBpAGMAcgBvAHMAbwBmAHQAXABXAGkAbgBkAG8AdwBzAFwAQwB1AHIAcgBlAG4AdABWAGUAcgBzAGkAbwBuAFwAVQBuAGkAbgBzAHQAYQBsAGwAXAAqACAAfAAgAFMAZQBsAGUAYwB0AC0ATwBiAGoAZQBjAHQAIABEAGkAcwBwAGwAYQB5AE4AYQBtAGUA",
        true,
    ),
    (
        "msiexec.exe",
        "C:\\WINDOWS\\system32\\msiexec.exe /V",
        "netsh.exe",
        "c:\\windows\\system32\\netsh.exe",
        "netsh.exe advfirewall firewall add rule name=\"Teams\" dir=in action=allow program=\"C:\\Program Files\\WindowsApps\\MSTeams\\ms-teams.exe\"",
        true,
    ),
    (
        "msiexec.exe",
        "C:\\WINDOWS\\system32\\msiexec.exe /V",
        "taskkill.exe",
        "c:\\windows\\system32\\taskkill.exe",
        "taskkill.exe /F /IM ms-teams.exe",
        true,
    ),
    (
        "wmiprvse.exe",
        "C:\\WINDOWS\\system32\\wbem\\wmiprvse.exe -secured -Embedding",
        "gpupdate.exe",
        "c:\\windows\\system32\\gpupdate.exe",
        "gpupdate.exe /force",
        true,
    ),
    (
        "svchost.exe",
        "svchost.exe -k netsvcs -p -s Schedule",
        "schtasks.exe",
        "c:\\windows\\system32\\schtasks.exe",
        "schtasks.exe /run /tn \"\\Microsoft\\Office\\Office Automatic Updates 2.0\"",
        true,
    ),
    (
        "svchost.exe",
        "svchost.exe -k WerSvcGroup",
        "WerFault.exe",
        "c:\\windows\\system32\\werfault.exe",
        "C:\\WINDOWS\\system32\\WerFault.exe -u -p 10312 -s 552",
        false,
    ),
    (
        "EXCEL.EXE",
        "\"EXCEL.EXE\" \"C:\\Users\\Public\\Finance\\month-end-close.xlsm\"",
        "splwow64.exe",
        "c:\\windows\\splwow64.exe",
        "C:\\WINDOWS\\splwow64.exe 12288",
        false,
    ),
    (
        "cmd.exe",
        "C:\\WINDOWS\\system32\\cmd.exe /c \"\\\\srv-dc01\\NETLOGON\\logon.bat\"",
        "net.exe",
        "c:\\windows\\system32\\net.exe",
        "net.exe use H: \\\\srv-fs01\\home",
        false,
    ),
    (
        "cmd.exe",
        "C:\\WINDOWS\\system32\\cmd.exe /c \"\\\\srv-dc01\\NETLOGON\\logon.bat\"",
        "ping.exe",
        "c:\\windows\\system32\\ping.exe",
        "ping.exe -n 1 srv-fs01",
        false,
    ),
    (
        "rundll32.exe",
        "rundll32.exe C:\\WINDOWS\\system32\\shell32.dll,Control_RunDLL",
        "SystemSettings.exe",
        "c:\\windows\\immersivecontrolpanel\\systemsettings.exe",
        "\"SystemSettings.exe\" -ServerName:microsoft.windows.immersivecontrolpanel",
        false,
    ),
    (
        "wbengine.exe",
        "\"C:\\WINDOWS\\system32\\wbengine.exe\"",
        "vssadmin.exe",
        "c:\\windows\\system32\\vssadmin.exe",
        "vssadmin.exe list shadows",
        true,
    ),
];

const SERVER_PROCS: [(&str, &str, &str); 6] = [
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
    (
        "vssvc.exe",
        "c:\\windows\\system32\\vssvc.exe",
        "C:\\WINDOWS\\system32\\vssvc.exe",
    ),
];

const LINUX_PROCS: [(&str, &str, &str); 6] = [
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
    (
        "curl",
        "/usr/bin/curl",
        "curl -fsS https://packages.microsoft.com/config/ubuntu/22.04/prod.list",
    ),
    (
        "bash",
        "/usr/bin/bash",
        "/bin/bash -c /usr/local/bin/backup.sh",
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

const SYSTEMD: Proc<'static> = Proc {
    file: "systemd",
    folder: "/usr/lib/systemd/systemd",
    command_line: "/sbin/init",
    pid: 1,
    parent: "",
    account: None,
};

fn server<'a>(org: &'a Org, rng: &mut Rng) -> &'a Device {
    &org.devices[24 + rng.below(6)]
}

pub(super) fn processes(g: &mut Gen, org: &Org, rng: &mut Rng, n: usize) {
    for _ in 0..n {
        let pid = rng.range(1_000, 30_000);
        let roll = rng.below(100);
        if roll < 75 {
            let (d, u) = workstation(org, rng);
            let time = office_time(g, rng, u.office);
            let &(file, folder, cmd, user) = rng.pick(&WORKSTATION_PROCS);
            let parent = if user { explorer(u) } else { rows::SYSTEM };
            let child = Proc {
                file,
                folder,
                command_line: cmd,
                pid,
                parent: parent.file,
                account: user.then_some(u),
            };
            rows::process_created(g, d, time, &parent, &child);
        } else if roll < 80 {
            let &(parent, parent_cmd, file, folder, cmd, system) = rng.pick(&CHAINS);
            let (d, u) = workstation(org, rng);
            let d = if parent == "wbengine.exe" {
                org.device("srv-fs01")
            } else {
                d
            };
            let time = office_time(g, rng, u.office);
            let account = (!system).then_some(u);
            let parent = Proc {
                file: parent,
                folder: "c:\\windows\\system32",
                command_line: parent_cmd,
                pid: pid - 60,
                parent: if system {
                    "services.exe"
                } else {
                    "explorer.exe"
                },
                account,
            };
            let child = Proc {
                file,
                folder,
                command_line: cmd,
                pid,
                parent: parent.file,
                account,
            };
            rows::process_created(g, d, time, &parent, &child);
        } else if roll < 85 {
            let admin = &org.users[rng.below(2)];
            let d = if rng.chance(0.5) {
                org.workstation_of(admin)
            } else {
                &org.devices[24 + rng.below(5)]
            };
            let time = office_time(g, rng, admin.office);
            let &(file, folder, cmd) = rng.pick(&ADMIN_PROCS);
            let shell = Proc {
                file: "powershell.exe",
                folder: "c:\\windows\\system32\\windowspowershell\\v1.0\\powershell.exe",
                command_line: "\"C:\\WINDOWS\\System32\\WindowsPowerShell\\v1.0\\powershell.exe\"",
                pid: pid - 40,
                parent: "explorer.exe",
                account: Some(admin),
            };
            let child = Proc {
                file,
                folder,
                command_line: cmd,
                pid,
                parent: "powershell.exe",
                account: Some(admin),
            };
            rows::process_created(g, d, time, &shell, &child);
        } else {
            let d = server(org, rng);
            let time = any_time(g, rng);
            let (file, folder, cmd) = if d.linux {
                *rng.pick(&LINUX_PROCS)
            } else {
                *rng.pick(&SERVER_PROCS)
            };
            let parent = if d.linux { SYSTEMD } else { rows::SYSTEM };
            let child = Proc {
                file,
                folder,
                command_line: cmd,
                pid,
                parent: parent.file,
                account: None,
            };
            rows::process_created(g, d, time, &parent, &child);
        }
    }
}

pub(super) const SITES: [(&str, &str); 10] = [
    ("outlook.office365.com", "198.51.100.101"),
    ("teams.microsoft.com", "198.51.100.102"),
    ("contoso.sharepoint.com", "198.51.100.103"),
    ("www.bing.com", "198.51.100.104"),
    ("login.microsoftonline.com", "198.51.100.105"),
    ("github.com", "192.0.2.110"),
    ("update.googleapis.com", "192.0.2.111"),
    ("news.example.com", "192.0.2.112"),
    ("winatp-gw-eus.microsoft.com", "198.51.100.106"),
    ("settings-win.data.microsoft.com", "198.51.100.107"),
];

pub(super) fn network(g: &mut Gen, org: &Org, rng: &mut Rng, n: usize) {
    for _ in 0..n {
        let roll = rng.below(100);
        let port = rng.range(49_152, 65_535) as i32;
        if roll < 88 {
            let (d, u) = workstation(org, rng);
            let time = office_time(g, rng, u.office);
            if roll < 62 {
                let &(url, ip) = rng.pick(&SITES);
                let &(file, folder, cmd, _) = rng.pick(&WORKSTATION_PROCS[..9]);
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
                // Most of the web is TLS; network protection inspects the plain HTTP.
                if rng.chance(0.1) {
                    let path = *rng.pick(&[
                        "index.html",
                        "downloads/update.msi",
                        "images/banner.png",
                        "feed.xml",
                    ]);
                    let http = format!("http://{url}/{path}");
                    rows::connection(g, d, time, &p, action, (ip, 80, &http), port);
                    rows::inspected(g, d, time, &p, (ip, 80, &http), port);
                } else {
                    rows::connection(g, d, time, &p, action, (ip, 443, url), port);
                }
            } else if roll < 64 && u.admin {
                let web = org.device("srv-web01");
                let ssh = Proc {
                    file: "ssh.exe",
                    folder: "c:\\windows\\system32\\openssh\\ssh.exe",
                    command_line: "ssh.exe adavis@srv-web01.contoso.com",
                    pid: rng.range(1_000, 30_000),
                    parent: "powershell.exe",
                    account: Some(u),
                };
                rows::connection(
                    g,
                    d,
                    time,
                    &ssh,
                    "ConnectionSuccess",
                    (&web.ip, 22, "srv-web01.contoso.com"),
                    port,
                );
            } else {
                let (server, remote_port) = *rng.pick(&[
                    ("srv-dc01", 389),
                    ("srv-dc01", 88),
                    ("srv-dc01", 53),
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
        } else {
            // Servers' services accept connections from workstations, and listen again when the
            // service restarts (after patching).
            let &(server, local, (file, folder, cmd)) = rng.pick(&SERVER_SERVICES);
            let d = org.device(server);
            let time = any_time(g, rng);
            let p = Proc {
                file,
                folder,
                command_line: cmd,
                pid: 700 + (local as i64 % 97) * 13,
                parent: "services.exe",
                account: None,
            };
            if roll < 95 && local != 22 {
                let (client, _) = workstation(org, rng);
                rows::connection(
                    g,
                    d,
                    time,
                    &p,
                    "InboundConnectionAccepted",
                    (&client.ip, port, ""),
                    local,
                );
            } else {
                rows::connection(
                    g,
                    d,
                    time,
                    &p,
                    "ListeningConnectionCreated",
                    ("", 0, ""),
                    local,
                );
            }
        }
    }
}

const LSASS_SERVICE: (&str, &str, &str) =
    ("lsass.exe", "c:\\windows\\system32\\lsass.exe", "lsass.exe");
const SYSTEM_SERVICE: (&str, &str, &str) = ("System", "", "");

/// What the servers serve: (server, local port, listening process).
const SERVER_SERVICES: [(&str, i32, (&str, &str, &str)); 14] = [
    ("srv-dc01", 88, LSASS_SERVICE),
    ("srv-dc01", 389, LSASS_SERVICE),
    ("srv-dc01", 49_664, LSASS_SERVICE),
    ("srv-dc01", 445, SYSTEM_SERVICE),
    (
        "srv-dc01",
        53,
        (
            "dns.exe",
            "c:\\windows\\system32\\dns.exe",
            "C:\\Windows\\system32\\dns.exe",
        ),
    ),
    ("srv-dc02", 88, LSASS_SERVICE),
    ("srv-dc02", 389, LSASS_SERVICE),
    ("srv-fs01", 445, SYSTEM_SERVICE),
    ("srv-app01", 443, SYSTEM_SERVICE),
    (
        "srv-app01",
        3389,
        (
            "svchost.exe",
            "c:\\windows\\system32\\svchost.exe",
            "svchost.exe -k termsvcs -s TermService",
        ),
    ),
    (
        "srv-sql01",
        1433,
        (
            "sqlservr.exe",
            "c:\\program files\\microsoft sql server\\mssql16.mssqlserver\\mssql\\binn\\sqlservr.exe",
            "\"sqlservr.exe\" -sMSSQLSERVER",
        ),
    ),
    ("srv-sql01", 445, SYSTEM_SERVICE),
    (
        "srv-web01",
        22,
        (
            "sshd",
            "/usr/sbin/sshd",
            "sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups",
        ),
    ),
    (
        "srv-web01",
        443,
        (
            "nginx",
            "/usr/sbin/nginx",
            "nginx: master process /usr/sbin/nginx",
        ),
    ),
];

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
const DOC_EXTS: [(&str, &str); 6] = [
    ("docx", "WINWORD.EXE"),
    ("xlsx", "EXCEL.EXE"),
    ("xlsm", "EXCEL.EXE"),
    ("pptx", "POWERPNT.EXE"),
    ("pdf", "msedge.exe"),
    ("zip", "msedge.exe"),
];

pub(super) fn files(g: &mut Gen, org: &Org, rng: &mut Rng, n: usize) {
    for _ in 0..n {
        let stem = *rng.pick(&DOC_STEMS);
        let &(ext, app) = rng.pick(&DOC_EXTS);
        let name = format!("{stem}-{}.{ext}", rng.below(400));
        let size = rng.range(12_000, 4_000_000);
        if rng.chance(0.75) {
            let (d, u) = workstation(org, rng);
            let time = office_time(g, rng, u.office);
            let download = app == "msedge.exe";
            let usb = rng.chance(0.03);
            let folder = if usb {
                "E:\\Backup".to_string()
            } else {
                format!(
                    "C:\\Users\\{}\\{}",
                    u.sam,
                    if download { "Downloads" } else { "Documents" }
                )
            };
            let action = if usb {
                "FileCreated"
            } else {
                *rng.pick(&[
                    "FileCreated",
                    "FileModified",
                    "FileModified",
                    "FileDeleted",
                    "FileRenamed",
                ])
            };
            let p = Proc {
                file: if usb { "explorer.exe" } else { app },
                folder: "c:\\program files\\microsoft office\\root\\office16",
                command_line: app,
                pid: rng.range(1_000, 30_000),
                parent: "explorer.exe",
                account: Some(u),
            };
            let url = match (download, rng.below(3)) {
                (false, _) => "",
                (true, 0) => "https://github.com/downloads/release.zip",
                (true, _) => "https://contoso.sharepoint.com/sites/Shared/Documents",
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
}

/// Servers people reach over the network from their workstations.
const LOGON_SERVERS: [&str; 3] = ["srv-fs01", "srv-dc01", "srv-app01"];

pub(super) fn logons(g: &mut Gen, org: &Org, rng: &mut Rng, n: usize) {
    for _ in 0..n {
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
                rows::logon(
                    g,
                    org.device(name),
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
                rows::logon(
                    g,
                    server,
                    Logon {
                        time,
                        user: Some(admin),
                        logon_type: "RemoteInteractive",
                        success: true,
                        protocol: "Negotiate",
                        remote: Some(org.workstation_of(admin)),
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
}

/// USB sticks people plug in: (product, manufacturer, vendor id).
const USB: [(&str, &str, &str); 3] = [
    ("Ultra USB 3.0", "SanDisk", "USB\\VID_0781&PID_5581"),
    ("DataTraveler 3.0", "Kingston", "USB\\VID_0951&PID_1666"),
    ("Portable SSD T7", "Samsung", "USB\\VID_04E8&PID_4001"),
];

pub(super) fn device_events(g: &mut Gen, org: &Org, rng: &mut Rng, n: usize) {
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
                        ("SHA1", s(super::super::file_hashes(file).0)),
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

/// Everyday registry writes: (key, value name, type, data, process file).
const REGISTRY: [(&str, &str, &str, &str, &str); 11] = [
    (
        "HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows Defender\\Signature Updates",
        "SignatureUpdateLastAttempted",
        "Binary",
        "",
        "MsMpEng.exe",
    ),
    (
        "HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Services\\bam\\State\\UserSettings",
        "\\Device\\HarddiskVolume3\\Windows\\explorer.exe",
        "Binary",
        "",
        "svchost.exe",
    ),
    (
        "HKEY_CURRENT_USER\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run",
        "OneDrive",
        "String",
        "\"C:\\Program Files\\Microsoft OneDrive\\OneDrive.exe\" /background",
        "OneDrive.exe",
    ),
    (
        "HKEY_CURRENT_USER\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run",
        "com.squirrel.Teams.Teams",
        "String",
        "\"C:\\Program Files\\WindowsApps\\MSTeams\\ms-teams.exe\" --system-initiated",
        "ms-teams.exe",
    ),
    (
        "HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\WindowsUpdate\\Auto Update",
        "LastOnlineScanTimeForAppCategory",
        "String",
        "2026-11-20T08:00:00Z",
        "svchost.exe",
    ),
    (
        "HKEY_CURRENT_USER\\SOFTWARE\\Microsoft\\Office\\16.0\\Common\\Roaming\\Identities",
        "LastSwitchedTime",
        "Qword",
        "133700000000000000",
        "WINWORD.EXE",
    ),
    (
        "HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Services\\WinDefend",
        "Start",
        "Dword",
        "2",
        "services.exe",
    ),
    (
        "HKEY_CURRENT_USER\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Explorer\\RunMRU",
        "a",
        "String",
        "cmd\\1",
        "explorer.exe",
    ),
    (
        "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\TeamsUpdateService",
        "ImagePath",
        "ExpandString",
        "\"C:\\Program Files\\WindowsApps\\MSTeams\\TeamsUpdateService.exe\"",
        "msiexec.exe",
    ),
    (
        "HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows Defender\\Exclusions\\Paths",
        "D:\\SQLData",
        "Dword",
        "0",
        "svchost.exe",
    ),
    (
        "HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows Defender\\Exclusions\\Extensions",
        ".mdf",
        "Dword",
        "0",
        "svchost.exe",
    ),
];

pub(super) fn registry(g: &mut Gen, org: &Org, rng: &mut Rng, n: usize) {
    for _ in 0..n {
        let (d, u) = workstation(org, rng);
        let time = office_time(g, rng, u.office);
        let &(key, name, kind, data, file) = rng.pick(&REGISTRY);
        // Exclusions are set by policy on the SQL server.
        let d = if key.contains("Exclusions") {
            org.device("srv-sql01")
        } else {
            d
        };
        let key = key.replace(
            "HKEY_CURRENT_USER",
            &format!("HKEY_CURRENT_USER\\{}", u.sid),
        );
        let user_key = key.starts_with("HKEY_CURRENT_USER");
        let p = Proc {
            file,
            folder: "c:\\windows\\system32",
            command_line: file,
            pid: rng.range(1_000, 30_000),
            parent: if user_key {
                "explorer.exe"
            } else {
                "services.exe"
            },
            account: user_key.then_some(u),
        };
        let action = *rng.pick(&[
            "RegistryValueSet",
            "RegistryValueSet",
            "RegistryValueSet",
            "RegistryKeyCreated",
            "RegistryValueDeleted",
        ]);
        rows::registry_event(g, d, time, &p, action, (&key, name, kind, data));
    }
}

/// Everyday image loads: (process, DLL, folder).
const IMAGES: [(&str, &str, &str); 8] = [
    ("OUTLOOK.EXE", "mshtml.dll", "C:\\Windows\\System32"),
    (
        "EXCEL.EXE",
        "VBE7.DLL",
        "C:\\Program Files\\Common Files\\microsoft shared\\VBA\\VBA7.1",
    ),
    (
        "powershell.exe",
        "System.Management.Automation.ni.dll",
        "C:\\Windows\\assembly\\NativeImages_v4.0.30319_64\\System.Manaa57fc8cc#",
    ),
    (
        "powershell.exe",
        "clr.dll",
        "C:\\Windows\\Microsoft.NET\\Framework64\\v4.0.30319",
    ),
    ("msedge.exe", "winhttp.dll", "C:\\Windows\\System32"),
    ("svchost.exe", "wininet.dll", "C:\\Windows\\System32"),
    (
        "spoolsv.exe",
        "mxdwdrv.dll",
        "C:\\Windows\\System32\\spool\\drivers\\x64\\3",
    ),
    ("lsass.exe", "samlib.dll", "C:\\Windows\\System32"),
];

pub(super) fn image_loads(g: &mut Gen, org: &Org, rng: &mut Rng, n: usize) {
    for _ in 0..n {
        let (d, u) = workstation(org, rng);
        let time = office_time(g, rng, u.office);
        let &(file, dll, folder) = rng.pick(&IMAGES);
        let system = matches!(file, "svchost.exe" | "spoolsv.exe" | "lsass.exe");
        let p = Proc {
            file,
            folder: "c:\\windows\\system32",
            command_line: file,
            pid: rng.range(1_000, 30_000),
            parent: if system {
                "services.exe"
            } else {
                "explorer.exe"
            },
            account: (!system).then_some(u),
        };
        rows::image_load(g, d, time, &p, dll, folder);
    }
}

/// One troubleshooting session of an IT admin: where, and the commands, in order.
type AdminSession = (
    &'static str,
    &'static [(&'static str, &'static str, &'static str)],
);

/// A fortnight's troubleshooting by the IT admins, beyond their everyday commands.
const ADMIN_SESSIONS: [AdminSession; 5] = [
    (
        "srv-dc01",
        &[
            (
                "nltest.exe",
                "c:\\windows\\system32\\nltest.exe",
                "nltest.exe /dsgetdc:contoso.com",
            ),
            (
                "nltest.exe",
                "c:\\windows\\system32\\nltest.exe",
                "nltest.exe /dclist:contoso.com",
            ),
            (
                "nltest.exe",
                "c:\\windows\\system32\\nltest.exe",
                "nltest.exe /domain_trusts /all_trusts",
            ),
            (
                "nltest.exe",
                "c:\\windows\\system32\\nltest.exe",
                "nltest.exe /sc_query:contoso.com",
            ),
        ],
    ),
    (
        "srv-app01",
        &[
            (
                "PktMon.exe",
                "c:\\windows\\system32\\pktmon.exe",
                "PktMon.exe start --capture --comp nics --pkt-size 0 -f C:\\Temp\\app01.etl",
            ),
            (
                "PktMon.exe",
                "c:\\windows\\system32\\pktmon.exe",
                "PktMon.exe stop",
            ),
            (
                "netsh.exe",
                "c:\\windows\\system32\\netsh.exe",
                "netsh.exe advfirewall firewall delete rule name=\"Legacy SQL 1433\"",
            ),
        ],
    ),
    (
        "wks-001",
        &[
            (
                "runas.exe",
                "c:\\windows\\system32\\runas.exe",
                "runas.exe /savecred /user:contoso\\adavis-adm \"mmc.exe dsa.msc\"",
            ),
            (
                "WMIC.exe",
                "c:\\windows\\system32\\wbem\\wmic.exe",
                "wmic.exe /node:10.20.0.13 os get caption,lastbootuptime",
            ),
            (
                "PsExec.exe",
                "c:\\tools\\sysinternals\\psexec.exe",
                "psexec.exe -accepteula \\\\srv-app01 c:\\windows\\system32\\cmd.exe /c \"gpupdate /force\"",
            ),
        ],
    ),
    (
        "wks-002",
        &[
            (
                "certutil.exe",
                "c:\\windows\\system32\\certutil.exe",
                "certutil.exe -hashfile C:\\Users\\jlee\\Downloads\\FortiClientVPN.msi SHA256",
            ),
            (
                "Autoruns64.exe",
                "c:\\tools\\sysinternals\\autoruns64.exe",
                "Autoruns64.exe",
            ),
        ],
    ),
    (
        "srv-fs01",
        &[(
            "vssadmin.exe",
            "c:\\windows\\system32\\vssadmin.exe",
            "vssadmin.exe list shadows /for=D:",
        )],
    ),
];

/// The admins' troubleshooting sessions: a fixed handful, each on one machine, minutes apart.
pub(super) fn admin_sessions(g: &mut Gen, org: &Org, rng: &mut Rng, _n: usize) {
    for (k, &(host, commands)) in ADMIN_SESSIONS.iter().enumerate() {
        let admin = &org.users[k % 2];
        let d = org.device(host);
        let start = office_time(g, rng, admin.office);
        let shell = Proc {
            file: "powershell.exe",
            folder: "c:\\windows\\system32\\windowspowershell\\v1.0\\powershell.exe",
            command_line: "\"C:\\WINDOWS\\System32\\WindowsPowerShell\\v1.0\\powershell.exe\"",
            pid: rng.range(1_000, 30_000),
            parent: "explorer.exe",
            account: Some(admin),
        };
        for (i, &(file, folder, command_line)) in commands.iter().enumerate() {
            let child = Proc {
                file,
                folder,
                command_line,
                pid: shell.pid + 40 + i as i64 * 24,
                parent: shell.file,
                account: Some(admin),
            };
            rows::process_created(g, d, start + i as i64 * 50 * SECOND, &shell, &child);
        }
    }
}
