//! Firewall traffic as CEF lands in CommonSecurityLog.

use crate::org::OFFICES;
use crate::{dt, int, long, s};
use kql::value::Value;

/// One Palo Alto traffic log, as CEF lands in CommonSecurityLog.
pub(crate) fn firewall_row(
    time: i64,
    (src, src_port): (&str, i32),
    (dst, dst_port): (&str, i32),
    app: &str,
    (sent, received): (i64, i64),
    user: &str,
) -> [(&'static str, Value); 28] {
    let outbound = !dst.starts_with("10.");
    [
        ("TimeGenerated", dt(time)),
        ("DeviceVendor", s("Palo Alto Networks")),
        ("DeviceProduct", s("PAN-OS")),
        ("DeviceVersion", s("11.1.2")),
        ("DeviceEventClassID", s("end")),
        ("Activity", s("TRAFFIC")),
        ("LogSeverity", s("1")),
        ("DeviceAction", s("allow")),
        ("SimplifiedDeviceAction", s("Allow")),
        ("ApplicationProtocol", s(app)),
        (
            "CommunicationDirection",
            s(if outbound { "Outbound" } else { "Internal" }),
        ),
        ("DeviceName", s("pa-fw01")),
        ("DeviceInboundInterface", s("ethernet1/2")),
        (
            "DeviceOutboundInterface",
            s(if outbound {
                "ethernet1/1"
            } else {
                "ethernet1/3"
            }),
        ),
        ("SourceIP", s(src)),
        ("SourcePort", int(src_port)),
        ("SourceUserName", s(user)),
        (
            "SourceTranslatedAddress",
            s(if outbound { OFFICES[0].egress_ip } else { "" }),
        ),
        ("DestinationIP", s(dst)),
        ("DestinationPort", int(dst_port)),
        ("Protocol", s("TCP")),
        ("SentBytes", long(sent)),
        ("ReceivedBytes", long(received)),
        ("EventCount", int(1)),
        ("Computer", s("syslog-fwd01")),
        ("CollectorHostName", s("syslog-fwd01")),
        ("ReceiptTime", s(crate::iso(time))),
        ("SourceSystem", s("OpsManager")),
    ]
}
