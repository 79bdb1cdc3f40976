//! What Defender for Identity sees at the domain controllers.

use serde_json::json;

use crate::noise::office_time;
use crate::org::{DOMAIN, Org};
use crate::{Gen, Rng, dt, dy, int, s};

/// What Defender for Identity sees at the domain controllers: directory changes, LDAP, DNS and
/// SAMR queries, NTLM and Kerberos authentications.
pub(crate) fn domain_controller(g: &mut Gen, org: &Org, rng: &mut Rng, n: usize) {
    for _ in 0..n {
        let (d, u) = crate::noise::workstation(org, rng);
        let time = office_time(g, rng, u.office);
        let report = rng.guid_string();
        let common = [
            ("Timestamp", dt(time)),
            ("Application", s("Active Directory")),
            ("AccountName", s(&u.sam)),
            ("AccountDomain", s(DOMAIN)),
            ("AccountUpn", s(&u.upn)),
            ("AccountSid", s(&u.sid)),
            ("AccountObjectId", s(&u.object_id)),
            ("AccountDisplayName", s(&u.display_name)),
            ("DeviceName", s(&d.fqdn)),
            ("IPAddress", s(&d.ip)),
            ("Port", int(49_152 + rng.below(16_000) as i32)),
            ("DestinationDeviceName", s("srv-dc01.contoso.com")),
            ("DestinationIPAddress", s("10.20.0.10")),
            ("ReportId", s(report)),
        ];
        // Queries, logons and replication, and a quarter of directory changes.
        match rng.below(12) {
            0..5 => {
                let (action, query_type, target, protocol, port, query) = *rng.pick(&[
                    (
                        "LDAP query",
                        "AllUsers",
                        "contoso.com",
                        "Ldap",
                        389,
                        "(&(objectCategory=person)(objectClass=user))",
                    ),
                    (
                        "LDAP query",
                        "QueryGroup",
                        "IT",
                        "Ldap",
                        389,
                        "(&(objectClass=group)(cn=IT))",
                    ),
                    (
                        "DNS query",
                        "Srv",
                        "_kerberos._tcp.contoso.com",
                        "Dns",
                        53,
                        "",
                    ),
                    ("DNS query", "A", "srv-fs01.contoso.com", "Dns", 53, ""),
                    ("SAMR query", "QueryUser", "Administrator", "Samr", 445, ""),
                ]);
                g.push(
                    "IdentityQueryEvents",
                    common.into_iter().chain([
                        ("ActionType", s(action)),
                        ("QueryType", s(query_type)),
                        ("QueryTarget", s(target)),
                        ("Query", s(query)),
                        ("Protocol", s(protocol)),
                        ("DestinationPort", int(port)),
                        ("TargetDeviceName", s("srv-dc01.contoso.com")),
                        (
                            "AdditionalFields",
                            dy(json!({"Count": "1", "SearchFilter": query})),
                        ),
                    ]),
                );
            }
            7 => {
                // A line-of-business app on srv-app01 binds to LDAP in clear text.
                let app = org.device("srv-app01");
                g.push(
                    "IdentityLogonEvents",
                    [
                        ("Timestamp", dt(time)),
                        ("ActionType", s("LogonSuccess")),
                        ("Application", s("Active Directory")),
                        ("LogonType", s("LDAP cleartext")),
                        ("Protocol", s("Ldap")),
                        ("AccountName", s("svc-hrapp")),
                        ("AccountDomain", s(DOMAIN)),
                        ("AccountUpn", s("svc-hrapp@contoso.com")),
                        ("AccountDisplayName", s("HR app service")),
                        ("DeviceName", s(&app.fqdn)),
                        ("IPAddress", s(&app.ip)),
                        ("Port", int(50_112)),
                        ("DestinationDeviceName", s("srv-dc01.contoso.com")),
                        ("DestinationIPAddress", s("10.20.0.10")),
                        ("DestinationPort", int(389)),
                        ("TargetDeviceName", s("srv-dc01.contoso.com")),
                        ("ReportId", s(rng.guid_string())),
                        ("AdditionalFields", dy(json!({"Count": "1"}))),
                    ],
                );
            }
            8 => {
                // The domain controllers replicate with each other.
                let (from, to) = (&org.devices[25], &org.devices[24]);
                g.push(
                    "IdentityDirectoryEvents",
                    [
                        ("Timestamp", dt(time)),
                        ("ActionType", s("Directory Services replication")),
                        ("Application", s("Active Directory")),
                        ("TargetDeviceName", s(&to.fqdn)),
                        ("DestinationDeviceName", s(&to.fqdn)),
                        ("DestinationIPAddress", s(&to.ip)),
                        ("DestinationPort", int(135)),
                        ("Protocol", s("Drsr")),
                        ("AccountName", s(format!("{}$", from.short.to_ascii_uppercase()))),
                        ("AccountDomain", s(DOMAIN)),
                        ("DeviceName", s(&from.fqdn)),
                        ("IPAddress", s(&from.ip)),
                        ("Port", int(49_670)),
                        ("ReportId", s(rng.guid_string())),
                        ("AdditionalFields", dy(json!({"Count": "1", "SourceComputerOperatingSystemType": "windows server"}))),
                    ],
                );
            }
            5..7 => {
                let (kind, protocol) = *rng.pick(&[
                    ("Credentials validation", "Ntlm"),
                    ("Resource access", "Kerberos"),
                    ("Resource access", "Ntlm"),
                ]);
                g.push(
                    "IdentityLogonEvents",
                    common.into_iter().chain([
                        (
                            "ActionType",
                            s(if rng.chance(0.97) {
                                "LogonSuccess"
                            } else {
                                "LogonFailed"
                            }),
                        ),
                        ("LogonType", s(kind)),
                        ("Protocol", s(protocol)),
                        (
                            "DestinationPort",
                            int(if protocol == "Ntlm" { 445 } else { 88 }),
                        ),
                        ("TargetDeviceName", s("srv-fs01.contoso.com")),
                        ("OSPlatform", s("Windows")),
                        ("DeviceType", s("Desktop")),
                        ("AdditionalFields", dy(json!({"Count": "1"}))),
                    ]),
                );
            }
            _ => {
                let admin = &org.users[rng.below(2)];
                let target = rng.pick(&org.users);
                let action = *rng.pick(&[
                    "Account Password changed",
                    "Group Membership changed",
                    "Account Password Never Expires changed",
                    "Account Supported Encryption Types changed",
                    "Account Enabled changed",
                    "SAM Account Name changed",
                    "Account Constrained Delegation changed",
                ]);
                let mut extra = match action {
                    "Group Membership changed" => json!({"TO.GROUP": "IT", "FROM.GROUP": ""}),
                    "Account Password Never Expires changed" => {
                        json!({"FROM Account Password Never Expires": "False", "TO Account Password Never Expires": "True"})
                    }
                    // Retiring RC4 for Kerberos, account by account.
                    "Account Supported Encryption Types changed" => {
                        json!({"FROM AccountSupportedEncryptionTypes": "RC4, AES128, AES256", "TO AccountSupportedEncryptionTypes": "AES128, AES256"})
                    }
                    "SAM Account Name changed" => {
                        json!({"FROM SAM Account Name": "temp-user", "TO SAM Account Name": target.sam})
                    }
                    "Account Constrained Delegation changed" => {
                        json!({"FROM AccountConstrainedDelegationState": "False", "TO AccountConstrainedDelegationState": "True",
                               "TO Account Constrained Delegation": "cifs/srv-fs01.contoso.com",
                               "TargetComputerOperatingSystem": "Windows Server 2022"})
                    }
                    _ => json!({}),
                };
                extra["ACTOR.ACCOUNT"] = json!(admin.sam);
                extra["TARGET_OBJECT.USER"] = json!(target.sam);
                g.push(
                    "IdentityDirectoryEvents",
                    [
                        ("Timestamp", dt(time)),
                        ("ActionType", s(action)),
                        ("Application", s("Active Directory")),
                        ("TargetAccountUpn", s(&target.upn)),
                        ("TargetAccountDisplayName", s(&target.display_name)),
                        ("TargetDeviceName", s("")),
                        ("DestinationDeviceName", s("srv-dc01.contoso.com")),
                        ("DestinationIPAddress", s("10.20.0.10")),
                        ("DestinationPort", int(389)),
                        ("Protocol", s("Ldap")),
                        ("AccountName", s(&admin.sam)),
                        ("AccountDomain", s(DOMAIN)),
                        ("AccountUpn", s(&admin.upn)),
                        ("AccountSid", s(&admin.sid)),
                        ("AccountObjectId", s(&admin.object_id)),
                        ("AccountDisplayName", s(&admin.display_name)),
                        ("DeviceName", s(&org.devices[rng.below(2)].fqdn)),
                        ("IPAddress", s(&org.devices[rng.below(2)].ip)),
                        ("ReportId", s(rng.guid_string())),
                        ("AdditionalFields", dy(extra)),
                    ],
                );
            }
        }
    }
}
