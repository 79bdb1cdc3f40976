//! Defender for Endpoint telemetry of everyday work: processes, connections, files, logons,
//! miscellaneous device events, registry changes and image loads.

mod device_events;
mod files;
mod logons;
mod network;
mod processes;
mod registry;

use crate::org::User;
use crate::rows::Proc;

pub(super) use device_events::device_events;
pub(super) use files::files;
pub(super) use logons::logons;
pub(super) use network::{SITES, network};
pub(super) use processes::{admin_sessions, processes};
pub(super) use registry::{image_loads, registry};

/// The user's Explorer shell: the parent of what they start by hand.
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
