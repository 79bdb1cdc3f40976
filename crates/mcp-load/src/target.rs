//! Where the load goes: loopback `http://` URLs only, so a run can never hit another machine.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// Why a URL is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TargetError {
    #[error("URL `{0}` must start with http:// (the load tool speaks plain HTTP on loopback)")]
    Scheme(String),
    #[error("URL `{0}` has no host")]
    NoHost(String),
    #[error(
        "URL `{0}` is not on loopback; the load tool only targets 127.0.0.0/8, ::1 or localhost"
    )]
    NotLoopback(String),
    #[error("URL `{0}` has a port that is not a number from 1 to 65535")]
    Port(String),
}

/// A parsed loopback URL: the socket address, the Host header and the path with its query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub addr: SocketAddr,
    pub authority: String,
    pub path: String,
}

impl Target {
    /// Parses `http://host[:port][/path]`, refusing anything that is not loopback.
    pub fn parse(url: &str) -> Result<Target, TargetError> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| TargetError::Scheme(url.to_string()))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.is_empty() {
            return Err(TargetError::NoHost(url.to_string()));
        }
        if authority.contains('@') {
            return Err(TargetError::NotLoopback(url.to_string()));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let end = v6
                .find(']')
                .ok_or_else(|| TargetError::NoHost(url.to_string()))?;
            let port = &v6[end + 1..];
            (&v6[..end], port.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        let port: u16 = match port {
            None => 80,
            Some(p) => p
                .parse()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| TargetError::Port(url.to_string()))?,
        };
        let ip: IpAddr = if host.eq_ignore_ascii_case("localhost") {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        } else {
            host.parse()
                .map_err(|_| TargetError::NotLoopback(url.to_string()))?
        };
        if !ip.is_loopback() {
            return Err(TargetError::NotLoopback(url.to_string()));
        }
        Ok(Target {
            addr: SocketAddr::new(ip, port),
            authority: authority.to_string(),
            path: path.to_string(),
        })
    }

    /// The same server with another path, e.g. the endpoint an SSE stream announced.
    /// An absolute URL must point at the same loopback server.
    pub fn with_endpoint(&self, endpoint: &str) -> Result<Target, TargetError> {
        if endpoint.starts_with("http://") || endpoint.contains("://") {
            let t = Target::parse(endpoint)?;
            if t.addr != self.addr {
                return Err(TargetError::NotLoopback(endpoint.to_string()));
            }
            return Ok(t);
        }
        let path = if endpoint.starts_with('/') {
            endpoint.to_string()
        } else {
            // Relative to the directory of the current path.
            let base = self.path.rsplit_once('/').map_or("", |(b, _)| b);
            format!("{base}/{endpoint}")
        };
        Ok(Target {
            path,
            ..self.clone()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_urls_parse_with_path_and_port() {
        let t = Target::parse("http://127.0.0.1:8080/sse").unwrap();
        assert_eq!(t.addr, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(t.path, "/sse");
        assert_eq!(t.authority, "127.0.0.1:8080");
        let t = Target::parse("http://localhost:9/mcp?x=1").unwrap();
        assert_eq!(t.addr, "127.0.0.1:9".parse().unwrap());
        assert_eq!(t.path, "/mcp?x=1");
        let t = Target::parse("http://[::1]:7").unwrap();
        assert_eq!(t.addr, "[::1]:7".parse().unwrap());
        assert_eq!(t.path, "/");
        assert!(Target::parse("http://127.9.8.7:1/").is_ok());
    }

    #[test]
    fn non_loopback_and_odd_urls_are_refused() {
        assert!(matches!(
            Target::parse("http://10.0.0.1:80/sse"),
            Err(TargetError::NotLoopback(_))
        ));
        assert!(matches!(
            Target::parse("http://example.com/sse"),
            Err(TargetError::NotLoopback(_))
        ));
        assert!(matches!(
            Target::parse("http://user@127.0.0.1/"),
            Err(TargetError::NotLoopback(_))
        ));
        assert!(matches!(
            Target::parse("https://127.0.0.1/"),
            Err(TargetError::Scheme(_))
        ));
        assert!(matches!(
            Target::parse("http://127.0.0.1:0/"),
            Err(TargetError::Port(_))
        ));
        assert!(matches!(
            Target::parse("http://127.0.0.1:x/"),
            Err(TargetError::Port(_))
        ));
        assert!(matches!(
            Target::parse("http:///sse"),
            Err(TargetError::NoHost(_))
        ));
    }

    #[test]
    fn announced_endpoints_resolve_against_the_same_server() {
        let t = Target::parse("http://127.0.0.1:8000/sse").unwrap();
        let e = t.with_endpoint("/messages/?session_id=ab").unwrap();
        assert_eq!(e.path, "/messages/?session_id=ab");
        assert_eq!(e.addr, t.addr);
        let e = t.with_endpoint("messages?sessionId=1").unwrap();
        assert_eq!(e.path, "/messages?sessionId=1");
        let e = t
            .with_endpoint("http://127.0.0.1:8000/messages?sessionId=1")
            .unwrap();
        assert_eq!(e.path, "/messages?sessionId=1");
        assert!(t.with_endpoint("http://127.0.0.1:9999/messages").is_err());
        assert!(t.with_endpoint("http://192.168.1.1:8000/messages").is_err());
    }
}
