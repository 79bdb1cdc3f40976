//! Connections: workstations reaching the sites people use, and the servers' services accepting
//! connections and listening again after a restart.

use super::processes::WORKSTATION_PROCS;
use crate::noise::{any_time, office_time, workstation};
use crate::org::Org;
use crate::rows::{self, Proc};
use crate::{Gen, Rng};

/// Sites people reach from their workstations: (host, address).
pub(crate) const SITES: [(&str, &str); 10] = [
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

pub(crate) fn network(g: &mut Gen, org: &Org, rng: &mut Rng, n: usize) {
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
