//! Processes: everyday workstation, server and Linux processes, the IT admins' commands and
//! their troubleshooting sessions.

use super::explorer;
use crate::noise::{any_time, office_time, workstation};
use crate::org::{Device, Org};
use crate::rows::{self, Proc};
use crate::{Gen, Rng, SECOND};

/// Everyday workstation processes: (file, folder, command line, started by the user?).
pub(super) const WORKSTATION_PROCS: [(&str, &str, &str, bool); 24] = [
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

pub(crate) fn processes(g: &mut Gen, org: &Org, rng: &mut Rng, n: usize) {
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
pub(crate) fn admin_sessions(g: &mut Gen, org: &Org, rng: &mut Rng, _n: usize) {
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
