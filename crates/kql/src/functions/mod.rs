//! Built-in scalar functions: their result types and their evaluation.

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
mod series;
mod sketches;
mod strings;
pub(crate) mod terms;
mod units;
use crate::value::{ScalarType, TICKS_PER_SECOND, Value, datetime_to_ticks, ticks_to_datetime};
pub(crate) use fit::{Tuple, tuple};

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

/// Every built-in scalar function the engine evaluates, sorted. The binder knows a function
/// only if it is listed here, so everything that runs over the list (the hostile-input test
/// calls each with extreme arguments) covers every function, a new one included.
pub(crate) const NAMES: [&str; 340] = [
    "abs",
    "acos",
    "ago",
    "around",
    "array_concat",
    "array_iff",
    "array_index_of",
    "array_length",
    "array_reverse",
    "array_rotate_left",
    "array_rotate_right",
    "array_shift_left",
    "array_shift_right",
    "array_slice",
    "array_sort_asc",
    "array_sort_desc",
    "array_split",
    "array_sum",
    "asin",
    "atan",
    "atan2",
    "bag_has_key",
    "bag_keys",
    "bag_merge",
    "bag_pack",
    "bag_remove_keys",
    "bag_set_key",
    "bag_zip",
    "base64_decode_toarray",
    "base64_decode_toguid",
    "base64_decode_tostring",
    "base64_decodestring",
    "base64_encode_fromarray",
    "base64_encode_fromguid",
    "base64_encode_tostring",
    "base64_encodestring",
    "beta_cdf",
    "beta_inv",
    "beta_pdf",
    "bin",
    "bin_at",
    "binary_and",
    "binary_not",
    "binary_or",
    "binary_shift_left",
    "binary_shift_right",
    "binary_xor",
    "bitset_count_ones",
    "case",
    "ceiling",
    "coalesce",
    "convert_angle",
    "convert_energy",
    "convert_force",
    "convert_length",
    "convert_mass",
    "convert_speed",
    "convert_temperature",
    "convert_volume",
    "cos",
    "cot",
    "countof",
    "datetime_add",
    "datetime_diff",
    "datetime_local_to_utc",
    "datetime_part",
    "datetime_utc_to_local",
    "dayofmonth",
    "dayofweek",
    "dayofyear",
    "dcount_hll",
    "degrees",
    "endofday",
    "endofmonth",
    "endofweek",
    "endofyear",
    "erf",
    "erfc",
    "exp",
    "exp10",
    "exp2",
    "extract",
    "extract_all",
    "extract_json",
    "extractjson",
    "floor",
    "format_bytes",
    "format_datetime",
    "format_ipv4",
    "format_ipv4_mask",
    "format_timespan",
    "gamma",
    "geo_angle",
    "geo_azimuth",
    "geo_closest_point_on_line",
    "geo_closest_point_on_polygon",
    "geo_distance_2points",
    "geo_distance_point_to_line",
    "geo_distance_point_to_polygon",
    "geo_from_wkt",
    "geo_geohash_neighbors",
    "geo_geohash_to_central_point",
    "geo_geohash_to_polygon",
    "geo_h3cell_children",
    "geo_h3cell_level",
    "geo_h3cell_neighbors",
    "geo_h3cell_parent",
    "geo_h3cell_rings",
    "geo_h3cell_to_central_point",
    "geo_h3cell_to_polygon",
    "geo_intersection_2lines",
    "geo_intersection_2polygons",
    "geo_intersection_line_with_polygon",
    "geo_intersects_2lines",
    "geo_intersects_2polygons",
    "geo_intersects_line_with_polygon",
    "geo_line_buffer",
    "geo_line_centroid",
    "geo_line_densify",
    "geo_line_interpolate_point",
    "geo_line_length",
    "geo_line_locate_point",
    "geo_line_simplify",
    "geo_line_to_s2cells",
    "geo_point_buffer",
    "geo_point_in_circle",
    "geo_point_in_polygon",
    "geo_point_to_geohash",
    "geo_point_to_h3cell",
    "geo_point_to_s2cell",
    "geo_polygon_area",
    "geo_polygon_buffer",
    "geo_polygon_centroid",
    "geo_polygon_densify",
    "geo_polygon_perimeter",
    "geo_polygon_simplify",
    "geo_polygon_to_h3cells",
    "geo_polygon_to_s2cells",
    "geo_s2cell_neighbors",
    "geo_s2cell_to_central_point",
    "geo_s2cell_to_polygon",
    "geo_simplify_polygons_array",
    "geo_union_lines_array",
    "geo_union_polygons_array",
    "getmonth",
    "gettype",
    "getyear",
    "gzip_compress_to_base64_string",
    "gzip_decompress_from_base64_string",
    "has_any_index",
    "has_any_ipv4",
    "has_any_ipv4_prefix",
    "has_ipv4",
    "has_ipv4_prefix",
    "hash",
    "hash_md5",
    "hash_sha1",
    "hash_sha256",
    "hash_xxhash64",
    "hll_merge",
    "hourofday",
    "iff",
    "iif",
    "indexof",
    "indexof_regex",
    "ipv4_compare",
    "ipv4_is_in_any_range",
    "ipv4_is_in_range",
    "ipv4_is_match",
    "ipv4_is_private",
    "ipv4_netmask_suffix",
    "ipv4_range_to_cidr_list",
    "ipv6_compare",
    "ipv6_is_in_any_range",
    "ipv6_is_in_range",
    "ipv6_is_match",
    "isascii",
    "isempty",
    "isfinite",
    "isinf",
    "isnan",
    "isnotempty",
    "isnotnull",
    "isnull",
    "isutf8",
    "jaccard_index",
    "log",
    "log10",
    "log2",
    "loggamma",
    "make_datetime",
    "make_string",
    "make_timespan",
    "max_of",
    "merge_tdigest",
    "min_of",
    "monthofyear",
    "new_guid",
    "next",
    "not",
    "now",
    "pack",
    "pack_array",
    "parse_command_line",
    "parse_csv",
    "parse_ipv4",
    "parse_ipv4_mask",
    "parse_ipv6",
    "parse_ipv6_mask",
    "parse_json",
    "parse_path",
    "parse_url",
    "parse_urlquery",
    "parse_version",
    "percentile_tdigest",
    "percentiles_array_tdigest",
    "percentrank_tdigest",
    "pi",
    "pow",
    "prev",
    "punycode_domain_from_string",
    "punycode_domain_to_string",
    "punycode_from_string",
    "punycode_to_string",
    "radians",
    "rand",
    "range",
    "regex_quote",
    "repeat",
    "replace",
    "replace_regex",
    "replace_string",
    "replace_strings",
    "reverse",
    "round",
    "row_number",
    "series_abs",
    "series_acos",
    "series_add",
    "series_asin",
    "series_atan",
    "series_ceiling",
    "series_cos",
    "series_cosine_similarity",
    "series_decompose",
    "series_decompose_anomalies",
    "series_decompose_forecast",
    "series_divide",
    "series_dot_product",
    "series_equals",
    "series_exp",
    "series_fill_backward",
    "series_fill_const",
    "series_fill_forward",
    "series_fill_linear",
    "series_fit_2lines",
    "series_fit_2lines_dynamic",
    "series_fit_line",
    "series_fit_line_dynamic",
    "series_floor",
    "series_greater",
    "series_greater_equals",
    "series_less",
    "series_less_equals",
    "series_log",
    "series_multiply",
    "series_not_equals",
    "series_pearson_correlation",
    "series_pow",
    "series_product",
    "series_sign",
    "series_sin",
    "series_sqrt",
    "series_stats",
    "series_stats_dynamic",
    "series_subtract",
    "series_sum",
    "series_tan",
    "set_difference",
    "set_has_element",
    "set_intersect",
    "set_union",
    "sign",
    "sin",
    "split",
    "sqrt",
    "startofday",
    "startofmonth",
    "startofweek",
    "startofyear",
    "strcat",
    "strcat_array",
    "strcat_delim",
    "strcmp",
    "string_size",
    "strlen",
    "strrep",
    "substring",
    "tan",
    "tdigest_merge",
    "to_utf8",
    "tobool",
    "toboolean",
    "todatetime",
    "todecimal",
    "todouble",
    "todynamic",
    "toguid",
    "tohex",
    "toint",
    "toint64",
    "tolong",
    "tolower",
    "toobject",
    "toreal",
    "tostring",
    "totime",
    "totimespan",
    "toupper",
    "translate",
    "treepath",
    "trim",
    "trim_end",
    "trim_start",
    "unicode_codepoints_from_string",
    "unicode_codepoints_to_string",
    "unixtime_microseconds_todatetime",
    "unixtime_milliseconds_todatetime",
    "unixtime_nanoseconds_todatetime",
    "unixtime_seconds_todatetime",
    "url_decode",
    "url_decode_component",
    "url_encode",
    "url_encode_component",
    "week_of_year",
    "weekofyear",
    "welch_test",
    "zip",
    "zlib_compress_to_base64_string",
    "zlib_decompress_from_base64_string",
];

