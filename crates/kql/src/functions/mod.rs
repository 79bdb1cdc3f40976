//! Built-in scalar functions: each family file declares its functions in a `FUNCTIONS` table
//! (`registry.rs` gathers them); this file holds what the families share.

use std::cell::RefCell;
use std::collections::HashMap;

use chrono::{Datelike, Duration, Months, NaiveDate, Timelike};
use regex::Regex;

use crate::error::KqlError;
use serde_json::Value as J;

use crate::value::convert::{as_f64, as_i64, coerce, is_numeric, to_dynamic, to_text, undyn};

use net::ipv4;

pub(crate) mod aggregate;
pub(crate) mod arith;
mod codecs;
mod datetime;
mod dynamic;
pub(crate) mod encoding;
mod fit;
mod geo;
mod logic;
mod math;
mod net;
mod numbers;
mod parsing;
pub(crate) mod registry;
mod series;
mod sketches;
mod strings;
pub(crate) mod terms;
mod units;
use crate::value::ScalarType as T;
use crate::value::size::{self, Growth};
use crate::value::{
    ScalarType, TICKS_PER_SECOND, Value, checked_ticks, datetime_to_ticks, ticks_to_datetime,
};
pub(crate) use dynamic::{PACK_NONEMPTY, PACK_NONNULL};
pub(crate) use fit::{Tuple, tuple};
pub(crate) use logic::fixed_data_size;
pub(crate) use registry::{Function, function, lookup};
use registry::{Returns, fixed};

const DAY: i64 = 86_400 * TICKS_PER_SECOND;

/// The common type of branches (`iff`, `case`, `coalesce`): numeric types widen.
pub(crate) fn unify(types: &[ScalarType]) -> ScalarType {
    let mut out: Option<ScalarType> = None;
    for &t in types {
        out = Some(match out {
            None => t,
            Some(o) if o == t => o,
            Some(o) if is_numeric(o) && is_numeric(t) => {
                if o == ScalarType::Real || t == ScalarType::Real {
                    ScalarType::Real
                } else if o == ScalarType::Decimal || t == ScalarType::Decimal {
                    ScalarType::Decimal
                } else {
                    ScalarType::Long
                }
            }
            Some(ScalarType::Dynamic) => t,
            Some(o) if t == ScalarType::Dynamic => o,
            Some(_) => ScalarType::Dynamic,
        });
    }
    out.unwrap_or(ScalarType::Dynamic)
}

/// Kusto functions the local engine knows of but does not run.
pub(crate) fn is_known_unsupported(name: &str) -> bool {
    ["series_", "geo_", "parse_", "make_"]
        .iter()
        .any(|p| name.starts_with(p))
}

thread_local! {
    static REGEXES: RefCell<HashMap<String, Option<Pattern>>> = RefCell::new(HashMap::new());
}

/// The longest regular expression (in bytes) the engine compiles; a longer one is invalid (the
/// call answers null). Kusto's patterns are a few dozen characters.
pub(crate) const MAX_REGEX_BYTES: usize = 4096;

/// The most steps one regex search may take in the worst case: the pattern's automaton states
/// times the text's bytes. A search cannot stop at the query's deadline, and when its lazy DFA
/// gives up it runs every live state on every byte (measured, release build: 8 ns per state and
/// byte for `a{4000}b` over 100,000 `a`s, 3.1 s); this bound keeps one search to a few seconds.
/// Ordinary patterns have tens to a thousand states (`\w+@\w+\.\w+`: 959, Unicode classes are
/// large), so they search texts of a megabyte and more.
pub(crate) const MAX_REGEX_WORK: u64 = 1 << 30;

/// The largest compiled form of a regex (the regex crate's size limit).
const REGEX_SIZE_LIMIT: usize = 1 << 22;

/// A compiled regular expression and the size of its automaton, which bounds what one search
/// with it may cost.
#[derive(Clone, Debug)]
pub(crate) struct Pattern {
    /// Shared, not cloned: a cloned `Regex` starts with an empty search cache (its lazy DFA is
    /// built again), and the cache hands out a clone for every row that asks.
    regex: std::sync::Arc<Regex>,
    states: usize,
}

