//! The fictional organisation behind the demo workspace: contoso.com, its people, offices and
//! machines. Fixed, so the story can name them.

use super::Rng;

pub(super) const DOMAIN: &str = "contoso.com";
pub(super) const TENANT_ID: &str = "72f988bf-0000-4e1a-9c0d-c0a7050de4a0";
pub(super) const SHAREPOINT: &str = "https://contoso.sharepoint.com";

const FIRST: [&str; 50] = [
    "Alex", "Jordan", "Priya", "Wei", "Fatima", "Lars", "Sofia", "Diego", "Hannah", "Kenji",
    "Amara", "Noah", "Chloe", "Megan", "Omar", "Ingrid", "Mateo", "Aisha", "Ethan", "Yuki",
    "Carlos", "Leah", "Ravi", "Nina", "Samuel", "Elena", "Tomas", "Grace", "Hugo", "Zara",
    "Victor", "Maya", "Liam", "Anika", "Felix", "Rosa", "Dmitri", "Olivia", "Kwame", "Julia",
    "Marco", "Sara", "Ben", "Lucia", "Arjun", "Emma", "Pavel", "Nora", "Isaac", "Mia",
];

const LAST: [&str; 50] = [
    "Davis", "Lee", "Patel", "Zhang", "Khan", "Nilsson", "Rossi", "Garcia", "Schmidt", "Tanaka",
    "Okafor", "Wilson", "Martin", "Brown", "Haddad", "Berg", "Lopez", "Bello", "Clark", "Sato",
    "Mendes", "Cohen", "Iyer", "Novak", "Adams", "Popescu", "Silva", "Kim", "Moreau", "Ahmed",
    "Costa", "Singh", "Murphy", "Gupta", "Wagner", "Torres", "Ivanov", "Walker", "Mensah", "Meyer",
    "Ricci", "Larsen", "Turner", "Romero", "Nair", "Fischer", "Horak", "Quinn", "Baker", "Evans",
];

/// An office: where its people sign in from, and its internet egress address.
pub(super) struct Office {
    pub city: &'static str,
    pub state: &'static str,
    pub country: &'static str,
    pub lat: f64,
    pub lon: f64,
    pub egress_ip: &'static str,
}

pub(super) const OFFICES: [Office; 3] = [
    Office {
        city: "Seattle",
        state: "Washington",
        country: "US",
        lat: 47.6062,
        lon: -122.3321,
        egress_ip: "198.51.100.10",
    },
    Office {
        city: "New York",
        state: "New York",
        country: "US",
        lat: 40.7128,
        lon: -74.006,
        egress_ip: "198.51.100.20",
    },
    Office {
        city: "London",
        state: "England",
        country: "GB",
        lat: 51.5072,
        lon: -0.1276,
        egress_ip: "192.0.2.30",
    },
];

/// One person with an Entra ID account.
pub(super) struct User {
    pub display_name: String,
    /// `mbrown`: the on-premises account name.
    pub sam: String,
    pub upn: String,
    pub object_id: String,
    pub sid: String,
    pub office: usize,
    /// Index into [`Org::devices`] of the user's workstation, if any.
    pub device: Option<usize>,
    pub admin: bool,
}

/// One machine with Defender for Endpoint and the monitoring agent.
pub(super) struct Device {
    /// `wks-014.contoso.com`, as Defender names devices.
    pub fqdn: String,
    /// `wks-014`, as Heartbeat and firewalls name them.
    pub short: String,
    pub device_id: String,
    pub ip: String,
    pub server: bool,
    pub linux: bool,
}

pub(super) struct Org {
    pub users: Vec<User>,
    pub devices: Vec<Device>,
}

/// Workstations are `wks-001` … `wks-024`, owned by the first 24 users.
const WORKSTATIONS: usize = 24;
const SERVERS: [(&str, &str, bool); 6] = [
    ("srv-dc01", "10.20.0.10", false),
    ("srv-dc02", "10.20.0.11", false),
    ("srv-fs01", "10.20.0.12", false),
    ("srv-app01", "10.20.0.13", false),
    ("srv-sql01", "10.20.0.14", false),
    ("srv-web01", "10.20.0.15", true),
];

impl Org {
    pub fn new() -> Org {
        let mut rng = Rng::new(0xC0_7050);
        let users = FIRST
            .iter()
            .zip(LAST)
            .enumerate()
            .map(|(i, (first, last))| {
                let sam = format!(
                    "{}{}",
                    first[..1].to_ascii_lowercase(),
                    last.to_ascii_lowercase()
                );
                User {
                    display_name: format!("{first} {last}"),
                    upn: format!("{sam}@{DOMAIN}"),
                    sam,
                    object_id: rng.guid_string(),
                    sid: format!("S-1-5-21-1004336348-1177238915-682003330-{}", 1100 + i),
                    office: i % OFFICES.len(),
                    device: (i < WORKSTATIONS).then_some(i),
                    admin: i < 2,
                }
            })
            .collect();
        let mut devices: Vec<Device> = (0..WORKSTATIONS)
            .map(|i| {
                let short = format!("wks-{:03}", i + 1);
                Device {
                    fqdn: format!("{short}.{DOMAIN}"),
                    short,
                    device_id: rng.hex(40),
                    ip: format!("10.10.1.{}", i + 1),
                    server: false,
                    linux: false,
                }
            })
            .collect();
        devices.extend(SERVERS.iter().map(|&(short, ip, linux)| Device {
            fqdn: format!("{short}.{DOMAIN}"),
            short: short.to_string(),
            device_id: rng.hex(40),
            ip: ip.to_string(),
            server: true,
            linux,
        }));
        Org { users, devices }
    }

    /// A device by its short name; the names used here are the fixed ones above.
    pub fn device(&self, short: &str) -> &Device {
        self.devices
            .iter()
            .find(|d| d.short == short)
            .unwrap_or(&self.devices[0])
    }

    /// A user by account name; the names used here are the fixed ones above.
    pub fn user(&self, sam: &str) -> &User {
        self.users
            .iter()
            .find(|u| u.sam == sam)
            .unwrap_or(&self.users[0])
    }
}
