//! IPv4 and IPv6 functions. An address may carry a CIDR prefix (`10.0.0.0/8`); comparisons mask
//! both sides with the shortest prefix in play, as Kusto does. IPv4 addresses take part in the
//! IPv6 functions as IPv4-mapped addresses (`::ffff:a.b.c.d`).

use std::cmp::Ordering;

use serde_json::Value as J;

use super::registry::{Function, Returns, fixed};
use super::{arg, text, texts_of};
use crate::value::ScalarType::{self as T, Bool, Dynamic, Long};
use crate::value::Value;
use crate::value::convert::as_i64;

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

/// The functions of this module.
pub(super) static FUNCTIONS: &[Function] = &[
    fixed("ipv4_compare", Long, |args, _| {
        opt(ipv4_pair(args).map(|(a, b)| sign(a.cmp(&b))))
    }),
    fixed("ipv4_is_match", Bool, |args, _| {
        opt(ipv4_pair(args).map(|(a, b)| Value::Bool(a == b)))
    }),
    fixed("ipv6_compare", Long, |args, _| {
        opt(ipv6_pair(args).map(|(a, b)| sign(a.cmp(&b))))
    }),
    fixed("ipv6_is_match", Bool, |args, _| {
        opt(ipv6_pair(args).map(|(a, b)| Value::Bool(a == b)))
    }),
    fixed("ipv4_is_in_range", Bool, |args, _| {
        match (v4(args, 0), ipv4_range(&text(args, 1))) {
            (Some(ip), Some((net, mask))) => Value::Bool(ip & mask == net),
            _ => Value::Null,
        }
    }),
    fixed("ipv4_is_in_any_range", Bool, |args, _| {
        opt(v4(args, 0).map(|ip| {
            let ranges = texts_of(args.get(1..).unwrap_or_default());
            Value::Bool(
                ranges
                    .iter()
                    .filter_map(|r| ipv4_range(r))
                    .any(|(net, mask)| ip & mask == net),
            )
        }))
    }),
    Function::new(
        "ipv6_is_in_range",
        &["ipv6_is_in_any_range"],
        Returns::Fixed(Bool),
        |args, _| {
            opt(ipv6_prefixed(&text(args, 0), true).map(|(ip, _)| {
                let ranges = texts_of(args.get(1..).unwrap_or_default());
                Value::Bool(ranges.iter().filter_map(|r| ipv6_prefixed(r, true)).any(
                    |(net, bits)| {
                        let m = mask6(bits);
                        ip & m == net & m
                    },
                ))
            }))
        },
    ),
    fixed("ipv4_is_private", Bool, |args, _| {
        opt(v4(args, 0).map(|ip| {
            let in_net = |net: u32, bits: u32| ip & mask4(bits) == net;
            Value::Bool(
                in_net(0x0A00_0000, 8) || in_net(0xAC10_0000, 12) || in_net(0xC0A8_0000, 16),
            )
        }))
    }),
    fixed("parse_ipv4", Long, |args, _| {
        opt(ipv4_range(&text(args, 0)).map(|(net, _)| Value::Long(i64::from(net))))
    }),
    fixed("parse_ipv4_mask", Long, |args, _| match masked_ipv4(args) {
        Some((net, _)) => Value::Long(i64::from(net)),
        None => Value::Null,
    }),
    fixed("format_ipv4", T::String, |args, _| {
        match masked_ipv4(args) {
            Some((net, _)) => Value::str(std::net::Ipv4Addr::from(net).to_string()),
            None => Value::str(""),
        }
    }),
    fixed("format_ipv4_mask", T::String, |args, _| {
        match masked_ipv4(args) {
            Some((net, bits)) => Value::str(format!("{}/{bits}", std::net::Ipv4Addr::from(net))),
            None => Value::str(""),
        }
    }),
    fixed("parse_ipv6", T::String, |args, _| {
        masked_ipv6(args, Some(128))
    }),
    fixed("parse_ipv6_mask", T::String, |args, _| {
        masked_ipv6(args, prefix_arg(args, 1, 128))
    }),
    fixed("ipv4_netmask_suffix", Long, |args, _| {
        opt(ipv4_prefixed(&text(args, 0)).map(|(_, bits)| Value::Long(i64::from(bits))))
    }),
    fixed("ipv4_range_to_cidr_list", Dynamic, |args, _| {
        match (ipv4(&text(args, 0)), ipv4(&text(args, 1))) {
            (Some(a), Some(b)) if a <= b => Value::dynamic(J::Array(cidr_list(a, b))),
            _ => Value::Null,
        }
    }),
];

/// The IPv4 address (without prefix) of argument `i`.
fn v4(args: &[Value], i: usize) -> Option<u32> {
    ipv4(text(args, i).split('/').next().unwrap_or(""))
}

fn opt(v: Option<Value>) -> Value {
    v.unwrap_or(Value::Null)
}

/// The network and prefix of `parse_ipv4_mask`/`format_ipv4`/`format_ipv4_mask`'s address
/// (which may also be given as a number) masked with the shorter of its own prefix and the
/// second argument (32 by default).
fn masked_ipv4(args: &[Value]) -> Option<(u32, u32)> {
    let addr = match as_i64(&arg(args, 0)) {
        Some(n) => u32::try_from(n).ok().map(|ip| (ip, 32)),
        None => ipv4_prefixed(&text(args, 0)),
    };
    let prefix = match args.get(1) {
        Some(_) => as_i64(&arg(args, 1)).filter(|p| (0..=32).contains(p)),
        None => Some(32),
    };
    let ((ip, own), p) = addr.zip(prefix)?;
    let bits = own.min(p as u32);
    Some((ip & mask4(bits), bits))
}

/// The IPv6 address of the first argument masked with the shorter of its own prefix and
/// `prefix`, as text.
fn masked_ipv6(args: &[Value], prefix: Option<u32>) -> Value {
    opt(ipv6_prefixed(&text(args, 0), false)
        .zip(prefix)
        .map(|((ip, bits), p)| Value::str(format_ipv6(ip & mask6(bits.min(p))))))
}
