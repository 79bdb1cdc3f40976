//! The everyday alerts, and the incidents a SOC opened for them and mostly closed.

use super::super::org::{OFFICES, Org, User};
use super::super::sentinel::{self, Alert, Incident, IncidentVersion, Product};
use super::super::{Gen, HOUR, MINUTE, Rng, SECOND, SPAN};

/// One kind of everyday alert.
struct NoiseKind {
    name: &'static str,
    severity: &'static str,
    product: Product,
    description: &'static str,
    tactics: &'static str,
    techniques: &'static [&'static str],
    /// `(Classification, ClassificationReason, comment)` when the incident is closed.
    verdict: (&'static str, &'static str, &'static str),
}

const NOISE_KINDS: [NoiseKind; 8] = [
    NoiseKind {
        name: "Atypical travel",
        severity: "Medium",
        product: Product::IdentityProtection,
        description: "Sign-ins from two geographically distant locations within a time shorter than travel between them.",
        tactics: "InitialAccess",
        techniques: &["T1078"],
        verdict: (
            "BenignPositive",
            "SuspiciousButExpected",
            "User travelling between offices; confirmed with the user.",
        ),
    },
    NoiseKind {
        name: "Multiple failed sign-in attempts",
        severity: "Low",
        product: Product::Scheduled,
        description: "A user failed to sign in 10 or more times within 10 minutes.",
        tactics: "CredentialAccess",
        techniques: &["T1110"],
        verdict: (
            "BenignPositive",
            "SuspiciousButExpected",
            "User forgot the new password after a reset.",
        ),
    },
    NoiseKind {
        name: "'EICAR_Test_File' malware was prevented",
        severity: "Informational",
        product: Product::Endpoint,
        description: "The EICAR test file was detected and quarantined.",
        tactics: "Execution",
        techniques: &[],
        verdict: (
            "BenignPositive",
            "SuspiciousButExpected",
            "Antivirus test by IT.",
        ),
    },
    NoiseKind {
        name: "Anonymous IP address",
        severity: "Low",
        product: Product::IdentityProtection,
        description: "Sign-in from an anonymous IP address (for example a VPN service).",
        tactics: "InitialAccess",
        techniques: &["T1090"],
        verdict: (
            "FalsePositive",
            "InaccurateData",
            "Corporate VPN egress mis-classified as anonymous proxy.",
        ),
    },
    NoiseKind {
        // The product's own name ends in a zero-width space.
        name: "Email messages containing malicious URL removed after delivery\u{200b}",
        severity: "Informational",
        product: Product::Office,
        description: "Messages with a URL later found malicious were removed from mailboxes (zero-hour auto purge).",
        tactics: "InitialAccess",
        techniques: &["T1566.002"],
        verdict: (
            "TruePositive",
            "SuspiciousActivity",
            "ZAP removed the messages; no clicks.",
        ),
    },
    NoiseKind {
        name: "User added to privileged group",
        severity: "Medium",
        product: Product::Scheduled,
        description: "A user was added to a privileged directory role or group.",
        tactics: "Persistence, PrivilegeEscalation",
        techniques: &["T1098"],
        verdict: (
            "BenignPositive",
            "SuspiciousButExpected",
            "Approved change request.",
        ),
    },
    NoiseKind {
        name: "An uncommon file was created and added to a Run Key",
        severity: "Low",
        product: Product::Endpoint,
        description: "A file seen on few devices was added to an autorun registry key.",
        tactics: "Persistence",
        techniques: &["T1547.001"],
        verdict: (
            "FalsePositive",
            "IncorrectAlertLogic",
            "Line-of-business updater signed by the vendor.",
        ),
    },
    NoiseKind {
        name: "User and group membership reconnaissance (SAMR)",
        severity: "Medium",
        product: Product::Identity,
        description: "A device queried the domain controller for the members of sensitive groups.",
        tactics: "Discovery",
        techniques: &["T1087.002"],
        verdict: (
            "BenignPositive",
            "SuspiciousButExpected",
            "Quarterly access review script run by IT.",
        ),
    },
];