impl Pattern {
    /// Compiles `regex`'s pattern's automaton to count its states (`None` if it is invalid or
    /// past the size limit).
    pub(crate) fn new(regex: Regex) -> Option<Pattern> {
        use regex_automata::nfa::thompson;
        let nfa = thompson::Compiler::new()
            .configure(thompson::Config::new().nfa_size_limit(Some(REGEX_SIZE_LIMIT)))
            .build(regex.as_str())
            .ok()?;
        Some(Pattern {
            states: nfa.states().len(),
            regex: std::sync::Arc::new(regex),
        })
    }

    /// The compiled regex, for what does not search (its groups).
    pub(crate) fn regex(&self) -> &Regex {
        &self.regex
    }

    /// The regex to search `text` with, if that search's worst case is within
    /// [`MAX_REGEX_WORK`]; otherwise the query is stopped with an error saying why (its next
    /// check reports it) and the search is not made.
    pub(crate) fn over(&self, text: &str) -> Option<&Regex> {
        if (self.states as u64).saturating_mul(text.len() as u64) <= MAX_REGEX_WORK {
            return Some(self.regex.as_ref());
        }
        let mut pattern: String = self.regex.as_str().chars().take(80).collect();
        if pattern.len() < self.regex.as_str().len() {
            pattern.push('…');
        }
        crate::budget::refuse(KqlError::RegexWork {
            pattern,
            states: self.states,
            bytes: text.len(),
            limit: MAX_REGEX_WORK,
        });
        None
    }
}

/// A compiled regex from a cache (patterns usually repeat per row).
pub(crate) fn regex(pattern: &str) -> Option<Pattern> {
    if pattern.len() > MAX_REGEX_BYTES {
        return None;
    }
    REGEXES.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some(r) = cache.get(pattern) {
            return r.clone();
        }
        if cache.len() > 512 {
            cache.clear();
        }
        let r = regex::RegexBuilder::new(pattern)
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
            .ok()
            .and_then(Pattern::new);
        cache.insert(pattern.to_string(), r.clone());
        r
    })
}

fn arg(args: &[Value], i: usize) -> Value {
    args.get(i).map(undyn).unwrap_or(Value::Null)
}

fn text(args: &[Value], i: usize) -> String {
    args.get(i).map(to_text).unwrap_or_default()
}

fn dt(args: &[Value], i: usize) -> Option<chrono::DateTime<chrono::Utc>> {
    match coerce(arg(args, i), ScalarType::DateTime) {
        Value::DateTime(t) => ticks_to_datetime(t),
        _ => None,
    }
}

fn num(x: f64) -> J {
    serde_json::Number::from_f64(x).map_or(J::Null, J::Number)
}

fn json_of(v: &Value) -> J {
    match to_dynamic(v) {
        Value::Dynamic(d) => (*d).clone(),
        _ => J::Null,
    }
}

fn dynamic_array(v: &Value) -> Option<Vec<J>> {
    match v {
        Value::Dynamic(d) => d.as_array().cloned(),
        _ => None,
    }
}

/// `t` rounded down to a multiple of `size` (above 0). Below the lowest multiple inside `i64` it
/// wraps, as DataFusion's `kql_bin` does, instead of overflowing.
pub(crate) fn floor_to(t: i64, size: i64) -> i64 {
    t.div_euclid(size).wrapping_mul(size)
}

fn bin_value(v: &Value, size: &Value) -> Value {
    match (v, undyn(size)) {
        (Value::DateTime(t), Value::TimeSpan(s)) if s > 0 => Value::DateTime(floor_to(*t, s)),
        (Value::TimeSpan(t), Value::TimeSpan(s)) if s > 0 => Value::TimeSpan(floor_to(*t, s)),
        (Value::Int(i), sz) => as_i64(&sz).filter(|s| *s > 0).map_or(Value::Null, |s| {
            Value::Int(i32::try_from(floor_to(i64::from(*i), s)).unwrap_or(*i))
        }),
        (Value::Long(i), sz) => match sz {
            Value::Real(r) if r > 0.0 => Value::Long(((*i as f64 / r).floor() * r) as i64),
            other => as_i64(&other)
                .filter(|s| *s > 0)
                .map_or(Value::Null, |s| Value::Long(floor_to(*i, s))),
        },
        (Value::Real(r), sz) => as_f64(&sz)
            .filter(|s| *s > 0.0)
            .map_or(Value::Null, |s| Value::Real((r / s).floor() * s)),
        (Value::Decimal(d), sz) => as_f64(&sz).filter(|s| *s > 0.0).map_or(Value::Null, |s| {
            Value::decimal((d.to_f64() / s).floor() * s)
        }),
        _ => Value::Null,
    }
}

