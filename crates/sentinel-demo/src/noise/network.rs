//! Windows security events of the servers and domain controllers, DNS lookups, and the perimeter
//! firewall.

use super::super::org::{Device, NETBIOS, OFFICES, Org, User};
use super::super::rows;
use super::super::{Gen, Rng, int, s};
use super::endpoint::SITES;
use super::{any_time, office_time, workstation};
use kql::value::Value;

/// Security events other than logons and process starts, mostly at the domain controllers.
pub(super) fn windows_security(g: &mut Gen, org: &Org, rng: &mut Rng, n: usize) {
    let domain = NETBIOS.to_ascii_uppercase();
    for _ in 0..n {
        let (client, u) = workstation(org, rng);
        let time = office_time(g, rng, u.office);
        let dc = &org.devices[24 + rng.below(2)];
        let subject = [
            (
                "SubjectUserName",
                s(format!("{}$", dc.short.to_ascii_uppercase())),
            ),
            ("SubjectDomainName", s(&domain)),
            ("SubjectUserSid", s("S-1-5-18")),
        ];
        match rng.below(100) {
            0..40 => rows::security_event(
                g,
                dc,
                time,
                4769,
                [
                    ("TargetUserName", s(format!("{}@{}", u.sam, domain))),
                    ("TargetDomainName", s(&domain)),
                    (
                        "ServiceName",
                        s(format!(
                            "{}$",
                            org.device("srv-fs01").short.to_ascii_uppercase()
                        )),
                    ),
                    ("IpAddress", s(format!("::ffff:{}", client.ip))),
                    ("Status", s("0x0")),
                    ("Account", s(format!("{domain}\\{}", u.sam))),
                    ("AccountType", s("User")),
                ],
            ),
            40..60 => rows::security_event(
                g,
                dc,
                time,
                4768,
                [
                    ("TargetUserName", s(&u.sam)),
                    ("TargetDomainName", s(&domain)),
                    ("TargetSid", s(&u.sid)),
                    ("ServiceName", s("krbtgt")),
                    ("IpAddress", s(format!("::ffff:{}", client.ip))),
                    ("Status", s("0x0")),
                    ("Account", s(format!("{domain}\\{}", u.sam))),
                    ("AccountType", s("User")),
                ],
            ),
            60..72 => rows::security_event(
                g,
                dc,
                time,
                4776,
                [
                    ("TargetAccount", s(&u.sam)),
                    ("Workstation", s(client.short.to_ascii_uppercase())),
                    ("Status", s("0x0")),
                    ("PackageName", s("MICROSOFT_AUTHENTICATION_PACKAGE_V1_0")),
                    ("Account", s(&u.sam)),
                    ("AccountType", s("User")),
                ],
            ),
            72..84 => {
                let admin = &org.users[rng.below(2)];
                rows::security_event(
                    g,
                    dc,
                    time,
                    4672,
                    [
                        ("SubjectUserName", s(&admin.sam)),
                        ("SubjectDomainName", s(&domain)),
                        ("SubjectUserSid", s(&admin.sid)),
                        ("SubjectLogonId", s("0x3f2a71")),
                        (
                            "PrivilegeList",
                            s(
                                "SeSecurityPrivilege\n\t\t\tSeBackupPrivilege\n\t\t\tSeRestorePrivilege\n\t\t\tSeTakeOwnershipPrivilege\n\t\t\tSeDebugPrivilege",
                            ),
                        ),
                        ("Account", s(format!("{domain}\\{}", admin.sam))),
                        ("AccountType", s("User")),
                    ],
                );
            }
            84..90 => rows::security_event(
                g,
                org.device("srv-fs01"),
                time,
                5140,
                [
                    ("ShareName", s("\\\\*\\Finance")),
                    ("ShareLocalPath", s("\\??\\D:\\Shares\\Finance")),
                    ("IpAddress", s(&client.ip)),
                    ("SubjectUserName", s(&u.sam)),
                    ("SubjectDomainName", s(&domain)),
                    ("SubjectUserSid", s(&u.sid)),
                    ("AccessMask", s("0x1")),
                    ("Account", s(format!("{domain}\\{}", u.sam))),
                    ("AccountType", s("User")),
                ],
            ),
            90..93 => rows::security_event(
                g,
                dc,
                time,
                4740,
                subject.clone().into_iter().chain([
                    ("TargetUserName", s(&u.sam)),
                    ("TargetDomainName", s(client.short.to_ascii_uppercase())),
                    ("TargetSid", s(&u.sid)),
                    ("TargetAccount", s(format!("{domain}\\{}", u.sam))),
                    ("Account", s(format!("{domain}\\{}", u.sam))),
                    ("AccountType", s("User")),
                ]),
            ),
            93..96 => {
                let admin = &org.users[rng.below(2)];
                let (event, group) =
                    *rng.pick(&[(4728, "IT"), (4732, "Remote Desktop Users"), (4724, "")]);
                admin_event(
                    g,
                    dc,
                    time,
                    event,
                    admin,
                    &domain,
                    [
                        (
                            "TargetUserName",
                            s(if group.is_empty() {
                                u.sam.as_str()
                            } else {
                                group
                            }),
                        ),
                        ("TargetDomainName", s(&domain)),
                        (
                            "TargetAccount",
                            s(format!(
                                "{domain}\\{}",
                                if group.is_empty() {
                                    u.sam.as_str()
                                } else {
                                    group
                                }
                            )),
                        ),
                        (
                            "MemberName",
                            s(format!("CN={},OU=Users,DC=contoso,DC=com", u.display_name)),
                        ),
                        ("MemberSid", s(&u.sid)),
                        ("Account", s(format!("{domain}\\{}", admin.sam))),
                        ("AccountType", s("User")),
                    ],
                );
            }
            96 => {
                let admin = &org.users[rng.below(2)];
                let (event, object) = *rng.pick(&[
                    (5136, "CN={31B2F340-016D-11D2-945F-00C04FB984F9},CN=Policies,CN=System,DC=contoso,DC=com"),
                    (4742, "CN=WKS-007,OU=Workstations,DC=contoso,DC=com"),
                    (4726, "CN=Temp Contractor,OU=Users,DC=contoso,DC=com"),
                    (4720, "CN=New Starter,OU=Users,DC=contoso,DC=com"),
                ]);
                let target = object
                    .split(',')
                    .next()
                    .and_then(|cn| cn.strip_prefix("CN="))
                    .unwrap_or_default();
                admin_event(
                    g,
                    dc,
                    time,
                    event,
                    admin,
                    &domain,
                    [
                        ("TargetUserName", s(target)),
                        ("TargetDomainName", s(&domain)),
                        ("TargetAccount", s(format!("{domain}\\{target}"))),
                        ("ObjectName", s(object)),
                        (
                            "OperationType",
                            s(if event == 5136 { "%%14674" } else { "" }),
                        ),
                        ("NewUacValue", s(if event == 4742 { "0x80" } else { "" })),
                        ("OldUacValue", s(if event == 4742 { "0x80" } else { "" })),
                        (
                            "EventData",
                            s(if event == 5136 {
                                "<EventData><Data Name=\"AttributeLDAPDisplayName\">gPCFileSysPath</Data><Data Name=\"OperationType\">%%14674</Data></EventData>"
                            } else {
                                ""
                            }),
                        ),
                        ("Account", s(format!("{domain}\\{}", admin.sam))),
                        ("AccountType", s("User")),
                    ],
                );
            }
            97 => {
                // A mistyped user name at a workstation.
                let (status, sub) = *rng.pick(&[
                    ("0xc000006d", "0xc0000064"),
                    ("0xc000006d", "0xc000006a"),
                    ("0xc0000234", "0x0"),
                ]);
                rows::security_event(
                    g,
                    client,
                    time,
                    4625,
                    [
                        (
                            "TargetUserName",
                            s(if sub == "0xc0000064" {
                                format!("{}x", u.sam)
                            } else {
                                u.sam.clone()
                            }),
                        ),
                        ("TargetDomainName", s(&domain)),
                        ("TargetAccount", s(format!("{domain}\\{}", u.sam))),
                        ("LogonType", int(2)),
                        ("LogonTypeName", s("2 - Interactive")),
                        ("Status", s(status)),
                        ("SubStatus", s(sub)),
                        ("FailureReason", s("%%2313")),
                        ("IpAddress", s("127.0.0.1")),
                        ("WorkstationName", s(client.short.to_ascii_uppercase())),
                        ("Account", s(format!("{domain}\\{}", u.sam))),
                        ("AccountType", s("User")),
                    ],
                );
            }
            _ => {
                let admin = &org.users[rng.below(2)];
                admin_event(
                    g,
                    dc,
                    time,
                    4738,
                    admin,
                    &domain,
                    [
                        ("TargetUserName", s(&u.sam)),
                        ("TargetDomainName", s(&domain)),
                        ("TargetSid", s(&u.sid)),
                        ("TargetAccount", s(format!("{domain}\\{}", u.sam))),
                        ("UserAccountControl", s("-")),
                        ("OldUacValue", s("0x210")),
                        ("NewUacValue", s("0x210")),
                        ("PasswordLastSet", s("-")),
                        ("Account", s(format!("{domain}\\{}", admin.sam))),
                        ("AccountType", s("User")),
                    ],
                );
            }
        }
    }
}