pub(super) fn alerts_and_incidents(g: &mut Gen, org: &Org, rng: &mut Rng, budget: usize) {
    let incidents = 6 + budget / 15_000;
    let standalone = 4 + budget / 10_000;
    let mut created: Vec<i64> = (0..incidents)
        .map(|_| rng.range(g.now - SPAN + HOUR, g.now - 2 * HOUR))
        .collect();
    created.sort_unstable();
    let mut number = 1000;
    for first in created {
        number += 1;
        if number == super::super::story::INCIDENT_NUMBER {
            number += 1;
        }
        let kind = rng.pick(&NOISE_KINDS);
        let user = &org.users[2 + rng.below(48)];
        let count = 1 + rng.below(3);
        let mut ids = Vec::new();
        let mut last = first;
        for k in 0..count {
            let start = (first + k as i64 * rng.range(10, 120) * MINUTE).min(g.now - 10 * MINUTE);
            last = start;
            ids.push(noise_alert(g, org, rng, kind, user, start));
        }
        let name = rng.guid_string();
        let incident = Incident {
            number,
            name: &name,
            description: kind.description,
            created: (first + 6 * MINUTE).min(g.now),
            tactics: &[],
            techniques: kind.techniques,
            products: &[],
            labels: &[],
        };
        let analyst = &org.users[1];
        let title = kind.name;
        let mut modified = incident.created;
        sentinel::write_incident_version(
            g,
            &incident,
            base_of(&incident, title, kind, &ids, first, last),
        );
        if rng.chance(0.8) {
            modified += rng.range(20, 240) * MINUTE;
            if modified <= g.now {
                let active = IncidentVersion {
                    modified,
                    status: "Active",
                    owner: Some(analyst),
                    ..base_of(&incident, title, kind, &ids, first, last)
                };
                sentinel::write_incident_version(g, &incident, active);
                modified += rng.range(1, 30) * HOUR;
                if modified <= g.now && rng.chance(0.85) {
                    let closed = IncidentVersion {
                        modified,
                        status: "Closed",
                        owner: Some(analyst),
                        classification: Some(kind.verdict),
                        ..base_of(&incident, title, kind, &ids, first, last)
                    };
                    sentinel::write_incident_version(g, &incident, closed);
                }
            }
        }
    }
    for _ in 0..standalone {
        let kind = rng.pick(&NOISE_KINDS[..4]);
        let user = &org.users[2 + rng.below(48)];
        let start = rng.range(g.now - SPAN + HOUR, g.now - HOUR);
        noise_alert(g, org, rng, kind, user, start);
    }
}

fn base_of<'a>(
    incident: &Incident<'_>,
    title: &'a str,
    kind: &'a NoiseKind,
    ids: &'a [String],
    first: i64,
    last: i64,
) -> IncidentVersion<'a> {
    IncidentVersion {
        modified: incident.created,
        title,
        severity: kind.severity,
        status: "New",
        classification: None,
        owner: None,
        alert_ids: ids,
        comments: &[],
        first_activity: first,
        last_activity: last,
    }
}

fn noise_alert(
    g: &mut Gen,
    org: &Org,
    rng: &mut Rng,
    kind: &NoiseKind,
    user: &User,
    start: i64,
) -> String {
    let device = user.device.map_or(&org.devices[0], |d| &org.devices[d]);
    let entities = match kind.product {
        Product::Endpoint => vec![
            sentinel::host(device),
            sentinel::account(user),
            sentinel::file(
                "eicar.com",
                &format!("C:\\Users\\{}\\Downloads", user.sam),
                &super::super::file_hashes("eicar.com").1,
            ),
        ],
        Product::Office => vec![
            sentinel::mailbox(user),
            serde_json::json!({"Url": "https://login-contoso.example/verify?id=2231", "Type": "url"}),
        ],
        Product::Identity => vec![sentinel::account(user), sentinel::host(device)],
        _ => vec![
            sentinel::account(user),
            sentinel::ip(OFFICES[(user.office + 2) % 3].egress_ip),
        ],
    };
    let compromised = match kind.product {
        Product::Endpoint => device.fqdn.clone(),
        _ => user.upn.clone(),
    };
    let end = (start + rng.range(0, 30) * MINUTE + SECOND).min(g.now);
    sentinel::write_alert(
        g,
        rng,
        Alert {
            name: kind.name,
            severity: kind.severity,
            product: kind.product,
            description: kind.description,
            tactics: kind.tactics,
            techniques: kind.techniques,
            compromised: &compromised,
            entities,
            start,
            end,
        },
    )
}
