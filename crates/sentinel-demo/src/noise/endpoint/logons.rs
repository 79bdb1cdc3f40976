//! Logons: interactive and network logons to workstations and servers.

use crate::noise::{any_time, office_time, workstation};
use crate::org::Org;
use crate::rows::{self, Logon};
use crate::{Gen, Rng};

/// Servers people reach over the network from their workstations.
const LOGON_SERVERS: [&str; 3] = ["srv-fs01", "srv-dc01", "srv-app01"];

pub(crate) fn logons(g: &mut Gen, org: &Org, rng: &mut Rng, n: usize) {
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
