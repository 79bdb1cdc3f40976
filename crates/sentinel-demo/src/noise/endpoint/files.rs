//! Files people create and edit.

use crate::noise::{office_time, workstation};
use crate::org::Org;
use crate::rows::{self, FileEvent, Proc};
use crate::{Gen, Rng};

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

pub(crate) fn files(g: &mut Gen, org: &Org, rng: &mut Rng, n: usize) {
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
