//! Benign activity of contoso.com, one unit per kind of activity: sign-ins in office hours,
//! directory changes, processes, network, logons, files, registry and image loads, Windows security
//! events, DNS, firewall traffic, mail, Microsoft 365, Azure, inventory and vulnerability data, and
//! the everyday alerts and incidents (false and benign positives) a SOC closes. Each unit writes
//! the tables it declares from its own random stream.

mod alerts;
mod cloud;
mod endpoint;
mod identity;
mod inventory;
mod mail;
mod network;

use super::org::{OFFICES, Org, User};
use super::{DAY, Gen, HOUR, Rng, SPAN, Unit};

/// Every noise unit. Shares are of the noise budget, in events; they are set so the rows add up
/// to about the requested size.
pub(super) const UNITS: &[Unit] = &[
    Unit {
        name: "signins",
        tables: &[
            "SigninLogs",
            "AADNonInteractiveUserSignInLogs",
            "AADSignInEventsBeta",
            "IdentityLogonEvents",
        ],
        share: 0.0752,
        run: identity::signins,
    },
    Unit {
        name: "service-signins",
        tables: &[
            "AADServicePrincipalSignInLogs",
            "AADManagedIdentitySignInLogs",
            "AADSpnSignInEventsBeta",
        ],
        share: 0.0106,
        run: identity::service_signins,
    },
    Unit {
        name: "directory",
        tables: &["AuditLogs", "CloudAppEvents"],
        share: 0.0124,
        run: identity::directory,
    },
    Unit {
        name: "identity-risk",
        tables: &["AADUserRiskEvents", "AADRiskyUsers", "BehaviorAnalytics"],
        share: 0.0053,
        run: identity::risk,
    },
    Unit {
        name: "identity-info",
        tables: &["IdentityInfo"],
        share: 0.0,
        run: identity::identity_info,
    },
    Unit {
        name: "identity-directory",
        tables: &[
            "IdentityDirectoryEvents",
            "IdentityQueryEvents",
            "IdentityLogonEvents",
        ],
        share: 0.0088,
        run: identity::domain_controller,
    },
    Unit {
        name: "processes",
        tables: &["DeviceProcessEvents", "SecurityEvent"],
        share: 0.0752,
        run: endpoint::processes,
    },
    Unit {
        name: "admin-sessions",
        tables: &["DeviceProcessEvents", "SecurityEvent"],
        share: 0.0,
        run: endpoint::admin_sessions,
    },
    Unit {
        name: "network",
        tables: &["DeviceNetworkEvents"],
        share: 0.0973,
        run: endpoint::network,
    },
    Unit {
        name: "files",
        tables: &["DeviceFileEvents"],
        share: 0.0487,
        run: endpoint::files,
    },
    Unit {
        name: "logons",
        tables: &["DeviceLogonEvents", "SecurityEvent", "IdentityLogonEvents"],
        share: 0.0177,
        run: endpoint::logons,
    },
    Unit {
        name: "device-events",
        tables: &["DeviceEvents"],
        share: 0.0442,
        run: endpoint::device_events,
    },
    Unit {
        name: "registry",
        tables: &["DeviceRegistryEvents"],
        share: 0.0265,
        run: endpoint::registry,
    },
    Unit {
        name: "image-loads",
        tables: &["DeviceImageLoadEvents"],
        share: 0.0265,
        run: endpoint::image_loads,
    },
    Unit {
        name: "windows-security",
        tables: &["SecurityEvent"],
        share: 0.0177,
        run: network::windows_security,
    },
    Unit {
        name: "account-housekeeping",
        tables: &["SecurityEvent"],
        share: 0.0,
        run: network::account_housekeeping,
    },
    Unit {
        name: "dns",
        tables: &["DnsEvents"],
        share: 0.0177,
        run: network::dns,
    },
    Unit {
        name: "firewall",
        tables: &["CommonSecurityLog"],
        share: 0.0442,
        run: network::firewall,
    },
    Unit {
        name: "mail",
        tables: &[
            "EmailEvents",
            "EmailAttachmentInfo",
            "EmailUrlInfo",
            "EmailPostDeliveryEvents",
            "UrlClickEvents",
        ],
        share: 0.0265,
        run: mail::mail,
    },
    Unit {
        name: "m365",
        tables: &["OfficeActivity", "CloudAppEvents"],
        share: 0.0354,
        run: cloud::m365,
    },
    Unit {
        name: "azure",
        tables: &["AzureActivity", "AzureDiagnostics"],
        share: 0.0177,
        run: cloud::azure,
    },
    Unit {
        name: "graph",
        tables: &["MicrosoftGraphActivityLogs", "GraphAPIAuditEvents"],
        share: 0.0088,
        run: cloud::graph,
    },
    Unit {
        name: "apps",
        tables: &["OAuthAppInfo", "ExposureGraphEdges"],
        share: 0.0,
        run: cloud::apps,
    },
    Unit {
        name: "security-admin",
        tables: &["CloudAppEvents"],
        share: 0.0,
        run: cloud::security_admin,
    },
    Unit {
        name: "workspace-usage",
        tables: &["Usage"],
        share: 0.01,
        run: cloud::workspace_usage,
    },
    Unit {
        name: "password-protection",
        tables: &["Event"],
        share: 0.002,
        run: identity::password_protection,
    },
    Unit {
        name: "sentinel-usage",
        tables: &["LAQueryLogs", "ThreatIntelligenceIndicator"],
        share: 0.0053,
        run: cloud::sentinel_usage,
    },
    Unit {
        name: "inventory",
        tables: &[
            "DeviceInfo",
            "DeviceNetworkInfo",
            "Heartbeat",
            "IntuneDevices",
        ],
        share: 0.0354,
        run: inventory::inventory,
    },
    Unit {
        name: "vulnerabilities",
        tables: &[
            "DeviceTvmSoftwareInventory",
            "DeviceTvmSoftwareVulnerabilities",
            "DeviceTvmSoftwareVulnerabilitiesKB",
            "DeviceTvmSecureConfigurationAssessment",
            "DeviceTvmSecureConfigurationAssessmentKB",
            "DeviceTvmInfoGathering",
            "DeviceTvmBrowserExtensions",
        ],
        share: 0.0,
        run: inventory::vulnerabilities,
    },
    Unit {
        name: "alerts",
        tables: &[
            "SecurityAlert",
            "SecurityIncident",
            "AlertInfo",
            "AlertEvidence",
        ],
        share: 1.0,
        run: alerts::alerts_and_incidents,
    },
];

