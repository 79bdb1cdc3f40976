//! Mail through Exchange Online Protection: EmailEvents, EmailAttachmentInfo and EmailUrlInfo.

use serde_json::json;

use crate::{Gen, dt, dy, file_hashes, int, long, s};

/// One message through Exchange Online Protection: EmailEvents, and its attachments and URLs in
/// EmailAttachmentInfo and EmailUrlInfo.
pub(crate) struct Mail<'a> {
    pub time: i64,
    pub network_id: &'a str,
    pub internet_id: &'a str,
    pub from: &'a str,
    pub from_name: &'a str,
    pub sender_ip: &'a str,
    /// `(address, object id)` of the recipient.
    pub to: (&'a str, &'a str),
    pub subject: &'a str,
    pub cluster: i64,
    pub direction: &'a str,
    pub delivery: (&'a str, &'a str),
    pub threats: &'a str,
    pub detection: &'a str,
    pub confidence: &'a str,
    pub bcl: i32,
    pub attachments: &'a [(&'a str, i64)],
    pub urls: &'a [&'a str],
    pub auth: &'a str,
}

pub(crate) fn mail(g: &mut Gen, m: Mail<'_>) {
    let domain = m.from.rsplit('@').next().unwrap_or_default();
    let report = format!("{}-{}", m.network_id, m.to.0.len());
    g.push(
        "EmailEvents",
        [
            ("Timestamp", dt(m.time)),
            ("NetworkMessageId", s(m.network_id)),
            ("InternetMessageId", s(m.internet_id)),
            ("SenderMailFromAddress", s(m.from)),
            ("SenderFromAddress", s(m.from)),
            ("SenderDisplayName", s(m.from_name)),
            ("SenderMailFromDomain", s(domain)),
            ("SenderFromDomain", s(domain)),
            ("SenderIPv4", s(m.sender_ip)),
            ("RecipientEmailAddress", s(m.to.0)),
            ("RecipientObjectId", s(m.to.1)),
            ("Subject", s(m.subject)),
            ("EmailClusterId", long(m.cluster)),
            ("EmailDirection", s(m.direction)),
            ("DeliveryAction", s(m.delivery.0)),
            ("DeliveryLocation", s(m.delivery.1)),
            ("LatestDeliveryAction", s(m.delivery.0)),
            ("LatestDeliveryLocation", s(m.delivery.1)),
            ("ThreatTypes", s(m.threats)),
            ("DetectionMethods", s(m.detection)),
            ("ConfidenceLevel", s(m.confidence)),
            ("BulkComplaintLevel", int(m.bcl)),
            (
                "EmailAction",
                s(match m.delivery.0 {
                    "Junked" => "Move message to junk mail folder",
                    "Blocked" => "Send to quarantine",
                    _ => "No action taken",
                }),
            ),
            ("AttachmentCount", int(m.attachments.len() as i32)),
            ("UrlCount", int(m.urls.len() as i32)),
            ("EmailLanguage", s("en")),
            ("AuthenticationDetails", s(m.auth)),
            ("ReportId", s(&report)),
            ("AdditionalFields", dy(json!({}))),
        ],
    );
    for &(name, size) in m.attachments {
        let (_, sha256, _) = file_hashes(name);
        g.push(
            "EmailAttachmentInfo",
            [
                ("Timestamp", dt(m.time)),
                ("NetworkMessageId", s(m.network_id)),
                ("SenderFromAddress", s(m.from)),
                ("SenderDisplayName", s(m.from_name)),
                ("RecipientEmailAddress", s(m.to.0)),
                ("RecipientObjectId", s(m.to.1)),
                ("FileName", s(name)),
                ("FileType", s(name.rsplit('.').next().unwrap_or_default())),
                ("SHA256", s(sha256)),
                ("FileSize", long(size)),
                ("ThreatTypes", s(m.threats)),
                ("DetectionMethods", s(m.detection)),
                ("ReportId", s(&report)),
            ],
        );
    }
    for (k, url) in m.urls.iter().enumerate() {
        let host = url
            .split("://")
            .nth(1)
            .and_then(|r| r.split('/').next())
            .unwrap_or_default();
        g.push(
            "EmailUrlInfo",
            [
                ("Timestamp", dt(m.time)),
                ("NetworkMessageId", s(m.network_id)),
                ("Url", s(*url)),
                ("UrlDomain", s(host)),
                ("UrlLocation", s(if k == 0 { "Body" } else { "Attachment" })),
                ("ReportId", s(&report)),
            ],
        );
    }
}
