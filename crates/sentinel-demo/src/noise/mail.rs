//! Mail through Exchange Online Protection: inbound partner mail, internal mail, spam and the
//! occasional phish or malware it stops; Safe Links clicks and zero-hour auto purge.

use super::super::org::{DOMAIN, Org};
use super::super::rows::{self, Mail};
use super::super::{Gen, MINUTE, Rng, boolean, dt, s};
use super::office_time;

const PARTNERS: [&str; 6] = [
    "fabrikam.com",
    "northwindtraders.com",
    "adventure-works.com",
    "tailspintoys.com",
    "wingtiptoys.com",
    "litwareinc.com",
];
const SUBJECTS: [&str; 10] = [
    "Weekly sync notes",
    "RE: Contract renewal",
    "Invoice for October services",
    "Lunch on Friday?",
    "Updated project timeline",
    "FW: Security awareness training reminder",
    "Your order has shipped",
    "Quarterly newsletter",
    "Meeting request: roadmap review",
    "RE: Budget approval",
];
const ATTACHMENTS: [(&str, i64); 6] = [
    ("agenda.docx", 38_211),
    ("invoice-1187.pdf", 122_004),
    ("timeline.xlsx", 64_530),
    ("slides.pptx", 2_304_112),
    ("photo.jpg", 884_210),
    ("report.zip", 1_204_877),
];

pub(super) fn mail(g: &mut Gen, org: &Org, rng: &mut Rng, n: usize) {
    for _ in 0..n {
        let to = rng.pick(&org.users);
        let time = office_time(g, rng, to.office);
        let inbound = rng.chance(0.6);
        let (from, sender_ip, direction) = if inbound {
            let domain = *rng.pick(&PARTNERS);
            (
                format!(
                    "{}@{domain}",
                    rng.pick(&["billing", "info", "sales", "j.smith", "support"])
                ),
                format!("192.0.2.{}", 40 + rng.below(40)),
                "Inbound",
            )
        } else {
            let sender = rng.pick(&org.users);
            (sender.upn.clone(), String::new(), "Intra-org")
        };
        let roll = rng.below(100);
        let (delivery, threats) = match roll {
            _ if !inbound => (("Delivered", "Inbox/folder"), ""),
            0..90 => (("Delivered", "Inbox/folder"), ""),
            90..97 => (("Junked", "Junk folder"), "Spam"),
            99 => (("Blocked", "Quarantine"), "Malware"),
            _ => (("Blocked", "Quarantine"), "Phish"),
        };
        let subject = *rng.pick(&SUBJECTS);
        let network_id = rng.guid_string();
        let internet_id = format!(
            "<{}@{}>",
            rng.hex(20),
            from.rsplit('@').next().unwrap_or(DOMAIN)
        );
        let attachments: Vec<(&str, i64)> =
            (0..rng.below(3)).map(|_| *rng.pick(&ATTACHMENTS)).collect();
        let url = format!(
            "https://{}/{}",
            from.rsplit('@').next().unwrap_or(DOMAIN),
            rng.pick(&["portal", "docs/shared", "track?id=88213", "news"])
        );
        let urls: Vec<&str> = if rng.chance(0.5) {
            vec![url.as_str()]
        } else {
            Vec::new()
        };
        let detection = match threats {
            "Spam" => "{\"Spam\":[\"Mixed analysis detection\"]}",
            "Phish" => "{\"Phish\":[\"URL malicious reputation\"]}",
            "Malware" => "{\"Malware\":[\"Antimalware protection\"]}",
            _ => "",
        };
        rows::mail(
            g,
            Mail {
                time,
                network_id: &network_id,
                internet_id: &internet_id,
                from: &from,
                from_name: from.split('@').next().unwrap_or_default(),
                sender_ip: &sender_ip,
                to: (&to.upn, &to.object_id),
                subject,
                cluster: rng.range(1_000_000, 9_000_000),
                direction,
                delivery,
                threats,
                detection,
                confidence: if threats == "Spam" {
                    "{\"Spam\":\"5\"}"
                } else {
                    ""
                },
                bcl: if subject.contains("newsletter") { 6 } else { 0 },
                attachments: &attachments,
                urls: &urls,
                auth: "{\"SPF\":\"pass\",\"DKIM\":\"pass\",\"DMARC\":\"pass\",\"CompAuth\":\"pass\"}",
            },
        );
        if let Some(url) = urls.first()
            && delivery.0 == "Delivered"
            && rng.chance(0.3)
        {
            g.push(
                "UrlClickEvents",
                [
                    ("Timestamp", dt(time + rng.range(1, 120) * MINUTE)),
                    ("Url", s(*url)),
                    ("ActionType", s("ClickAllowed")),
                    ("AccountUpn", s(&to.upn)),
                    ("Workload", s("Email")),
                    ("NetworkMessageId", s(&network_id)),
                    ("IPAddress", s(super::egress(to))),
                    ("IsClickedThrough", boolean(true)),
                    ("UrlChain", s(format!("[\"{url}\"]"))),
                    ("ReportId", s(rng.guid_string())),
                ],
            );
        }
        if inbound && delivery.0 == "Delivered" && rng.chance(0.01) {
            g.push(
                "EmailPostDeliveryEvents",
                [
                    ("Timestamp", dt(time + rng.range(30, 600) * MINUTE)),
                    ("NetworkMessageId", s(&network_id)),
                    ("InternetMessageId", s(&internet_id)),
                    ("Action", s("Moved to junk folder")),
                    ("ActionType", s("Spam ZAP")),
                    ("ActionTrigger", s("SpecialAction")),
                    ("ActionResult", s("Success")),
                    ("RecipientEmailAddress", s(&to.upn)),
                    ("DeliveryLocation", s("Junk folder")),
                    ("ThreatTypes", s("Spam")),
                    (
                        "DetectionMethods",
                        s("{\"Spam\":[\"Mixed analysis detection\"]}"),
                    ),
                    ("ReportId", s(format!("{network_id}-zap"))),
                ],
            );
        }
    }
}