/// `indexof`/`array_index_of`: where `needle` occurs in `hay` for the optional start, length and
/// occurrence arguments (args 2 to 4). A negative start counts from the end; each occurrence is
/// looked for in `length` items from just after the previous one (as .NET's IndexOf(value,
/// start, count)); -1 when absent, null for a length below -1 or a negative occurrence.
fn position_of<T: PartialEq>(hay: &[T], needle: &[T], args: &[Value]) -> Value {
    let opt = |i: usize, default: i64| match args.get(i) {
        Some(_) => as_i64(&arg(args, i)),
        None => Some(default),
    };
    let (Some(start), Some(length), Some(nth)) = (opt(2, 0), opt(3, -1), opt(4, 1)) else {
        return Value::Null;
    };
    if length < -1 || nth < 0 {
        return Value::Null;
    }
    let mut from = if start < 0 {
        (hay.len() as i64 + start).max(0) as usize
    } else {
        start as usize
    };
    if needle.is_empty() {
        return Value::Long(from.min(hay.len()) as i64);
    }
    let mut found = None;
    for _ in 0..nth.max(1) {
        let end = if length < 0 {
            hay.len()
        } else {
            from.saturating_add(length as usize).min(hay.len())
        };
        // A long needle in a long window compares for long: check as the search goes.
        found = hay
            .get(from..end.max(from))
            .and_then(|w| {
                w.windows(needle.len())
                    .enumerate()
                    .take_while(|(p, _)| p % 1024 != 0 || crate::budget::check().is_ok())
                    .find(|(_, c)| *c == needle)
            })
            .map(|(p, _)| from + p);
        match found {
            Some(p) => from = p + 1,
            None => break,
        }
    }
    Value::Long(found.map_or(-1, |p| p as i64))
}

/// The IPv4 addresses in free text, as written (bounded by characters that cannot extend them).
fn ipv4_tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_digit() || c == '.' {
            current.push(c);
        } else {
            if !c.is_ascii_alphabetic() && ipv4(&current).is_some() {
                out.push(current.clone());
            }
            current.clear();
        }
    }
    out
}

fn trim_regex(pattern: &str, s: &str, start: bool, end: bool) -> Option<String> {
    let mut out = s.to_string();
    if start {
        let r = regex(&format!("^(?:{pattern})+"))?;
        out = r.over(&out)?.replace(&out, "").into_owned();
    }
    if end {
        let r = regex(&format!("(?:{pattern})+$"))?;
        out = r.over(&out)?.replace(&out, "").into_owned();
    }
    Some(out)
}

/// Arguments given either one by one or as dynamic arrays (`has_any_ipv4(x, dynamic([…]))`), as text.
fn texts_of(args: &[Value]) -> Vec<String> {
    args.iter()
        .flat_map(|a| match dynamic_array(a) {
            Some(items) => items
                .iter()
                .map(|j| to_text(&Value::dynamic(j.clone())))
                .collect(),
            None => vec![to_text(a)],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_hands_out_one_shared_regex_not_a_clone_with_a_cold_search_cache() {
        let (Some(a), Some(b)) = (
            regex("(Firefox|Chrome)/([0-9.]+)"),
            regex("(Firefox|Chrome)/([0-9.]+)"),
        ) else {
            panic!("a valid pattern compiles");
        };
        assert!(std::ptr::eq(a.regex(), b.regex()));
        assert_eq!(
            a.over("Firefox/125.0")
                .and_then(|r| r.captures("x Firefox/125.0"))
                .map(|c| c[2].to_string()),
            Some("125.0".to_string())
        );
    }
}
