//! Who a request counts against for the per-principal limits: the authenticated principal, or
//! with authentication off the client's address, read from `X-Forwarded-For` only when the
//! connecting peer is a trusted proxy (behind an ingress every client shares its address).

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The connecting peer of a request's connection; the accept loop attaches it to every request.
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub SocketAddr);

/// Proxies whose `X-Forwarded-For` is believed (`SENTINEL_MCP_TRUSTED_PROXIES`).
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Addresses and CIDR ranges; an entry that is neither is an error naming it.
    pub fn parse(entries: &[String]) -> Result<TrustedProxies, String> {
        entries
            .iter()
            .map(|e| e.trim())
            .filter(|e| !e.is_empty())
            .map(|e| {
                e.parse::<IpNet>()
                    .or_else(|_| e.parse::<IpAddr>().map(IpNet::from))
                    .map(|net| net.trunc())
                    .map_err(|_| {
                        format!(
                            "SENTINEL_MCP_TRUSTED_PROXIES: '{e}' is not an IP address or CIDR range"
                        )
                    })
            })
            .collect::<Result<_, _>>()
            .map(TrustedProxies)
    }

    fn trusts(&self, addr: IpAddr) -> bool {
        let addr = addr.to_canonical();
        self.0.iter().any(|net| net.contains(&addr))
    }

    /// The client address a request counts against: the peer, or when the peer is a trusted
    /// proxy, the rightmost `X-Forwarded-For` entry that is not one (entries left of it are
    /// whatever the client claimed, so they are never read). An entry that is not an address
    /// ends the walk at the nearest trusted hop.
    pub fn client_address(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = peer.to_canonical();
        if !self.trusts(client) {
            return client;
        }
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>();
        for entry in forwarded.iter().rev().flat_map(|v| v.rsplit(',')) {
            let Some(addr) = parse_forwarded(entry) else {
                break;
            };
            client = addr;
            if !self.trusts(addr) {
                break;
            }
        }
        client
    }
}

/// One `X-Forwarded-For` entry: an address, possibly with a port (`1.2.3.4:5`, `[::1]:5`).
fn parse_forwarded(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .or_else(|_| entry.parse::<SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(|a| a.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_is_ignored_unless_the_peer_is_trusted() {
        let none = TrustedProxies::default();
        assert_eq!(
            none.client_address(ip("10.0.0.5"), &headers(&["203.0.113.9"])),
            ip("10.0.0.5")
        );
        let other = TrustedProxies::parse(&["10.1.0.0/16".into()]).unwrap();
        assert_eq!(
            other.client_address(ip("10.0.0.5"), &headers(&["203.0.113.9"])),
            ip("10.0.0.5")
        );
    }

    #[test]
    fn the_rightmost_untrusted_entry_is_the_client() {
        let trusted = TrustedProxies::parse(&["10.0.0.0/8".into(), "192.0.2.1".into()]).unwrap();
        let peer = ip("10.0.0.5");
        // A client claiming to be someone else on the left changes nothing.
        assert_eq!(
            trusted.client_address(peer, &headers(&["1.1.1.1, 203.0.113.9, 10.2.3.4"])),
            ip("203.0.113.9")
        );
        // Several headers are one list, in order.
        assert_eq!(
            trusted.client_address(peer, &headers(&["1.1.1.1", "203.0.113.9:4711, 192.0.2.1"])),
            ip("203.0.113.9")
        );
        // Only trusted hops: the leftmost is the client.
        assert_eq!(
            trusted.client_address(peer, &headers(&["10.9.9.9, 10.2.3.4"])),
            ip("10.9.9.9")
        );
        // Garbage stops the walk at the nearest trusted hop.
        assert_eq!(
            trusted.client_address(peer, &headers(&["203.0.113.9, garbage, 10.2.3.4"])),
            ip("10.2.3.4")
        );
        // No header: the proxy itself.
        assert_eq!(trusted.client_address(peer, &headers(&[])), peer);
        // IPv4-mapped IPv6 peers match IPv4 ranges.
        assert_eq!(
            trusted.client_address(ip("::ffff:10.0.0.5"), &headers(&["[2001:db8::1]:443"])),
            ip("2001:db8::1")
        );
    }

    #[test]
    fn entries_must_be_addresses_or_ranges() {
        assert!(TrustedProxies::parse(&["10.0.0.0/8".into(), " ::1 ".into(), "".into()]).is_ok());
        let e = TrustedProxies::parse(&["proxy.internal".into()]).unwrap_err();
        assert!(e.contains("proxy.internal"), "{e}");
        assert!(TrustedProxies::parse(&["10.0.0.0/33".into()]).is_err());
    }
}
