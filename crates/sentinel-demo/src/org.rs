//! The fictional organisation behind the demo workspace: contoso.com, its people, guests, offices,
//! machines, applications and Azure resources. Fixed, so the story can name them.

use super::Rng;

pub(super) const DOMAIN: &str = "contoso.com";
pub(super) const NETBIOS: &str = "contoso";
pub(super) const TENANT_ID: &str = "72f988bf-0000-4e1a-9c0d-c0a7050de4a0";
pub(super) const SHAREPOINT: &str = "https://contoso.sharepoint.com";
pub(super) const SUBSCRIPTION: &str = "d1d8779d-0000-4c2d-9d2b-6a9c0fe0e0e0";
pub(super) const DOMAIN_SID: &str = "S-1-5-21-1004336348-1177238915-682003330";

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

/// Departments and job titles, by the user's index modulo their count.
const DEPARTMENTS: [(&str, &str); 10] = [
    ("IT", "Systems Administrator"),
    ("Security", "Security Analyst"),
    ("Finance", "Accountant"),
    ("Finance", "Financial Controller"),
    ("Sales", "Account Executive"),
    ("Marketing", "Marketing Specialist"),
    ("Engineering", "Software Engineer"),
    ("Engineering", "Site Reliability Engineer"),
    ("HR", "HR Business Partner"),
    ("Legal", "Counsel"),
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
    pub given_name: &'static str,
    pub surname: &'static str,
    /// `mbrown`: the on-premises account name.
    pub sam: String,
    pub upn: String,
    pub object_id: String,
    pub sid: String,
    pub office: usize,
    /// Index into [`Org::devices`] of the user's workstation, if any.
    pub device: Option<usize>,
    pub admin: bool,
    pub department: &'static str,
    pub job_title: &'static str,
    /// Entra ID directory roles.
    pub roles: &'static [&'static str],
    pub employee_id: String,
    pub phone: String,
}

/// A guest from a partner tenant, invited into contoso.com.
pub(super) struct Guest {
    pub display_name: String,
    /// `lwhite@fabrikam.com`
    pub mail: String,
    /// `lwhite_fabrikam.com#EXT#@contoso.onmicrosoft.com`
    pub upn: String,
    pub object_id: String,
    pub home_tenant: String,
}

/// One machine with Defender for Endpoint and the monitoring agent.
pub(super) struct Device {
    /// `wks-014.contoso.com`, as Defender names devices.
    pub fqdn: String,
    /// `wks-014`, as Heartbeat and firewalls name them.
    pub short: String,
    pub device_id: String,
    pub aad_device_id: String,
    pub ip: String,
    pub mac: String,
    pub server: bool,
    pub linux: bool,
    pub office: usize,
}

impl Device {
    /// `Windows11`, `WindowsServer2022` or `Linux`, as Defender's OSPlatform names them.
    pub fn os_platform(&self) -> &'static str {
        if self.linux {
            "Linux"
        } else if self.server {
            "WindowsServer2022"
        } else {
            "Windows11"
        }
    }

    pub fn os_version(&self) -> &'static str {
        if self.linux {
            "22.04"
        } else if self.server {
            "10.0.20348"
        } else {
            "10.0.22631"
        }
    }

    pub fn os_build(&self) -> i64 {
        if self.linux {
            0
        } else if self.server {
            20348
        } else {
            22631
        }
    }
}

/// An application registered in Entra ID that signs in as itself.
pub(super) struct ServicePrincipal {
    pub name: &'static str,
    pub app_id: String,
    pub object_id: String,
    /// Where it signs in from.
    pub ip: &'static str,
    /// A managed identity of an Azure resource rather than an app registration.
    pub managed: bool,
    /// The resource it calls.
    pub resource: &'static str,
}

