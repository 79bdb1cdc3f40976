//! The story's alerts, the incident that groups them as it grows, and the analyst's response
//! (isolating devices from the Defender portal, resetting mbrown's password).

use serde_json::json;

use super::super::org::Org;
use super::super::rows::{self, Audit};
use super::super::sentinel::{self, Alert, Incident, IncidentVersion, Product};
use super::super::{Gen, MINUTE, Rng, file_hashes};
use super::{
    ATTACKER_IP, C2_IP, DROP_DIR, DROPPED_BINARY, EXFIL, EXFIL_IP, INBOX_RULE, INCIDENT_NUMBER,
    LATERAL, MACRO, MASS_DOWNLOAD, RDP, SERVER, SPRAY_1, StoryVersion, TAKEOVER, VICTIM,
    VICTIM_HOST, VICTIM_UPN, impact, risky_user, target,
};

/// Writes the alerts, the incident's versions and the analyst's actions; `encoded` is the
/// PowerShell command line of stage 3. Returns the SystemAlertIds of the alerts in stage order.
pub(super) fn write(
    g: &mut Gen,
    org: &Org,
    rng: &mut Rng,
    at: impl Fn(i64) -> i64 + Copy,
    encoded: &str,
) -> Vec<String> {
    let victim = org.user(VICTIM);
    let wks = org.device(VICTIM_HOST);
    let fs = org.device(SERVER);
    let now = g.now;

    // The alerts and the incident that groups them.
    let account = sentinel::account(victim);
    let mut alerts = Vec::new();
    let specs = [
        Alert {
            name: "Password Spray",
            severity: "Medium",
            product: Product::IdentityProtection,
            description: "Multiple usernames were attacked with common passwords from one IP address, and one sign-in succeeded.",
            tactics: "CredentialAccess",
            techniques: &["T1110.003"],
            compromised: VICTIM_UPN,
            entities: vec![account.clone(), sentinel::ip(ATTACKER_IP)],
            start: at(SPRAY_1),
            end: at(TAKEOVER),
        },
        Alert {
            name: "Unfamiliar sign-in properties",
            severity: "Medium",
            product: Product::IdentityProtection,
            description: "The sign-in had properties not seen recently for this user: IP address, location and browser.",
            tactics: "InitialAccess",
            techniques: &["T1078"],
            compromised: VICTIM_UPN,
            entities: vec![account.clone(), sentinel::ip(ATTACKER_IP)],
            start: at(TAKEOVER),
            end: at(TAKEOVER),
        },
        Alert {
            name: "Suspicious inbox manipulation rule",
            severity: "Medium",
            product: Product::CloudApps,
            description: "A rule that moves and marks as read messages about security and passwords was set on the user's inbox.",
            tactics: "Persistence, DefenseEvasion",
            techniques: &["T1564.008", "T1114"],
            compromised: VICTIM_UPN,
            entities: vec![
                account.clone(),
                sentinel::mailbox(victim),
                sentinel::ip(ATTACKER_IP),
            ],
            start: at(INBOX_RULE),
            end: at(INBOX_RULE),
        },
        Alert {
            name: "Suspicious PowerShell command line",
            severity: "High",
            product: Product::Endpoint,
            description: "A Word document started PowerShell with an encoded command that downloaded and ran a payload.",
            tactics: "Execution",
            techniques: &["T1059.001", "T1204.002"],
            compromised: "wks-014.contoso.com",
            entities: vec![
                sentinel::host(wks),
                account.clone(),
                sentinel::process(encoded, 11_208),
                sentinel::file(DROPPED_BINARY, DROP_DIR, &file_hashes(DROPPED_BINARY).1),
                sentinel::ip(C2_IP),
            ],
            start: at(MACRO) + MINUTE,
            end: at(MACRO) + 3 * MINUTE,
        },
        Alert {
            name: "Suspicious lateral movement activity",
            severity: "High",
            product: Product::Endpoint,
            description: "A user account signed in to a server over SMB and RDP from a compromised device and copied an executable to it.",
            tactics: "LateralMovement",
            techniques: &["T1021.001", "T1021.002", "T1570"],
            compromised: "srv-fs01.contoso.com",
            entities: vec![sentinel::host(wks), sentinel::host(fs), account.clone()],
            start: at(LATERAL),
            end: at(RDP),
        },
        Alert {
            name: "Large outbound transfer to rare external IP",
            severity: "High",
            product: Product::Scheduled,
            description: "A host sent more than 1 GB to an external IP address no other host talked to in the last 14 days.",
            tactics: "Exfiltration",
            techniques: &["T1048", "T1567.002"],
            compromised: "srv-fs01.contoso.com",
            entities: vec![sentinel::host(fs), sentinel::ip(EXFIL_IP), account.clone()],
            start: at(EXFIL),
            end: at(EXFIL) + 40 * MINUTE,
        },
        Alert {
            name: "Mass download by a single user",
            severity: "Medium",
            product: Product::CloudApps,
            description: "A user downloaded an unusually large number of files from SharePoint in a short time.",
            tactics: "Exfiltration",
            techniques: &["T1530"],
            compromised: VICTIM_UPN,
            entities: vec![account, sentinel::ip(ATTACKER_IP)],
            start: at(MASS_DOWNLOAD),
            end: at(MASS_DOWNLOAD) + 19 * MINUTE,
        },
    ];
    let mut alert_times = Vec::new();
    for spec in specs.into_iter().chain(impact::alerts(org, at)) {
        alert_times.push(spec.end + 6 * MINUTE);
        alerts.push(sentinel::write_alert(g, rng, spec));
    }

    let analyst = org.user("jlee");
    let name = rng.guid_string();
    let incident = Incident {
        number: INCIDENT_NUMBER,
        name: &name,
        description: "Password spray, account takeover, malware, lateral movement and exfiltration involving mbrown@contoso.com.",
        created: alert_times[0],
        tactics: &[
            "CredentialAccess",
            "InitialAccess",
            "Persistence",
            "Execution",
            "LateralMovement",
            "Exfiltration",
            "DefenseEvasion",
            "Impact",
        ],
        techniques: &[
            "T1110", "T1078", "T1564", "T1059", "T1021", "T1048", "T1070", "T1490", "T1486",
        ],
        products: &[
            "Azure Active Directory Identity Protection",
            "Microsoft Cloud App Security",
            "Microsoft Defender Advanced Threat Protection",
            "Azure Sentinel",
        ],
        labels: &["Multi-stage"],
    };
    let first_title = "Password Spray involving one user";
    let full_title = "Multi-stage incident involving Initial access & Lateral movement & Exfiltration on multiple endpoints reported by multiple sources";
    let comment_1 = [(
        "Assigned to Tier 2. Password reset and sessions revoked for mbrown.",
        alert_times[3] + 20 * MINUTE,
    )];
    let comment_2 = [
        comment_1[0],
        (
            "srv-fs01 and wks-014 isolated; 203.0.113.0/24 blocked at the firewall.",
            alert_times[6] + 30 * MINUTE,
        ),
    ];
    let comment_3 = [
        comment_1[0],
        comment_2[1],
        (
            "srv-sql01: ransomware quarantined before it ran; isolated. svc_print removed, adavis reset.",
            alert_times[9] + 30 * MINUTE,
        ),
    ];
    // (alerts so far, title, severity, status, owner, comments)
    let versions: [StoryVersion<'_>; 7] = [
        (2, first_title, "Medium", "New", None, &[]),
        (3, first_title, "Medium", "New", None, &[]),
        (4, full_title, "High", "Active", Some(analyst), &[]),
        (5, full_title, "High", "Active", Some(analyst), &comment_1),
        (6, full_title, "High", "Active", Some(analyst), &comment_1),
        (7, full_title, "High", "Active", Some(analyst), &comment_2),
        (10, full_title, "High", "Active", Some(analyst), &comment_3),
    ];
    for (n, title, severity, status, owner, comments) in versions {
        let modified = comments.last().map_or(alert_times[n - 1] + MINUTE, |c| {
            c.1.max(alert_times[n - 1] + MINUTE)
        });
        sentinel::write_incident_version(
            g,
            &incident,
            IncidentVersion {
                modified: modified.min(now),
                title,
                severity,
                status,
                classification: None,
                owner,
                alert_ids: &alerts[..n],
                comments,
                first_activity: at(SPRAY_1),
                last_activity: alert_times[n - 1] - 6 * MINUTE,
            },
        );
    }
    // The analyst collects the implant, scans and isolates both machines from the Defender portal,
    // and srv-sql01 once Defender has quarantined the ransomware there.
    let sql = org.device(impact::RANSOM_HOST);
    for (time, action, device) in [
        (alert_times[6] + 22 * MINUTE, "LiveResponseGetFile", wks),
        (alert_times[6] + 24 * MINUTE, "RunAntiVirusScan", wks),
        (alert_times[6] + 25 * MINUTE, "IsolateDevice", wks),
        (alert_times[6] + 26 * MINUTE, "IsolateDevice", fs),
        (at(impact::RETURN) + 20 * MINUTE, "IsolateDevice", sql),
    ] {
        rows::cloud_app_event(
            g,
            rows::CloudApp {
                time,
                action,
                application: "Microsoft Defender for Endpoint",
                application_id: 0,
                account: (&analyst.display_name, &analyst.upn, &analyst.object_id),
                ip: super::super::org::OFFICES[analyst.office].egress_ip,
                activity_type: "Run",
                object_name: &device.fqdn,
                object_type: "Device",
                raw: json!({"ActionType": action, "DeviceName": device.fqdn, "DeviceId": device.device_id,
                            "FilePath": if action == "LiveResponseGetFile" { format!("{DROP_DIR}\\{DROPPED_BINARY}") } else { String::new() }}),
                user_agent: rows::ORG_USER_AGENT,
                admin: true,
            },
        );
    }
    // The analyst resets mbrown's password: Identity Protection marks the risk remediated.
    rows::audit(
        g,
        rng,
        Audit {
            time: alert_times[3] + 18 * MINUTE,
            operation: "Reset password (by admin)",
            category: "UserManagement",
            service: "Core Directory",
            actor: json!({"user": {"id": analyst.object_id, "displayName": null,
                                   "userPrincipalName": analyst.upn, "ipAddress": super::super::org::OFFICES[analyst.office].egress_ip}}),
            actor_account: (&analyst.display_name, &analyst.upn, &analyst.object_id),
            actor_ip: super::super::org::OFFICES[analyst.office].egress_ip,
            targets: target(victim, json!([])),
            details: json!([]),
            result: "success",
            result_reason: "",
        },
    );
    risky_user(
        g,
        victim,
        alert_times[3] + 19 * MINUTE,
        ("low", "remediated", "adminGeneratedTemporaryPassword"),
    );
    alerts
}