/// Lookups the domain controllers' DNS server answers.
/// A security event an admin's change at a domain controller writes: its subject fields name the
/// admin.
fn admin_event<'a>(
    g: &mut Gen,
    dc: &Device,
    time: i64,
    event: i32,
    admin: &User,
    domain: &str,
    fields: impl IntoIterator<Item = (&'a str, Value)>,
) {
    let subject = [
        ("SubjectUserName", s(&admin.sam)),
        ("SubjectDomainName", s(domain)),
        ("SubjectUserSid", s(&admin.sid)),
        ("SubjectAccount", s(format!("{domain}\\{}", admin.sam))),
    ];
    rows::security_event(g, dc, time, event, subject.into_iter().chain(fields));
}

pub(super) fn dns(g: &mut Gen, org: &Org, rng: &mut Rng, n: usize) {
    for _ in 0..n {
        let (client, u) = workstation(org, rng);
        let time = office_time(g, rng, u.office);
        let &(name, answer) = rng.pick(&SITES);
        let srv = rng.chance(0.1);
        g.push(
            "DnsEvents",
            [
                ("TimeGenerated", super::super::dt(time)),
                ("SourceSystem", s("OpsManager")),
                ("Computer", s("srv-dc01.contoso.com")),
                ("EventId", int(256)),
                ("SubType", s("LookupQuery")),
                ("ClientIP", s(&client.ip)),
                (
                    "Name",
                    s(if srv {
                        *rng.pick(&[
                            "_ldap._tcp.dc._msdcs.contoso.com",
                            "_kerberos._tcp.contoso.com",
                        ])
                    } else {
                        name
                    }),
                ),
                ("QueryType", s(if srv { "SRV" } else { "A" })),
                ("IPAddresses", s(if srv { "10.20.0.10" } else { answer })),
                ("Result", s("Success")),
                ("ResultCode", int(0)),
                ("TaskCategory", s("Lookup")),
                (
                    "Message",
                    s(format!("Query received from {} for {name}", client.ip)),
                ),
            ],
        );
    }
}