/// Uniform in the workspace's span.
fn any_time(g: &Gen, rng: &mut Rng) -> i64 {
    rng.range(g.now - SPAN, g.now + 1)
}

/// A weekday between 08:00 and 18:00 in the office's time zone, mostly; some evenings and weekends.
fn office_time(g: &Gen, rng: &mut Rng, office: usize) -> i64 {
    let utc_offset = [-8, -5, 0][office % 3] * HOUR;
    let today = g.now.div_euclid(DAY) * DAY;
    for _ in 0..6 {
        let day = today - rng.range(0, 15) * DAY;
        let weekday = (day.div_euclid(DAY) + 3).rem_euclid(7); // 0 = Monday; 1970-01-01 was a Thursday
        if weekday >= 5 && !rng.chance(0.1) {
            continue;
        }
        let local = if rng.chance(0.92) {
            rng.range(8 * HOUR, 18 * HOUR)
        } else {
            rng.range(0, DAY)
        };
        let t = day + local - utc_offset;
        if (g.now - SPAN..=g.now).contains(&t) {
            return t;
        }
    }
    any_time(g, rng)
}

/// A workstation and its owner.
fn workstation<'a>(org: &'a Org, rng: &mut Rng) -> (&'a super::org::Device, &'a User) {
    let i = rng.below(24);
    (&org.devices[i], &org.users[i])
}

/// A user's office egress address.
fn egress(u: &User) -> &'static str {
    OFFICES[u.office].egress_ip
}
