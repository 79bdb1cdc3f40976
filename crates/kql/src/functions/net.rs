//! IPv4 and IPv6 functions. An address may carry a CIDR prefix (`10.0.0.0/8`); comparisons mask
//! both sides with the shortest prefix in play, as Kusto does. IPv4 addresses take part in the
//! IPv6 functions as IPv4-mapped addresses (`::ffff:a.b.c.d`).

use std::cmp::Ordering;

use serde_json::Value as J;

use super::{arg, text, texts_of};
use crate::value::convert::as_i64;
use crate::value::{ScalarType, Value};

/// The result type of an IP function, or None when `name` is not one.
pub(super) fn return_type(name: &str) -> Option<ScalarType> {
    use ScalarType::*;
    Some(match name {
        "ipv4_is_private"
        | "ipv4_is_in_range"
        | "ipv4_is_in_any_range"
        | "ipv4_is_match"
        | "ipv6_is_match"
        | "ipv6_is_in_range"
        | "ipv6_is_in_any_range" => Bool,
        "ipv4_compare"
        | "ipv6_compare"
        | "parse_ipv4"
        | "parse_ipv4_mask"
        | "ipv4_netmask_suffix" => Long,
        "format_ipv4" | "format_ipv4_mask" | "parse_ipv6" | "parse_ipv6_mask" => String,
        "ipv4_range_to_cidr_list" => Dynamic,
        _ => return None,
    })
}

/// An IPv4 address without prefix.
pub(super) fn ipv4(s: &str) -> Option<u32> {
    s.trim().parse::<std::net::Ipv4Addr>().ok().map(u32::from)
}

/// An IPv4 address and its prefix length (32 when none is written).
fn ipv4_prefixed(s: &str) -> Option<(u32, u32)> {
    match s.split_once('/') {
        Some((ip, bits)) => Some((ipv4(ip)?, bits.trim().parse::<u32>().ok()?.min(32))),
        None => Some((ipv4(s)?, 32)),
    }
}

fn mask4(bits: u32) -> u32 {
    u32::MAX.checked_shl(32 - bits.min(32)).unwrap_or(0)
}

/// An IPv4 range as (masked network, mask).
fn ipv4_range(s: &str) -> Option<(u32, u32)> {
    let (ip, bits) = ipv4_prefixed(s)?;
    Some((ip & mask4(bits), mask4(bits)))
}

/// An IPv6 (or IPv4, mapped) address and its prefix length out of 128. A prefix written after
/// an address in dotted IPv4 notation counts the IPv4 bits only. Comparisons (`as_ipv4`) also
/// take `::a.b.c.d` as the IPv4 address it embeds.
fn ipv6_prefixed(s: &str, as_ipv4: bool) -> Option<(u128, u32)> {
    let (ip, bits) = match s.split_once('/') {
        Some((ip, b)) => (ip.trim(), Some(b.trim().parse::<u32>().ok()?)),
        None => (s.trim(), None),
    };
    let (addr, v4_notation) = match ipv4(ip) {
        Some(v4) => (u128::from(v4) | 0xffff_0000_0000, true),
        None => {
            let addr = u128::from(ip.parse::<std::net::Ipv6Addr>().ok()?);
            let dotted = ip.contains('.');
            if dotted && as_ipv4 {
                ((addr & 0xffff_ffff) | 0xffff_0000_0000, true)
            } else {
                (addr, dotted)
            }
        }
    };
    let bits = match bits {
        Some(b) if v4_notation => 96 + b.min(32),
        Some(b) => b.min(128),
        None => 128,
    };
    Some((addr, bits))
}

fn mask6(bits: u32) -> u128 {
    u128::MAX.checked_shl(128 - bits.min(128)).unwrap_or(0)
}

/// An IPv6 address as eight groups of four hex digits.
fn format_ipv6(x: u128) -> String {
    (0..8)
        .map(|i| format!("{:04x}", (x >> (112 - 16 * i)) & 0xffff))
        .collect::<Vec<_>>()
        .join(":")
}

fn sign(o: Ordering) -> Value {
    Value::Long(match o {
        Ordering::Less => -1,
        Ordering::Equal => 0,
        Ordering::Greater => 1,
    })
}

/// The prefix length an optional third argument asks for.
fn prefix_arg(args: &[Value], i: usize, max: i64) -> Option<u32> {
    as_i64(&arg(args, i)).map(|p| p.clamp(0, max) as u32)
}

/// Two IPv4 addresses masked by the shortest of their prefixes and the optional third argument.
fn ipv4_pair(args: &[Value]) -> Option<(u32, u32)> {
    let (a, pa) = ipv4_prefixed(&text(args, 0))?;
    let (b, pb) = ipv4_prefixed(&text(args, 1))?;
    let m = mask4(pa.min(pb).min(prefix_arg(args, 2, 32).unwrap_or(32)));
    Some((a & m, b & m))
}