/// The result type of a built-in scalar function, or None when there is no such function.
pub(crate) fn return_type(name: &str, args: &[ScalarType]) -> Option<ScalarType> {
    NAMES.binary_search(&name).ok()?;
    listed_return_type(name, args)
}

fn listed_return_type(name: &str, args: &[ScalarType]) -> Option<ScalarType> {
    strings::return_type(name, args)
        .or_else(|| dynamic::return_type(name, args))
        .or_else(|| logic::return_type(name, args))
        .or_else(|| numbers::return_type(name, args))
        .or_else(|| datetime::return_type(name, args))
        .or_else(|| codecs::return_type(name, args))
        .or_else(|| series::return_type(name, args))
        .or_else(|| parsing::return_type(name, args))
        .or_else(|| sketches::return_type(name, args))
        .or_else(|| geo::return_type(name, args))
        .or_else(|| binder_return_type(name, args))
}

/// The result types of the functions no family evaluates (the binder resolves them), then of
/// the families with their own lists.
fn binder_return_type(name: &str, args: &[ScalarType]) -> Option<ScalarType> {
    use ScalarType::*;
    let first = args.first().copied().unwrap_or(Dynamic);
    Some(match name {
        "row_number" => Long,
        "ago" | "now" => DateTime,
        "prev" | "next" => first,
        _ => {
            return net::return_type(name)
                .or_else(|| math::return_type(name))
                .or_else(|| units::return_type(name))
                .or_else(|| fit::return_type(name));
        }
    })
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
    regex: Regex,
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
            regex,
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
            return Some(&self.regex);
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

fn bin_value(v: &Value, size: &Value) -> Value {
    match (v, undyn(size)) {
        (Value::DateTime(t), Value::TimeSpan(s)) if s > 0 => Value::DateTime(t.div_euclid(s) * s),
        (Value::TimeSpan(t), Value::TimeSpan(s)) if s > 0 => Value::TimeSpan(t.div_euclid(s) * s),
        (Value::Int(i), sz) => as_i64(&sz).filter(|s| *s > 0).map_or(Value::Null, |s| {
            Value::Int(i32::try_from(i64::from(*i).div_euclid(s) * s).unwrap_or(*i))
        }),
        (Value::Long(i), sz) => match sz {
            Value::Real(r) if r > 0.0 => Value::Long(((*i as f64 / r).floor() * r) as i64),
            other => as_i64(&other)
                .filter(|s| *s > 0)
                .map_or(Value::Null, |s| Value::Long(i.div_euclid(s) * s)),
        },
        (Value::Real(r), sz) => as_f64(&sz)
            .filter(|s| *s > 0.0)
            .map_or(Value::Null, |s| Value::Real((r / s).floor() * s)),
        (Value::Decimal(r), sz) => as_f64(&sz)
            .filter(|s| *s > 0.0)
            .map_or(Value::Null, |s| Value::Decimal((r / s).floor() * s)),
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

/// Evaluates a built-in scalar function on already evaluated arguments (null on bad input).
///
/// A call that could build a large value (large arguments, a large count) is first checked
/// against the query's memory budget with its worst case; when that does not fit, the query is
/// stopped (its next check reports the limit) and the call answers null without building it.
pub(crate) fn call(name: &str, args: &[Value], result: ScalarType) -> Value {
    if let Some(bytes) = crate::value::size::function_bound(name, args)
        && crate::budget::reserve(bytes).is_err()
    {
        return Value::Null;
    }
    evaluate(name, args, result)
}

fn evaluate(name: &str, args: &[Value], result: ScalarType) -> Value {
    strings::call(name, args, result)
        .or_else(|| dynamic::call(name, args, result))
        .or_else(|| logic::call(name, args, result))
        .or_else(|| numbers::call(name, args, result))
        .or_else(|| datetime::call(name, args, result))
        .or_else(|| codecs::call(name, args, result))
        .or_else(|| series::call(name, args, result))
        .or_else(|| parsing::call(name, args, result))
        .or_else(|| sketches::call(name, args, result))
        .or_else(|| geo::call(name, args, result))
        .unwrap_or_else(|| {
            if math::return_type(name).is_some() {
                math::call(name, args)
            } else if fit::return_type(name).is_some() {
                fit::call(name, args)
            } else if units::return_type(name).is_some() {
                units::call(name, args)
            } else {
                net::call(name, args)
            }
        })
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
