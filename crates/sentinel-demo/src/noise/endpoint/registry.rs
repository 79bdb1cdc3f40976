//! Registry changes and image (DLL) loads.

use crate::noise::{office_time, workstation};
use crate::org::Org;
use crate::rows::{self, Proc};
use crate::{Gen, Rng};

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

pub(crate) fn registry(g: &mut Gen, org: &Org, rng: &mut Rng, n: usize) {
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

pub(crate) fn image_loads(g: &mut Gen, org: &Org, rng: &mut Rng, n: usize) {
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