fn ipv6_pair(args: &[Value]) -> Option<(u128, u128)> {
    let (a, pa) = ipv6_prefixed(&text(args, 0), true)?;
    let (b, pb) = ipv6_prefixed(&text(args, 1), true)?;
    let m = mask6(pa.min(pb).min(prefix_arg(args, 2, 128).unwrap_or(128)));
    Some((a & m, b & m))
}

/// The smallest list of CIDR blocks covering `[start, end]`.
fn cidr_list(start: u32, end: u32) -> Vec<J> {
    let mut out = Vec::new();
    let mut cur = u64::from(start);
    while cur <= u64::from(end) {
        let mut bits = if cur == 0 {
            32
        } else {
            cur.trailing_zeros().min(32)
        };
        while bits > 0 && cur + (1u64 << bits) - 1 > u64::from(end) {
            bits -= 1;
        }
        out.push(J::String(format!(
            "{}/{}",
            std::net::Ipv4Addr::from(cur as u32),
            32 - bits
        )));
        cur += 1u64 << bits;
    }
    out
}

/// Evaluates an IP function (null on bad input).
pub(super) fn call(name: &str, args: &[Value]) -> Value {
    let s = |i: usize| text(args, i);
    let v4 = |i: usize| ipv4(s(i).split('/').next().unwrap_or(""));
    let opt = |v: Option<Value>| v.unwrap_or(Value::Null);
    match name {
        "ipv4_compare" => opt(ipv4_pair(args).map(|(a, b)| sign(a.cmp(&b)))),
        "ipv4_is_match" => opt(ipv4_pair(args).map(|(a, b)| Value::Bool(a == b))),
        "ipv6_compare" => opt(ipv6_pair(args).map(|(a, b)| sign(a.cmp(&b)))),
        "ipv6_is_match" => opt(ipv6_pair(args).map(|(a, b)| Value::Bool(a == b))),
        "ipv4_is_in_range" => match (v4(0), ipv4_range(&s(1))) {
            (Some(ip), Some((net, mask))) => Value::Bool(ip & mask == net),
            _ => Value::Null,
        },
        "ipv4_is_in_any_range" => opt(v4(0).map(|ip| {
            let ranges = texts_of(args.get(1..).unwrap_or_default());
            Value::Bool(
                ranges
                    .iter()
                    .filter_map(|r| ipv4_range(r))
                    .any(|(net, mask)| ip & mask == net),
            )
        })),
        "ipv6_is_in_range" | "ipv6_is_in_any_range" => {
            opt(ipv6_prefixed(&s(0), true).map(|(ip, _)| {
                let ranges = texts_of(args.get(1..).unwrap_or_default());
                Value::Bool(ranges.iter().filter_map(|r| ipv6_prefixed(r, true)).any(
                    |(net, bits)| {
                        let m = mask6(bits);
                        ip & m == net & m
                    },
                ))
            }))
        }
        "ipv4_is_private" => opt(v4(0).map(|ip| {
            let in_net = |net: u32, bits: u32| ip & mask4(bits) == net;
            Value::Bool(
                in_net(0x0A00_0000, 8) || in_net(0xAC10_0000, 12) || in_net(0xC0A8_0000, 16),
            )
        })),
        "parse_ipv4" => opt(ipv4_range(&s(0)).map(|(net, _)| Value::Long(i64::from(net)))),
        "parse_ipv4_mask" | "format_ipv4" | "format_ipv4_mask" => {
            // The address may also be given as a number.
            let addr = match as_i64(&arg(args, 0)) {
                Some(n) => u32::try_from(n).ok().map(|ip| (ip, 32)),
                None => ipv4_prefixed(&s(0)),
            };
            let prefix = match args.get(1) {
                Some(_) => as_i64(&arg(args, 1)).filter(|p| (0..=32).contains(p)),
                None => Some(32),
            };
            let Some(((ip, own), p)) = addr.zip(prefix) else {
                return if name == "parse_ipv4_mask" {
                    Value::Null
                } else {
                    Value::str("")
                };
            };
            let bits = own.min(p as u32);
            let net = ip & mask4(bits);
            match name {
                "parse_ipv4_mask" => Value::Long(i64::from(net)),
                "format_ipv4" => Value::str(std::net::Ipv4Addr::from(net).to_string()),
                _ => Value::str(format!("{}/{bits}", std::net::Ipv4Addr::from(net))),
            }
        }
        "parse_ipv6" | "parse_ipv6_mask" => {
            let prefix = if name == "parse_ipv6" {
                Some(128)
            } else {
                prefix_arg(args, 1, 128)
            };
            opt(ipv6_prefixed(&s(0), false)
                .zip(prefix)
                .map(|((ip, bits), p)| Value::str(format_ipv6(ip & mask6(bits.min(p))))))
        }
        "ipv4_netmask_suffix" => {
            opt(ipv4_prefixed(&s(0)).map(|(_, bits)| Value::Long(i64::from(bits))))
        }
        "ipv4_range_to_cidr_list" => match (ipv4(&s(0)), ipv4(&s(1))) {
            (Some(a), Some(b)) if a <= b => Value::dynamic(J::Array(cidr_list(a, b))),
            _ => Value::Null,
        },
        _ => Value::Null,
    }
}