pub(super) fn firewall(g: &mut Gen, org: &Org, rng: &mut Rng, n: usize) {
    for _ in 0..n {
        let port = rng.range(49_152, 65_535) as i32;
        if rng.chance(0.9) {
            let (d, u) = workstation(org, rng);
            let time = office_time(g, rng, u.office);
            let &(_, ip) = rng.pick(&SITES);
            let (dst_port, app) = *rng.pick(&[
                (443, "ssl"),
                (443, "ssl"),
                (443, "ms-office365"),
                (80, "web-browsing"),
            ]);
            let sent = rng.range(400, 200_000);
            let received = rng.range(1_000, 5_000_000);
            let user = format!("contoso\\{}", u.sam);
            g.push(
                "CommonSecurityLog",
                rows::firewall_row(
                    time,
                    (&d.ip, port),
                    (ip, dst_port),
                    app,
                    (sent, received),
                    &user,
                ),
            );
        } else {
            // Internet scanners knocking on the office egress, denied.
            let time = any_time(g, rng);
            let scanner = format!("192.0.2.{}", 150 + rng.below(100));
            let dst_port = *rng.pick(&[22, 23, 445, 3389, 8080]);
            let row = rows::firewall_row(
                time,
                (&scanner, port),
                (OFFICES[0].egress_ip, dst_port),
                "incomplete",
                (60, 0),
                "",
            );
            let deny = [
                ("DeviceAction", s("deny")),
                ("SimplifiedDeviceAction", s("Deny")),
                ("CommunicationDirection", s("Inbound")),
                ("DeviceInboundInterface", s("ethernet1/1")),
                ("DeviceOutboundInterface", s("")),
                ("SourceTranslatedAddress", s("")),
            ];
            g.push("CommonSecurityLog", row.into_iter().chain(deny));
        }
    }
}

/// Account changes the admins made at the domain controller this fortnight, beyond the everyday
/// ones: `(event id, target account, UserAccountControl as the event renders it)`.
const ACCOUNT_HOUSEKEEPING: [(i32, &str, &str); 4] = [
    // The admins' own accounts are marked sensitive, so they cannot be delegated.
    (4738, "adavis-adm", "\r\n\t\t%%2094"),
    (4738, "jlee-adm", "\r\n\t\t%%2094"),
    // A legacy scanner's account that cannot do Kerberos pre-authentication.
    (4738, "svc-scan", "\r\n\t\t%%2096"),
    // A leaver's account is deleted.
    (4726, "tcontractor", "-"),
];

/// The admins' account housekeeping at srv-dc01 (a fixed handful).
pub(super) fn account_housekeeping(g: &mut Gen, org: &Org, rng: &mut Rng, _n: usize) {
    let dc = org.device("srv-dc01");
    let domain = NETBIOS.to_ascii_uppercase();
    for (k, (event, target, uac)) in ACCOUNT_HOUSEKEEPING.into_iter().enumerate() {
        let admin = &org.users[k % 2];
        let time = office_time(g, rng, admin.office);
        admin_event(
            g,
            dc,
            time,
            event,
            admin,
            &domain,
            [
                ("TargetUserName", s(target)),
                ("TargetDomainName", s(&domain)),
                ("TargetAccount", s(format!("{domain}\\{target}"))),
                ("UserAccountControl", s(uac)),
                ("Account", s(format!("{domain}\\{}", admin.sam))),
                ("AccountType", s("User")),
            ],
        );
    }
}