pub(super) struct Org {
    pub users: Vec<User>,
    pub guests: Vec<Guest>,
    pub devices: Vec<Device>,
    pub service_principals: Vec<ServicePrincipal>,
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

const GUESTS: [(&str, &str, &str); 4] = [
    ("Lena White", "lwhite", "fabrikam.com"),
    ("Ahmed Farouk", "afarouk", "northwindtraders.com"),
    ("Chris Doyle", "cdoyle", "adventure-works.com"),
    ("Mei Lin", "mlin", "tailspintoys.com"),
];

const SERVICE_PRINCIPALS: [(&str, &str, bool, &str); 6] = [
    ("Contoso HR Sync", "20.42.65.90", false, "Microsoft Graph"),
    (
        "Veeam Backup for Microsoft 365",
        "20.42.65.91",
        false,
        "Office 365 Exchange Online",
    ),
    (
        "azure-devops-deploy",
        "20.42.65.92",
        false,
        "Windows Azure Service Management API",
    ),
    (
        "Contoso Expense Portal",
        "20.42.65.93",
        false,
        "Microsoft Graph",
    ),
    (
        "func-invoice-processor",
        "10.30.0.4",
        true,
        "Azure Key Vault",
    ),
    ("vm-build-agent01", "10.30.0.5", true, "Azure Storage"),
];

/// Directory roles of the admins (index 0, 1) and a few others.
fn roles_of(i: usize) -> &'static [&'static str] {
    match i {
        0 => &["Global Administrator"],
        1 => &["Security Administrator", "Security Operator"],
        2 => &["Exchange Administrator"],
        5 => &["Helpdesk Administrator"],
        _ => &[],
    }
}

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
                let (department, job_title) = DEPARTMENTS[i % DEPARTMENTS.len()];
                User {
                    display_name: format!("{first} {last}"),
                    given_name: first,
                    surname: last,
                    upn: format!("{sam}@{DOMAIN}"),
                    sam,
                    object_id: rng.guid_string(),
                    sid: format!("{DOMAIN_SID}-{}", 1100 + i),
                    office: i % OFFICES.len(),
                    device: (i < WORKSTATIONS).then_some(i),
                    admin: i < 2,
                    department,
                    job_title,
                    roles: roles_of(i),
                    employee_id: format!("E{:05}", 10_400 + i * 7),
                    phone: format!("+1 206 555 {:04}", 100 + i),
                }
            })
            .collect();
        let guests = GUESTS
            .iter()
            .map(|&(name, alias, domain)| Guest {
                display_name: name.to_string(),
                mail: format!("{alias}@{domain}"),
                upn: format!("{alias}_{domain}#EXT#@contoso.onmicrosoft.com"),
                object_id: rng.guid_string(),
                home_tenant: rng.guid_string(),
            })
            .collect();
        let mut devices: Vec<Device> = (0..WORKSTATIONS)
            .map(|i| {
                let short = format!("wks-{:03}", i + 1);
                Device {
                    fqdn: format!("{short}.{DOMAIN}"),
                    short,
                    device_id: rng.hex(40),
                    aad_device_id: rng.guid_string(),
                    ip: format!("10.10.1.{}", i + 1),
                    mac: mac(&mut rng),
                    server: false,
                    linux: false,
                    office: i % OFFICES.len(),
                }
            })
            .collect();
        devices.extend(SERVERS.iter().map(|&(short, ip, linux)| Device {
            fqdn: format!("{short}.{DOMAIN}"),
            short: short.to_string(),
            device_id: rng.hex(40),
            aad_device_id: rng.guid_string(),
            ip: ip.to_string(),
            mac: mac(&mut rng),
            server: true,
            linux,
            office: 0,
        }));
        let service_principals = SERVICE_PRINCIPALS
            .iter()
            .map(|&(name, ip, managed, resource)| ServicePrincipal {
                name,
                app_id: rng.guid_string(),
                object_id: rng.guid_string(),
                ip,
                managed,
                resource,
            })
            .collect();
        Org {
            users,
            guests,
            devices,
            service_principals,
        }
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

    /// The workstation of a user, or the first workstation for users without one.
    pub fn workstation_of(&self, u: &User) -> &Device {
        &self.devices[u.device.unwrap_or(0)]
    }
}

fn mac(rng: &mut Rng) -> String {
    let h = rng.hex(12).to_ascii_uppercase();
    (0..6)
        .map(|i| &h[i * 2..i * 2 + 2])
        .collect::<Vec<_>>()
        .join("-")
}
