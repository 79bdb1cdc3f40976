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
pub(crate) mod encoding;
mod fit;
mod math;
mod net;
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
pub(crate) const NAMES: [&str; 288] = [
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
    use ScalarType::*;
    let first = args.first().copied().unwrap_or(Dynamic);
    Some(match name {
        "tostring"
        | "strcat"
        | "strcat_delim"
        | "tolower"
        | "toupper"
        | "replace_string"
        | "replace_regex"
        | "replace"
        | "trim"
        | "trim_start"
        | "trim_end"
        | "substring"
        | "format_datetime"
        | "hash_sha256"
        | "hash_sha1"
        | "hash_md5"
        | "punycode_from_string"
        | "format_bytes"
        | "zlib_compress_to_base64_string"
        | "zlib_decompress_from_base64_string"
        | "gzip_compress_to_base64_string"
        | "gzip_decompress_from_base64_string"
        | "base64_encode_fromguid"
        | "punycode_to_string"
        | "punycode_domain_to_string"
        | "punycode_domain_from_string"
        | "base64_encode_tostring"
        | "base64_decode_tostring"
        | "gettype"
        | "strrep"
        | "reverse"
        | "url_decode"
        | "url_encode"
        | "format_timespan"
        | "base64_encodestring"
        | "base64_decodestring"
        | "strcat_array" => String,
        "extract" => {
            if args.len() >= 4 {
                args[3]
            } else {
                String
            }
        }
        "extractjson" | "extract_json" => args.get(2).copied().unwrap_or(String),
        "parse_json" | "todynamic" | "toobject" | "split" | "extract_all" | "pack_array"
        | "pack" | "bag_pack" | "bag_keys" | "array_concat" | "array_slice" | "set_union"
        | "set_intersect" | "set_difference" | "bag_merge" | "array_sort_asc"
        | "array_sort_desc" | "zip" | "bag_remove_keys" => Dynamic,
        "isnotempty" | "isempty" | "isnull" | "isnotnull" | "not" | "isnan" | "isinf"
        | "isfinite" | "set_has_element" | "tobool" | "toboolean" | "bag_has_key" | "isascii"
        | "isutf8" => Bool,
        "strlen" | "indexof" | "array_length" | "datetime_diff" | "countof" | "row_number"
        | "tolong" | "toint64" | "array_index_of" | "datetime_part" | "week_of_year"
        | "weekofyear" | "string_size" | "hash" | "hash_xxhash64" => Long,
        "hourofday" | "dayofmonth" | "dayofyear" | "getmonth" | "monthofyear" | "getyear" => Long,
        "toint" => Int,
        "todouble" | "toreal" | "log" | "log10" | "log2" | "exp" | "exp2" | "exp10" | "pow"
        | "sqrt" | "rand" | "pi" | "cos" | "sin" | "tan" | "acos" | "asin" | "atan" | "atan2"
        | "degrees" | "radians" => Real,
        "todecimal" => Decimal,
        "todatetime"
        | "ago"
        | "now"
        | "startofday"
        | "startofweek"
        | "startofmonth"
        | "startofyear"
        | "endofday"
        | "endofweek"
        | "endofmonth"
        | "endofyear"
        | "datetime_add"
        | "make_datetime"
        | "unixtime_seconds_todatetime"
        | "unixtime_milliseconds_todatetime"
        | "unixtime_microseconds_todatetime"
        | "unixtime_nanoseconds_todatetime"
        | "datetime_utc_to_local"
        | "datetime_local_to_utc" => DateTime,
        "totimespan" | "totime" | "dayofweek" | "make_timespan" => TimeSpan,
        "toguid" | "new_guid" => Guid,
        "bin" | "floor" | "bin_at" | "abs" => first,
        "sign" | "ceiling" => Real,
        "range" | "array_reverse" | "bag_set_key" => Dynamic,
        "tohex" | "regex_quote" | "url_encode_component" | "url_decode_component" => String,
        "strcmp" | "binary_and" | "binary_or" | "binary_xor" | "binary_not"
        | "binary_shift_left" | "binary_shift_right" | "indexof_regex" => Long,
        "has_ipv4" | "has_ipv4_prefix" | "has_any_ipv4" | "has_any_ipv4_prefix" => Bool,
        "array_sum" => Real,
        "treepath" => Dynamic,
        "parse_url" | "parse_path" | "parse_urlquery" | "parse_csv" | "parse_command_line" => {
            Dynamic
        }
        "around" => Bool,
        "dcount_hll" => Long,
        "hll_merge" | "tdigest_merge" | "merge_tdigest" | "percentiles_array_tdigest" => Dynamic,
        "percentile_tdigest" => args.get(2).copied().unwrap_or(Dynamic),
        "has_any_index" => Long,
        "jaccard_index" => Real,
        "parse_version" => Decimal,
        "base64_decode_toguid" => Guid,
        "series_sum"
        | "series_product"
        | "series_dot_product"
        | "series_cosine_similarity"
        | "series_pearson_correlation" => Real,
        n if n.starts_with("series_") && series_kind(n).is_some() => Dynamic,
        "array_iff"
        | "array_split"
        | "array_shift_left"
        | "array_shift_right"
        | "array_rotate_left"
        | "array_rotate_right"
        | "bag_zip"
        | "unicode_codepoints_from_string"
        | "to_utf8"
        | "repeat"
        | "base64_decode_toarray" => Dynamic,
        "unicode_codepoints_to_string"
        | "make_string"
        | "replace_strings"
        | "base64_encode_fromarray" => String,
        "bitset_count_ones" => Long,
        "percentrank_tdigest" => Real,
        "cot" => Real,
        "translate" => String,
        "round" => {
            if matches!(first, Int | Long) {
                Long
            } else {
                Real
            }
        }
        "iff" | "iif" => unify(args.get(1..).unwrap_or(&[])),
        "case" => {
            let mut branch: Vec<ScalarType> = args.iter().skip(1).step_by(2).copied().collect();
            if let Some(last) = args.last() {
                branch.push(*last);
            }
            unify(&branch)
        }
        "coalesce" | "min_of" | "max_of" => unify(args),
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

fn date_ticks(d: Option<NaiveDate>) -> Value {
    d.and_then(|d| d.and_hms_opt(0, 0, 0))
        .map_or(Value::Null, |t| {
            Value::DateTime(datetime_to_ticks(t.and_utc()))
        })
}

fn add_months(
    t: chrono::DateTime<chrono::Utc>,
    months: i64,
) -> Option<chrono::DateTime<chrono::Utc>> {
    let m = Months::new(u32::try_from(months.unsigned_abs()).ok()?);
    if months >= 0 {
        t.checked_add_months(m)
    } else {
        t.checked_sub_months(m)
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

/// How a `series_*` function combines its arguments.
enum SeriesKind {
    Unary(fn(f64) -> f64),
    Binary(fn(f64, f64) -> J),
    Reduce,
    Fill,
}

fn num(x: f64) -> J {
    serde_json::Number::from_f64(x).map_or(J::Null, J::Number)
}

fn series_kind(name: &str) -> Option<SeriesKind> {
    use SeriesKind::*;
    Some(match name.strip_prefix("series_")? {
        "abs" => Unary(f64::abs),
        "acos" => Unary(f64::acos),
        "asin" => Unary(f64::asin),
        "atan" => Unary(f64::atan),
        "ceiling" => Unary(f64::ceil),
        "cos" => Unary(f64::cos),
        "exp" => Unary(f64::exp),
        "floor" => Unary(f64::floor),
        "log" => Unary(f64::ln),
        "sign" => Unary(f64::signum),
        "sin" => Unary(f64::sin),
        "sqrt" => Unary(f64::sqrt),
        "tan" => Unary(f64::tan),
        "add" => Binary(|a, b| num(a + b)),
        "subtract" => Binary(|a, b| num(a - b)),
        "multiply" => Binary(|a, b| num(a * b)),
        "divide" => Binary(|a, b| num(a / b)),
        "pow" => Binary(|a, b| num(a.powf(b))),
        "greater" => Binary(|a, b| J::Bool(a > b)),
        "greater_equals" => Binary(|a, b| J::Bool(a >= b)),
        "less" => Binary(|a, b| J::Bool(a < b)),
        "less_equals" => Binary(|a, b| J::Bool(a <= b)),
        "equals" => Binary(|a, b| J::Bool(a == b)),
        "not_equals" => Binary(|a, b| J::Bool(a != b)),
        "sum" | "product" | "dot_product" | "cosine_similarity" | "pearson_correlation" => Reduce,
        "fill_const" | "fill_forward" | "fill_backward" | "fill_linear" => Fill,
        _ => return None,
    })
}

/// Element-wise arithmetic, comparisons, reductions and gap filling over numeric arrays.
fn series(name: &str, args: &[Value]) -> Value {
    let elems = |v: Option<&Value>| -> Option<Vec<Option<f64>>> {
        match v {
            Some(Value::Dynamic(d)) => d.as_array().map(|a| a.iter().map(J::as_f64).collect()),
            _ => None,
        }
    };
    let Some(first) = elems(args.first()) else {
        return Value::Null;
    };
    let second = || -> Vec<Option<f64>> {
        elems(args.get(1)).unwrap_or_else(|| vec![args.get(1).and_then(as_f64); first.len()])
    };
    let out = match series_kind(name) {
        Some(SeriesKind::Unary(f)) => first
            .iter()
            .map(|x| x.map_or(J::Null, |x| num(f(x))))
            .collect(),
        Some(SeriesKind::Binary(f)) => {
            let b = second();
            first
                .iter()
                .enumerate()
                .map(|(i, a)| match (a, b.get(i).copied().flatten()) {
                    (Some(a), Some(b)) => f(*a, b),
                    _ => J::Null,
                })
                .collect()
        }
        Some(SeriesKind::Reduce) => {
            let b = second();
            let pairs: Vec<(f64, f64)> = first
                .iter()
                .enumerate()
                .filter_map(|(i, a)| Some(((*a)?, b.get(i).copied().flatten().unwrap_or(f64::NAN))))
                .collect();
            let xs: Vec<f64> = first.iter().flatten().copied().collect();
            let dot: f64 = pairs.iter().map(|(a, b)| a * b).sum();
            let norm = |v: &mut dyn Iterator<Item = f64>| v.map(|x| x * x).sum::<f64>().sqrt();
            let r = match name {
                "series_sum" => xs.iter().sum(),
                "series_product" => xs.iter().product(),
                "series_dot_product" => dot,
                "series_cosine_similarity" => {
                    dot / (norm(&mut pairs.iter().map(|p| p.0))
                        * norm(&mut pairs.iter().map(|p| p.1)))
                }
                _ => {
                    let n = pairs.len() as f64;
                    let (ma, mb) = (
                        pairs.iter().map(|p| p.0).sum::<f64>() / n,
                        pairs.iter().map(|p| p.1).sum::<f64>() / n,
                    );
                    let cov: f64 = pairs.iter().map(|(a, b)| (a - ma) * (b - mb)).sum();
                    let va: f64 = pairs.iter().map(|(a, _)| (a - ma).powi(2)).sum();
                    let vb: f64 = pairs.iter().map(|(_, b)| (b - mb).powi(2)).sum();
                    cov / (va * vb).sqrt()
                }
            };
            return Value::Real(r);
        }
        Some(SeriesKind::Fill) => {
            let Some(Value::Dynamic(d)) = args.first() else {
                return Value::Null;
            };
            let raw: Vec<J> = d.as_array().cloned().unwrap_or_default();
            let mut out = raw.clone();
            match name {
                "series_fill_const" => {
                    let c = args.get(1).map_or(J::from(0), json_of);
                    for v in out.iter_mut().filter(|v| v.is_null()) {
                        *v = c.clone();
                    }
                }
                "series_fill_forward" => {
                    for i in 1..out.len() {
                        if out[i].is_null() {
                            out[i] = out[i - 1].clone();
                        }
                    }
                }
                "series_fill_backward" => {
                    for i in (0..out.len().saturating_sub(1)).rev() {
                        if out[i].is_null() {
                            out[i] = out[i + 1].clone();
                        }
                    }
                }
                // series_fill_linear(x[, missing, fill_edges, constant]): interpolates between
                // known values, extends the first and last known values over the edges unless
                // fill_edges is false, and fills a series with no known value with the constant
                // (0). Integer series stay integers.
                _ => {
                    let missing = args.get(1).map_or(J::Null, json_of);
                    let fill_edges = !matches!(args.get(2).map(undyn), Some(Value::Bool(false)));
                    let known: Vec<(usize, f64)> = raw
                        .iter()
                        .enumerate()
                        .filter(|(_, v)| **v != missing)
                        .filter_map(|(i, v)| Some((i, v.as_f64()?)))
                        .collect();
                    let ints = known
                        .iter()
                        .all(|(i, _)| raw[*i].is_i64() || raw[*i].is_u64());
                    let value = |x: f64| if ints { J::from(x as i64) } else { num(x) };
                    for v in out.iter_mut().filter(|v| **v == missing) {
                        *v = J::Null;
                    }
                    match (known.first(), known.last()) {
                        (Some(&(first, a)), Some(&(last, b))) => {
                            for pair in known.windows(2) {
                                let ((i0, v0), (i1, v1)) = (pair[0], pair[1]);
                                for (i, slot) in out.iter_mut().enumerate().take(i1).skip(i0 + 1) {
                                    *slot =
                                        value(v0 + (v1 - v0) * (i - i0) as f64 / (i1 - i0) as f64);
                                }
                            }
                            if fill_edges {
                                out[..first].fill(value(a));
                                out[last + 1..].fill(value(b));
                            }
                        }
                        _ => out.fill(args.get(3).map_or(num(0.0), json_of)),
                    }
                }
            }
            return Value::dynamic(J::Array(out));
        }
        None => return Value::Null,
    };
    Value::dynamic(J::Array(out))
}

/// One step of a JSONPath: a property or an array index.
enum PathStep {
    Key(String),
    Index(i64),
}

/// Parses the JSONPath subset Kusto accepts: `$`, `.name`, `['name']`, `["name"]`, `[index]`.
fn json_path(path: &str) -> Option<Vec<PathStep>> {
    let mut rest = path.trim().strip_prefix('$')?;
    let mut steps = Vec::new();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            steps.push(PathStep::Key(r[..end].to_string()));
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            let inner = r[..end].trim();
            steps.push(match inner.parse::<i64>() {
                Ok(i) => PathStep::Index(i),
                Err(_) => PathStep::Key(inner.trim_matches(|c| c == '\'' || c == '"').to_string()),
            });
            rest = &r[end + 1..];
        } else {
            return None;
        }
    }
    Some(steps)
}

/// The element a JSONPath leads to.
fn json_at<'j>(mut j: &'j J, steps: &[PathStep]) -> Option<&'j J> {
    for step in steps {
        j = match step {
            PathStep::Key(k) => j.get(k)?,
            PathStep::Index(i) => {
                let arr = j.as_array()?;
                let idx = if *i < 0 { arr.len() as i64 + i } else { *i };
                arr.get(usize::try_from(idx).ok()?)?
            }
        };
    }
    Some(j)
}

/// Sets the property a path of keys leads to, creating bags on the way.
fn json_set(j: &mut J, steps: &[PathStep], value: J) -> Option<()> {
    let Some((last, parents)) = steps.split_last() else {
        *j = value;
        return Some(());
    };
    let mut cur = j;
    for step in parents {
        let PathStep::Key(k) = step else {
            return None;
        };
        cur = cur
            .as_object_mut()?
            .entry(k.clone())
            .or_insert_with(|| J::Object(serde_json::Map::new()));
    }
    let PathStep::Key(k) = last else {
        return None;
    };
    cur.as_object_mut()?.insert(k.clone(), value);
    Some(())
}

/// A Windows command line split into arguments (CommandLineToArgvW's rules): white space
/// separates, double quotes group, `\"` is a quote and 2n backslashes before a quote are n.
fn windows_argv(line: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut arg = String::new();
    let (mut quoted, mut started) = (false, false);
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => {
                let run = chars[i..].iter().take_while(|c| **c == '\\').count();
                i += run;
                if chars.get(i) == Some(&'"') {
                    arg.extend(std::iter::repeat_n('\\', run / 2));
                    if run % 2 == 1 {
                        arg.push('"');
                        i += 1;
                    }
                } else {
                    arg.extend(std::iter::repeat_n('\\', run));
                }
                started = true;
                continue;
            }
            '"' if quoted && chars.get(i + 1) == Some(&'"') => {
                arg.push('"');
                i += 1;
            }
            '"' => {
                quoted = !quoted;
                started = true;
            }
            c if c.is_whitespace() && !quoted => {
                if started {
                    args.push(std::mem::take(&mut arg));
                    started = false;
                }
            }
            c => {
                arg.push(c);
                started = true;
            }
        }
        i += 1;
    }
    if started {
        args.push(arg);
    }
    args
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

/// `treepath`: the paths (`['a'][0]['b']`) of every bag property and array element, arrays
/// collapsed to their element `[0]`, in the order first seen.
fn tree_paths(j: &J, prefix: &str, out: &mut Vec<String>) {
    let visit = |path: String, child: &J, out: &mut Vec<String>| {
        if crate::budget::check().is_err() {
            return;
        }
        if !out.contains(&path) {
            out.push(path.clone());
        }
        tree_paths(child, &path, out);
    };
    match j {
        J::Object(o) => {
            for (k, v) in o {
                visit(format!("{prefix}['{k}']"), v, out);
            }
        }
        J::Array(a) => {
            for v in a {
                visit(format!("{prefix}[0]"), v, out);
            }
        }
        _ => {}
    }
}

/// The fields of one CSV record: commas separate, double quotes enclose (`""` is a quote).
fn csv_fields(text: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(std::mem::take(&mut field)),
            other => field.push(other),
        }
    }
    fields.push(field);
    fields
}

/// `parse_url`: the parts of an absolute URL as Kusto names them.
fn parse_url(url: &str) -> Option<J> {
    let (scheme, rest) = url.split_once("://")?;
    let (rest, fragment) = rest.split_once('#').unwrap_or((rest, ""));
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let (userinfo, hostport) = authority.rsplit_once('@').unwrap_or(("", authority));
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) if !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()) => (h, p),
        _ => (hostport, ""),
    };
    let mut params = serde_json::Map::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        params.insert(k.to_string(), J::String(v.to_string()));
    }
    Some(serde_json::json!({
        "Scheme": scheme,
        "Host": host,
        "Port": port,
        "Path": path,
        "Username": user,
        "Password": password,
        "Query Parameters": params,
        "Fragment": fragment,
    }))
}

/// `parse_path`: directory, file name and extension of a Windows or Unix path.
fn parse_path(path: &str) -> J {
    let (scheme, body) = match path.split_once("://") {
        Some((s, b)) => (s, b),
        None => ("", path),
    };
    let (dir, file) = match body.rfind(['\\', '/']) {
        Some(i) => (&body[..i], &body[i + 1..]),
        None => ("", body),
    };
    // `file.txt:stream` names an NTFS alternate data stream.
    let (file, stream) = file.split_once(':').unwrap_or((file, ""));
    let bytes = body.as_bytes();
    let root = if bytes.get(1) == Some(&b':') && matches!(bytes.get(2), Some(b'\\' | b'/')) {
        body.get(..3).unwrap_or("")
    } else {
        ""
    };
    let dir_name = dir.rsplit(['\\', '/']).next().unwrap_or("");
    let ext = file.rsplit_once('.').map_or("", |(_, e)| e);
    serde_json::json!({
        "Scheme": scheme,
        "RootPath": root,
        "DirectoryPath": dir,
        "DirectoryName": dir_name,
        "Filename": file,
        "Extension": ext,
        "AlternateDataStreamName": stream,
    })
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

/// The fields a Kusto/.NET format string (`yyyy-MM-dd HH:mm:ss.fff`) can show, from a datetime or
/// a timespan.
struct Fields {
    year: i32,
    month: u32,
    /// Day of month, or whole days of a timespan.
    day: i64,
    hour: u32,
    minute: u32,
    second: u32,
    /// Ticks below the second.
    frac: i64,
    /// A timespan: `d` pads days to the letter count and `h` is the hour of the day.
    timespan: bool,
}

impl Fields {
    fn of_datetime(t: chrono::DateTime<chrono::Utc>, ticks: i64) -> Fields {
        Fields {
            year: t.year(),
            month: t.month(),
            day: i64::from(t.day()),
            hour: t.hour(),
            minute: t.minute(),
            second: t.second(),
            frac: ticks.rem_euclid(TICKS_PER_SECOND),
            timespan: false,
        }
    }

    fn of_timespan(ticks: i64) -> Fields {
        let t = ticks.unsigned_abs();
        let secs = t / TICKS_PER_SECOND as u64;
        Fields {
            year: 0,
            month: 0,
            day: (secs / 86_400) as i64,
            hour: ((secs / 3600) % 24) as u32,
            minute: ((secs / 60) % 60) as u32,
            second: (secs % 60) as u32,
            frac: (t % TICKS_PER_SECOND as u64) as i64,
            timespan: true,
        }
    }

    /// Formats the fields: runs of a letter are one specifier (`yyyy`, `MM`, `fff`), `F` digits
    /// drop trailing zeros, anything else is copied.
    fn format(&self, fmt: &str) -> String {
        let chars: Vec<char> = fmt.chars().collect();
        let mut out = String::new();
        let mut i = 0;
        // Zero-padded to n digits (by hand: a format width must fit in 16 bits, and a run
        // of letters in the format can be longer).
        let pad = |v: i64, n: usize| {
            let digits = v.unsigned_abs().to_string();
            let sign = if v < 0 { "-" } else { "" };
            let zeros = n.saturating_sub(digits.len() + sign.len());
            format!("{sign}{}{digits}", "0".repeat(zeros))
        };
        while i < chars.len() {
            let c = chars[i];
            let mut n = 1;
            while i + n < chars.len() && chars[i + n] == c {
                n += 1;
            }
            let two = n.min(2);
            match c {
                'y' if n <= 2 => out.push_str(&pad(i64::from(self.year % 100), 2)),
                'y' => out.push_str(&pad(i64::from(self.year), 4)),
                'M' => out.push_str(&pad(i64::from(self.month), two)),
                'd' if self.timespan => out.push_str(&pad(self.day, n)),
                'd' => out.push_str(&pad(self.day, two)),
                'H' => out.push_str(&pad(i64::from(self.hour), two)),
                'h' if self.timespan => out.push_str(&pad(i64::from(self.hour), two)),
                'h' => {
                    let h = if self.hour.is_multiple_of(12) {
                        12
                    } else {
                        self.hour % 12
                    };
                    out.push_str(&pad(i64::from(h), two))
                }
                'm' => out.push_str(&pad(i64::from(self.minute), two)),
                's' => out.push_str(&pad(i64::from(self.second), two)),
                'f' | 'F' => {
                    let digits = format!("{:07}", self.frac);
                    let shown = digits.get(..n.min(7)).unwrap_or("");
                    out.push_str(if c == 'F' {
                        shown.trim_end_matches('0')
                    } else {
                        shown
                    });
                }
                't' => out.push_str(if self.hour < 12 { "AM" } else { "PM" }),
                other => out.extend(std::iter::repeat_n(other, n)),
            }
            i += n;
        }
        out
    }
}

fn datetime_diff(
    part: &str,
    a: chrono::DateTime<chrono::Utc>,
    b: chrono::DateTime<chrono::Utc>,
) -> Option<i64> {
    let (ta, tb) = (datetime_to_ticks(a), datetime_to_ticks(b));
    let trunc = |t: i64, unit: i64| t.div_euclid(unit);
    Some(match part.to_ascii_lowercase().as_str() {
        "year" => i64::from(a.year() - b.year()),
        "quarter" => {
            i64::from(a.year() - b.year()) * 4
                + (i64::from(a.month0()) / 3 - i64::from(b.month0()) / 3)
        }
        "month" => {
            i64::from(a.year() - b.year()) * 12 + i64::from(a.month0()) - i64::from(b.month0())
        }
        "week" => {
            let sw = |t: i64| (t.div_euclid(DAY) + 4).div_euclid(7);
            sw(ta) - sw(tb)
        }
        "day" => trunc(ta, DAY) - trunc(tb, DAY),
        "hour" => trunc(ta, 3600 * TICKS_PER_SECOND) - trunc(tb, 3600 * TICKS_PER_SECOND),
        "minute" => trunc(ta, 60 * TICKS_PER_SECOND) - trunc(tb, 60 * TICKS_PER_SECOND),
        "second" => trunc(ta, TICKS_PER_SECOND) - trunc(tb, TICKS_PER_SECOND),
        "millisecond" => trunc(ta, 10_000) - trunc(tb, 10_000),
        "microsecond" => trunc(ta, 10) - trunc(tb, 10),
        "nanosecond" => (ta - tb) * 100,
        _ => return None,
    })
}

fn datetime_add(part: &str, n: i64, t: chrono::DateTime<chrono::Utc>) -> Option<i64> {
    let ticks = datetime_to_ticks(t);
    let unit = match part.to_ascii_lowercase().as_str() {
        "year" => return add_months(t, n.checked_mul(12)?).map(datetime_to_ticks),
        "quarter" => return add_months(t, n.checked_mul(3)?).map(datetime_to_ticks),
        "month" => return add_months(t, n).map(datetime_to_ticks),
        "week" => 7 * DAY,
        "day" => DAY,
        "hour" => 3600 * TICKS_PER_SECOND,
        "minute" => 60 * TICKS_PER_SECOND,
        "second" => TICKS_PER_SECOND,
        "millisecond" => 10_000,
        "microsecond" => 10,
        _ => return None,
    };
    ticks.checked_add(n.checked_mul(unit)?)
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
    let s = |i: usize| text(args, i);
    match name {
        "tostring" => Value::str(s(0)),
        "strcat" => Value::str(args.iter().map(to_text).collect::<String>()),
        "strcat_delim" => {
            let parts: Vec<String> = args.iter().skip(1).map(to_text).collect();
            Value::str(parts.join(&s(0)))
        }
        "strcat_array" => match dynamic_array(&args.first().cloned().unwrap_or(Value::Null)) {
            Some(items) => Value::str(
                items
                    .iter()
                    .map(|j| to_text(&Value::dynamic(j.clone())))
                    .collect::<Vec<_>>()
                    .join(&s(1)),
            ),
            None => Value::Null,
        },
        "tolower" => Value::str(s(0).to_lowercase()),
        "toupper" => Value::str(s(0).to_uppercase()),
        "strlen" => Value::Long(s(0).chars().count() as i64),
        "string_size" => Value::Long(s(0).len() as i64),
        "reverse" => Value::str(s(0).chars().rev().collect::<String>()),
        "strrep" => {
            let n = as_i64(&arg(args, 1)).unwrap_or(0).clamp(0, 10_000) as usize;
            let (text, delimiter) = (s(0), s(2));
            let mut out = String::with_capacity(
                n.saturating_mul(text.len())
                    .saturating_add(n.saturating_sub(1).saturating_mul(delimiter.len())),
            );
            for i in 0..n {
                if i > 0 {
                    out.push_str(&delimiter);
                }
                out.push_str(&text);
            }
            Value::str(out)
        }
        "substring" => {
            let chars: Vec<char> = s(0).chars().collect();
            // A negative start counts from the end of the text.
            let start = match as_i64(&arg(args, 1)).unwrap_or(0) {
                i if i < 0 => (chars.len() as i64 + i).max(0) as usize,
                i => i as usize,
            };
            let len = as_i64(&arg(args, 2)).map_or(usize::MAX, |l| l.max(0) as usize);
            Value::str(chars.iter().skip(start).take(len).collect::<String>())
        }
        "indexof" => {
            let hay: Vec<char> = s(0).chars().collect();
            let needle: Vec<char> = s(1).chars().collect();
            position_of(&hay, &needle, args)
        }
        "countof" => {
            let (hay, needle) = (s(0), s(1));
            if s(2) == "regex" {
                regex(&needle)
                    .and_then(|r| Some(r.over(&hay)?.find_iter(&hay).count() as i64))
                    .map_or(Value::Null, Value::Long)
            } else if needle.is_empty() {
                Value::Long(0)
            } else {
                // Plain matches may overlap (`countof("aaaa", "aa")` is 3); regex ones do not.
                let mut found = 0;
                for (i, _) in hay.char_indices() {
                    if crate::budget::check().is_err() {
                        return Value::Null;
                    }
                    found += i64::from(hay[i..].starts_with(&needle));
                }
                Value::Long(found)
            }
        }
        "replace_string" => Value::str(s(0).replace(&s(1), &s(2))),
        "replace_regex" | "replace" => {
            let (text, pattern, rewrite) = if name == "replace" {
                (s(2), s(0), s(1))
            } else {
                (s(0), s(1), s(2))
            };
            let rewrite = regex(r"\\(\d)").map_or(rewrite.clone(), |r| {
                r.regex().replace_all(&rewrite, "$${$1}").into_owned()
            });
            regex(&pattern)
                .and_then(|r| {
                    Some(Value::str(
                        r.over(&text)?.replace_all(&text, rewrite.as_str()),
                    ))
                })
                .unwrap_or(Value::Null)
        }
        "trim" | "trim_start" | "trim_end" => {
            trim_regex(&s(0), &s(1), name != "trim_end", name != "trim_start")
                .map_or(Value::Null, Value::str)
        }
        "extract" => {
            let group = as_i64(&arg(args, 1)).unwrap_or(0).max(0) as usize;
            let found = regex(&s(0)).and_then(|r| {
                let hay = s(2);
                r.over(&hay)?
                    .captures(&hay)
                    .and_then(|c| c.get(group).map(|m| m.as_str().to_string()))
            });
            match found {
                Some(m) => coerce(Value::str(m), result),
                None if result == ScalarType::String => Value::str(""),
                None => Value::Null,
            }
        }
        "extract_all" => {
            let (pattern, hay) = if args.len() >= 3 {
                (s(0), s(2))
            } else {
                (s(0), s(1))
            };
            let Some(r) = regex(&pattern) else {
                return Value::Null;
            };
            let Some(r) = r.over(&hay) else {
                return Value::Null;
            };
            let groups = r.captures_len() - 1;
            // The groups to return: all of them, or those the middle argument picks by number
            // or by name.
            let picked: Vec<usize> = match args.get(1).filter(|_| args.len() >= 3) {
                Some(sel) => dynamic_array(sel)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|g| match g {
                        J::String(n) => r.capture_names().position(|c| c == Some(n.as_str())),
                        other => other.as_u64().map(|i| i as usize),
                    })
                    .collect(),
                None => (1..=groups.max(1)).map(|g| g.min(groups)).collect(),
            };
            let mut out = Vec::new();
            for c in r.captures_iter(&hay) {
                let texts: Vec<J> = picked
                    .iter()
                    .map(|&g| J::String(c.get(g).map_or("", |m| m.as_str()).into()))
                    .collect();
                if picked.len() <= 1 {
                    out.push(texts.into_iter().next().unwrap_or(J::Null));
                } else {
                    out.push(J::Array(texts));
                }
            }
            if out.is_empty() {
                Value::Null
            } else {
                Value::dynamic(J::Array(out))
            }
        }
        "split" => {
            let parts: Vec<J> = s(0)
                .split(s(1).as_str())
                .map(|p| J::String(p.into()))
                .collect();
            match as_i64(&arg(args, 2)) {
                Some(i) => {
                    let idx = if i < 0 { parts.len() as i64 + i } else { i };
                    usize::try_from(idx)
                        .ok()
                        .and_then(|i| parts.get(i).cloned())
                        .map_or(Value::Null, |p| Value::dynamic(J::Array(vec![p])))
                }
                None => Value::dynamic(J::Array(parts)),
            }
        }
        "parse_json" | "todynamic" | "toobject" => match args.first() {
            Some(Value::String(t)) if t.trim().is_empty() => Value::Null,
            Some(Value::String(t)) => match serde_json::from_str::<J>(t) {
                Ok(j) => Value::dynamic(j),
                Err(_) => Value::dynamic(J::String(t.to_string())),
            },
            Some(other) => to_dynamic(other),
            None => Value::Null,
        },
        "isempty" | "isnotempty" => {
            let empty = match args.first().map(undyn) {
                None | Some(Value::Null) => true,
                Some(Value::String(t)) => t.is_empty(),
                _ => false,
            };
            Value::Bool(empty == (name == "isempty"))
        }
        "isnull" | "isnotnull" => Value::Bool(arg(args, 0).is_null() == (name == "isnull")),
        "not" => match arg(args, 0) {
            Value::Bool(b) => Value::Bool(!b),
            _ => Value::Null,
        },
        "iff" | "iif" => match arg(args, 0) {
            Value::Bool(true) => coerce(args.get(1).cloned().unwrap_or(Value::Null), result),
            _ => coerce(args.get(2).cloned().unwrap_or(Value::Null), result),
        },
        "case" => {
            let mut i = 0;
            while i + 1 < args.len() {
                if arg(args, i) == Value::Bool(true) {
                    return coerce(args[i + 1].clone(), result);
                }
                i += 2;
            }
            coerce(args.last().cloned().unwrap_or(Value::Null), result)
        }
        "coalesce" => {
            let found = args.iter().find(|a| match undyn(a) {
                Value::Null => false,
                Value::String(t) => !t.is_empty(),
                _ => true,
            });
            coerce(found.cloned().unwrap_or(Value::Null), result)
        }
        "min_of" | "max_of" => {
            let mut best: Option<Value> = None;
            for a in args.iter().filter(|a| !a.is_null()) {
                let better = match &best {
                    None => true,
                    Some(b) => {
                        let o = crate::value::convert::sort_cmp(a, b);
                        if name == "min_of" {
                            o.is_lt()
                        } else {
                            o.is_gt()
                        }
                    }
                };
                if better {
                    best = Some(a.clone());
                }
            }
            coerce(best.unwrap_or(Value::Null), result)
        }
        "todouble" | "toreal" | "todecimal" | "tolong" | "toint64" | "toint" | "tobool"
        | "toboolean" | "todatetime" | "totimespan" | "totime" | "toguid" => {
            let a = arg(args, 0);
            let a = match (&a, result) {
                (
                    Value::String(t),
                    ScalarType::Real | ScalarType::Decimal | ScalarType::Long | ScalarType::Int,
                ) => {
                    let t = t.trim();
                    match t.parse::<i64>() {
                        Ok(i) => Value::Long(i),
                        Err(_) => t.parse::<f64>().map_or(Value::Null, Value::Real),
                    }
                }
                (Value::String(t), ScalarType::Bool) => {
                    match t.trim().to_ascii_lowercase().as_str() {
                        "true" | "1" => Value::Bool(true),
                        "false" | "0" => Value::Bool(false),
                        _ => Value::Null,
                    }
                }
                (Value::DateTime(t), ScalarType::Long) => Value::Long(*t),
                (Value::TimeSpan(t), ScalarType::Long) => Value::Long(*t),
                (Value::Long(t), ScalarType::TimeSpan) => Value::TimeSpan(*t),
                (Value::Bool(b), ScalarType::Long | ScalarType::Int | ScalarType::Real) => {
                    Value::Long(i64::from(*b))
                }
                _ => a,
            };
            coerce(a, result)
        }
        "pack_array" => Value::dynamic(J::Array(args.iter().map(json_of).collect())),
        // `pack:nonempty` (what `pack_all(true)` compiles to) leaves out null and empty values.
        "pack" | "bag_pack" | "pack:nonempty" => {
            let mut map = serde_json::Map::new();
            for pair in args.chunks(2) {
                if let [k, v] = pair {
                    let empty = match undyn(v) {
                        Value::Null => true,
                        Value::String(t) => t.is_empty(),
                        _ => false,
                    };
                    if !(empty && name == "pack:nonempty") {
                        map.insert(to_text(k), json_of(v));
                    }
                }
            }
            Value::dynamic(J::Object(map))
        }
        "bag_keys" => match args.first() {
            Some(Value::Dynamic(d)) => match d.as_object() {
                Some(o) => {
                    Value::dynamic(J::Array(o.keys().map(|k| J::String(k.clone())).collect()))
                }
                None => Value::Null,
            },
            _ => Value::Null,
        },
        "bag_has_key" => match args.first() {
            Some(Value::Dynamic(d)) => {
                Value::Bool(d.as_object().is_some_and(|o| o.contains_key(&s(1))))
            }
            _ => Value::Null,
        },
        "bag_merge" => {
            let mut map = serde_json::Map::new();
            for a in args {
                if let Value::Dynamic(d) = a
                    && let Some(o) = d.as_object()
                {
                    for (k, v) in o {
                        map.entry(k.clone()).or_insert_with(|| v.clone());
                    }
                }
            }
            Value::dynamic(J::Object(map))
        }
        "array_length" => match args.first() {
            Some(Value::Dynamic(d)) => d
                .as_array()
                .map_or(Value::Null, |a| Value::Long(a.len() as i64)),
            _ => Value::Null,
        },
        "array_concat" => {
            let mut out = Vec::new();
            for a in args {
                out.extend(dynamic_array(a).unwrap_or_default());
            }
            Value::dynamic(J::Array(out))
        }
        "set_union" | "set_intersect" | "set_difference" => {
            let sets: Vec<Vec<J>> = args
                .iter()
                .map(|a| dynamic_array(a).unwrap_or_default())
                .collect();
            let mut out: Vec<J> = Vec::new();
            let first = sets.first().cloned().unwrap_or_default();
            let candidates: Vec<J> = if name == "set_union" {
                sets.concat()
            } else {
                first
            };
            for c in candidates {
                // Each candidate is looked for in every set, and in the result so far.
                if crate::budget::check().is_err() {
                    return Value::Null;
                }
                let keep = match name {
                    "set_intersect" => sets.iter().skip(1).all(|s| s.contains(&c)),
                    "set_difference" => !sets.iter().skip(1).any(|s| s.contains(&c)),
                    _ => true,
                };
                if keep && !out.contains(&c) {
                    out.push(c);
                }
            }
            Value::dynamic(J::Array(out))
        }
        "set_has_element" => match dynamic_array(&args.first().cloned().unwrap_or(Value::Null)) {
            Some(items) => {
                let needle = json_of(&arg(args, 1));
                Value::Bool(items.contains(&needle))
            }
            None => Value::Null,
        },
        "array_index_of" => match dynamic_array(&args.first().cloned().unwrap_or(Value::Null)) {
            Some(items) => position_of(&items, &[json_of(&arg(args, 1))], args),
            None => Value::Null,
        },
        "treepath" => match args.first().map(json_of) {
            Some(j @ (J::Object(_) | J::Array(_))) => {
                let mut paths = Vec::new();
                tree_paths(&j, "", &mut paths);
                Value::dynamic(J::Array(paths.into_iter().map(J::String).collect()))
            }
            _ => Value::Null,
        },
        "array_slice" => match dynamic_array(&args.first().cloned().unwrap_or(Value::Null)) {
            Some(items) => {
                let n = items.len() as i64;
                let fix = |i: i64| if i < 0 { (n + i).max(0) } else { i.min(n) };
                let start = fix(as_i64(&arg(args, 1)).unwrap_or(0));
                let end = fix(as_i64(&arg(args, 2)).unwrap_or(n - 1)) + 1;
                let slice = items
                    .get(start as usize..(end.min(n).max(start)) as usize)
                    .unwrap_or(&[])
                    .to_vec();
                Value::dynamic(J::Array(slice))
            }
            None => Value::Null,
        },
        // array_sort_asc(a1[, a2, …][, nulls_last]): sorts a1 (nulls last unless asked
        // otherwise) and reorders the other arrays the same way; several arrays come back as an
        // array of arrays.
        "array_sort_asc" | "array_sort_desc" => {
            let arrays: Vec<Vec<J>> = args.iter().map_while(dynamic_array).collect();
            let nulls_last = match args.get(arrays.len()).map(undyn) {
                Some(Value::Bool(b)) => b,
                _ => true,
            };
            let Some(first) = arrays.first() else {
                return Value::Null;
            };
            if arrays.iter().any(|a| a.len() != first.len()) {
                return Value::Null;
            }
            let keys: Vec<Value> = first
                .iter()
                .map(|j| undyn(&Value::dynamic(j.clone())))
                .collect();
            let mut order: Vec<usize> = (0..keys.len()).collect();
            order.sort_by(|&i, &j| {
                let (a, b) = (&keys[i], &keys[j]);
                match (a.is_null(), b.is_null()) {
                    (true, true) => std::cmp::Ordering::Equal,
                    (true, false) => {
                        if nulls_last {
                            std::cmp::Ordering::Greater
                        } else {
                            std::cmp::Ordering::Less
                        }
                    }
                    (false, true) => {
                        if nulls_last {
                            std::cmp::Ordering::Less
                        } else {
                            std::cmp::Ordering::Greater
                        }
                    }
                    _ if name == "array_sort_desc" => crate::value::convert::sort_cmp(b, a),
                    _ => crate::value::convert::sort_cmp(a, b),
                }
            });
            let sorted: Vec<J> = arrays
                .iter()
                .map(|arr| J::Array(order.iter().map(|&i| arr[i].clone()).collect()))
                .collect();
            match <[J; 1]>::try_from(sorted) {
                Ok([one]) => Value::dynamic(one),
                Err(many) => Value::dynamic(J::Array(many)),
            }
        }
        "bin" | "floor" => bin_value(&arg(args, 0), &arg(args, 1)),
        "bin_at" => {
            let (v, size, at) = (arg(args, 0), arg(args, 1), arg(args, 2));
            match (&v, &size, &at) {
                (Value::DateTime(t), Value::TimeSpan(s), Value::DateTime(a)) if *s > 0 => {
                    Value::DateTime((t - a).div_euclid(*s) * s + a)
                }
                (Value::TimeSpan(t), Value::TimeSpan(s), Value::TimeSpan(a)) if *s > 0 => {
                    Value::TimeSpan((t - a).div_euclid(*s) * s + a)
                }
                _ => match (as_f64(&v), as_f64(&size), as_f64(&at)) {
                    (Some(x), Some(s), Some(a)) if s > 0.0 => {
                        coerce(Value::Real(((x - a) / s).floor() * s + a), result)
                    }
                    _ => Value::Null,
                },
            }
        }
        "round" => {
            let digits = as_i64(&arg(args, 1)).unwrap_or(0).clamp(-15, 15) as i32;
            match as_f64(&arg(args, 0)) {
                Some(x) => {
                    let m = 10f64.powi(digits);
                    coerce(Value::Real((x * m).round() / m), result)
                }
                None => Value::Null,
            }
        }
        "ceiling" => {
            as_f64(&arg(args, 0)).map_or(Value::Null, |x| coerce(Value::Real(x.ceil()), result))
        }
        "abs" => match arg(args, 0) {
            Value::Int(i) => Value::Int(i.wrapping_abs()),
            Value::Long(i) => Value::Long(i.wrapping_abs()),
            Value::Real(r) => Value::Real(r.abs()),
            Value::Decimal(r) => Value::Decimal(r.abs()),
            Value::TimeSpan(t) => Value::TimeSpan(t.wrapping_abs()),
            _ => Value::Null,
        },
        "sign" => as_f64(&arg(args, 0)).map_or(Value::Null, |x| {
            coerce(
                Value::Real(if x > 0.0 {
                    1.0
                } else if x < 0.0 {
                    -1.0
                } else {
                    0.0
                }),
                result,
            )
        }),
        "log" | "log10" | "log2" | "exp" | "exp2" | "exp10" | "sqrt" | "cos" | "sin" | "tan"
        | "acos" | "asin" | "atan" | "degrees" | "radians" => match as_f64(&arg(args, 0)) {
            Some(x) => Value::Real(match name {
                "log" => x.ln(),
                "log10" => x.log10(),
                "log2" => x.log2(),
                "exp" => x.exp(),
                "exp2" => x.exp2(),
                "exp10" => 10f64.powf(x),
                "sqrt" => x.sqrt(),
                "cos" => x.cos(),
                "sin" => x.sin(),
                "tan" => x.tan(),
                "acos" => x.acos(),
                "asin" => x.asin(),
                "atan" => x.atan(),
                "degrees" => x.to_degrees(),
                _ => x.to_radians(),
            }),
            None => Value::Null,
        },
        "pow" | "atan2" => match (as_f64(&arg(args, 0)), as_f64(&arg(args, 1))) {
            (Some(x), Some(y)) => Value::Real(if name == "pow" { x.powf(y) } else { x.atan2(y) }),
            _ => Value::Null,
        },
        "pi" => Value::Real(std::f64::consts::PI),
        "rand" => {
            let r: f64 = rand::random();
            match as_i64(&arg(args, 0)) {
                Some(n) if n > 0 => Value::Real((r * n as f64).floor()),
                _ => Value::Real(r),
            }
        }
        "isnan" => as_f64(&arg(args, 0)).map_or(Value::Null, |x| Value::Bool(x.is_nan())),
        "isinf" => as_f64(&arg(args, 0)).map_or(Value::Null, |x| Value::Bool(x.is_infinite())),
        "isfinite" => as_f64(&arg(args, 0)).map_or(Value::Null, |x| Value::Bool(x.is_finite())),
        "isascii" => Value::Bool(s(0).is_ascii()),
        "isutf8" => Value::Bool(true),
        "gettype" => Value::str(match args.first() {
            Some(Value::Dynamic(d)) => match &**d {
                J::Array(_) => "array",
                J::Object(_) => "dictionary",
                J::String(_) => "string",
                J::Bool(_) => "bool",
                // Whole numbers in dynamic values are ints when they fit, as Kusto documents.
                J::Number(n) if n.as_i64().is_some_and(|i| i32::try_from(i).is_ok()) => "int",
                J::Number(n) if n.is_i64() => "long",
                J::Number(_) => "real",
                J::Null => "null",
            },
            Some(v) => v.scalar_type().map_or("null", |t| t.name()),
            None => "null",
        }),
        "startofday" | "startofweek" | "startofmonth" | "startofyear" | "endofday"
        | "endofweek" | "endofmonth" | "endofyear" => {
            let Some(t) = dt(args, 0) else {
                return Value::Null;
            };
            let offset = as_i64(&arg(args, 1)).unwrap_or(0);
            let date = t.date_naive();
            let start = match name {
                "startofday" | "endofday" => date.checked_add_signed(Duration::days(offset)),
                "startofweek" | "endofweek" => date
                    .checked_sub_signed(Duration::days(i64::from(
                        date.weekday().num_days_from_sunday(),
                    )))
                    .and_then(|d| d.checked_add_signed(Duration::weeks(offset))),
                "startofmonth" | "endofmonth" => date.with_day(1).and_then(|d| {
                    let m = Months::new(u32::try_from(offset.unsigned_abs()).ok()?);
                    if offset >= 0 {
                        d.checked_add_months(m)
                    } else {
                        d.checked_sub_months(m)
                    }
                }),
                _ => NaiveDate::from_ymd_opt(date.year() + offset as i32, 1, 1),
            };
            if name.starts_with("start") {
                date_ticks(start)
            } else {
                let next = start.and_then(|d| match name {
                    "endofday" => d.checked_add_signed(Duration::days(1)),
                    "endofweek" => d.checked_add_signed(Duration::weeks(1)),
                    "endofmonth" => d.checked_add_months(Months::new(1)),
                    _ => d.with_year(d.year() + 1),
                });
                match date_ticks(next) {
                    Value::DateTime(x) => Value::DateTime(x - 1),
                    other => other,
                }
            }
        }
        "datetime_diff" => match (dt(args, 1), dt(args, 2)) {
            (Some(a), Some(b)) => datetime_diff(&s(0), a, b).map_or(Value::Null, Value::Long),
            _ => Value::Null,
        },
        "datetime_add" => match (as_i64(&arg(args, 1)), dt(args, 2)) {
            (Some(n), Some(t)) => datetime_add(&s(0), n, t).map_or(Value::Null, Value::DateTime),
            _ => Value::Null,
        },
        "datetime_part" => match dt(args, 1) {
            Some(t) => Value::Long(match s(0).to_ascii_lowercase().as_str() {
                "year" => i64::from(t.year()),
                "quarter" => i64::from(t.month0() / 3 + 1),
                "month" => i64::from(t.month()),
                "week_of_year" | "weekofyear" => i64::from(t.iso_week().week()),
                "day" => i64::from(t.day()),
                "dayofyear" => i64::from(t.ordinal()),
                "hour" => i64::from(t.hour()),
                "minute" => i64::from(t.minute()),
                "second" => i64::from(t.second()),
                "millisecond" => i64::from(t.timestamp_subsec_millis()),
                "microsecond" => i64::from(t.timestamp_subsec_micros()),
                "nanosecond" => i64::from(t.timestamp_subsec_nanos()),
                _ => return Value::Null,
            }),
            None => Value::Null,
        },
        "format_datetime" => match coerce(arg(args, 0), ScalarType::DateTime) {
            Value::DateTime(ticks) => ticks_to_datetime(ticks).map_or(Value::Null, |t| {
                Value::str(Fields::of_datetime(t, ticks).format(&s(1)))
            }),
            _ => Value::Null,
        },
        "format_timespan" => match coerce(arg(args, 0), ScalarType::TimeSpan) {
            Value::TimeSpan(t) if args.len() >= 2 => {
                let sign = if t < 0 { "-" } else { "" };
                Value::str(format!("{sign}{}", Fields::of_timespan(t).format(&s(1))))
            }
            Value::TimeSpan(t) => Value::str(crate::value::format_timespan(t)),
            _ => Value::Null,
        },
        "hourofday" | "dayofmonth" | "dayofyear" | "getmonth" | "monthofyear" | "getyear"
        | "week_of_year" | "weekofyear" => match dt(args, 0) {
            Some(t) => {
                let n = match name {
                    "hourofday" => t.hour(),
                    "dayofmonth" => t.day(),
                    "dayofyear" => t.ordinal(),
                    "getmonth" | "monthofyear" => t.month(),
                    "week_of_year" | "weekofyear" => t.iso_week().week(),
                    _ => t.year() as u32,
                };
                coerce(Value::Long(i64::from(n)), result)
            }
            None => Value::Null,
        },
        "dayofweek" => match dt(args, 0) {
            Some(t) => Value::TimeSpan(i64::from(t.weekday().num_days_from_sunday()) * DAY),
            None => Value::Null,
        },
        "make_datetime" => {
            let n = |i: usize| as_i64(&arg(args, i)).unwrap_or(0);
            let secs = as_f64(&arg(args, 5)).unwrap_or(0.0);
            NaiveDate::from_ymd_opt(n(0) as i32, n(1) as u32, n(2) as u32)
                .and_then(|d| d.and_hms_opt(n(3) as u32, n(4) as u32, 0))
                .map_or(Value::Null, |t| {
                    Value::DateTime(
                        datetime_to_ticks(t.and_utc()) + (secs * TICKS_PER_SECOND as f64) as i64,
                    )
                })
        }
        "make_timespan" => {
            // In floating point: huge parts saturate to the timespan's range, not overflow.
            let n = |i: usize| as_i64(&arg(args, i)).unwrap_or(0) as f64;
            let secs = if args.len() >= 4 {
                n(0) * 86_400.0 + n(1) * 3600.0 + n(2) * 60.0 + as_f64(&arg(args, 3)).unwrap_or(0.0)
            } else {
                n(0) * 3600.0 + n(1) * 60.0 + as_f64(&arg(args, 2)).unwrap_or(0.0)
            };
            Value::TimeSpan((secs * TICKS_PER_SECOND as f64).round() as i64)
        }
        "unixtime_seconds_todatetime"
        | "unixtime_milliseconds_todatetime"
        | "unixtime_microseconds_todatetime"
        | "unixtime_nanoseconds_todatetime" => {
            let per_tick = match name {
                "unixtime_seconds_todatetime" => TICKS_PER_SECOND as f64,
                "unixtime_milliseconds_todatetime" => 10_000.0,
                "unixtime_microseconds_todatetime" => 10.0,
                _ => 0.01,
            };
            as_f64(&arg(args, 0)).map_or(Value::Null, |x| Value::DateTime((x * per_tick) as i64))
        }
        "datetime_utc_to_local" | "datetime_local_to_utc" => {
            coerce(arg(args, 0), ScalarType::DateTime)
        }
        "range" => {
            let (a, b) = (arg(args, 0), arg(args, 1));
            // The step defaults to 1, or to 1h for datetimes and timespans.
            let step = args.get(2).map(undyn).unwrap_or(match a {
                Value::DateTime(_) | Value::TimeSpan(_) => Value::TimeSpan(3600 * TICKS_PER_SECOND),
                _ => Value::Long(1),
            });
            let mut out = Vec::new();
            match (&a, &b, &step) {
                (Value::DateTime(x), Value::DateTime(y), Value::TimeSpan(s))
                | (Value::TimeSpan(x), Value::TimeSpan(y), Value::TimeSpan(s))
                    if *s > 0 =>
                {
                    let mut t = *x;
                    while t <= *y && out.len() < 1_048_576 {
                        out.push(crate::value::convert::dyn_json(
                            &if matches!(a, Value::DateTime(_)) {
                                Value::DateTime(t)
                            } else {
                                Value::TimeSpan(t)
                            },
                        ));
                        let Some(next) = t.checked_add(*s) else { break };
                        t = next;
                    }
                }
                _ => {
                    let (Some(x), Some(y), Some(s)) = (as_f64(&a), as_f64(&b), as_f64(&step))
                    else {
                        return Value::Null;
                    };
                    if s == 0.0 {
                        return Value::Null;
                    }
                    let ints = [&a, &b, &step]
                        .iter()
                        .all(|v| matches!(v, Value::Int(_) | Value::Long(_)));
                    let mut i = 0.0;
                    while out.len() < 1_048_576 {
                        let v = x + i * s;
                        if (s > 0.0 && v > y) || (s < 0.0 && v < y) {
                            break;
                        }
                        out.push(if ints {
                            J::from(v as i64)
                        } else {
                            serde_json::Number::from_f64(v).map_or(J::Null, J::Number)
                        });
                        i += 1.0;
                    }
                }
            }
            Value::dynamic(J::Array(out))
        }
        "array_iff" => {
            let (c, t, f) = (args.first(), args.get(1), args.get(2));
            let Some(conds) = c.and_then(dynamic_array) else {
                return Value::Null;
            };
            let side = |v: Option<&Value>, i: usize| match v.and_then(dynamic_array) {
                Some(a) => a.get(i).cloned().unwrap_or(J::Null),
                None => v.map_or(J::Null, json_of),
            };
            let out = conds
                .iter()
                .enumerate()
                .map(|(i, cond)| match cond {
                    J::Bool(true) => side(t, i),
                    J::Bool(false) => side(f, i),
                    J::Number(n) if n.as_f64().is_some_and(|x| x != 0.0) => side(t, i),
                    J::Number(_) => side(f, i),
                    _ => J::Null,
                })
                .collect();
            Value::dynamic(J::Array(out))
        }
        "array_split" => match dynamic_array(&args.first().cloned().unwrap_or(Value::Null)) {
            Some(items) => {
                let n = items.len() as i64;
                let mut cuts: Vec<usize> = match args.get(1).and_then(dynamic_array) {
                    Some(a) => a.iter().filter_map(J::as_i64).collect::<Vec<i64>>(),
                    None => as_i64(&arg(args, 1)).into_iter().collect::<Vec<i64>>(),
                }
                .into_iter()
                .map(|i| (if i < 0 { n + i } else { i }).clamp(0, n) as usize)
                .collect();
                cuts.sort_unstable();
                let mut out = Vec::new();
                let mut prev = 0;
                for c in cuts.into_iter().chain(std::iter::once(items.len())) {
                    out.push(J::Array(
                        items.get(prev..c.max(prev)).unwrap_or(&[]).to_vec(),
                    ));
                    prev = c.max(prev);
                }
                Value::dynamic(J::Array(out))
            }
            None => Value::Null,
        },
        "array_shift_left" | "array_shift_right" | "array_rotate_left" | "array_rotate_right" => {
            match dynamic_array(&args.first().cloned().unwrap_or(Value::Null)) {
                Some(items) if !items.is_empty() => {
                    // In i128: a shift by any i64 (even its minimum, negated) cannot overflow.
                    let len = items.len() as i128;
                    let by = i128::from(as_i64(&arg(args, 1)).unwrap_or(0));
                    let by = if name.ends_with("right") { -by } else { by };
                    let fill = args.get(2).map_or(J::Null, json_of);
                    let out = (0..len)
                        .map(|i| {
                            let src = i + by;
                            if name.starts_with("array_rotate") {
                                items[src.rem_euclid(len) as usize].clone()
                            } else if (0..len).contains(&src) {
                                items[src as usize].clone()
                            } else {
                                fill.clone()
                            }
                        })
                        .collect();
                    Value::dynamic(J::Array(out))
                }
                Some(items) => Value::dynamic(J::Array(items)),
                None => Value::Null,
            }
        }
        "bag_zip" => match (
            args.first().and_then(dynamic_array),
            args.get(1).map(|v| dynamic_array(v).unwrap_or_default()),
        ) {
            (Some(keys), Some(vals)) => {
                let mut map = serde_json::Map::new();
                for (i, k) in keys.iter().enumerate() {
                    if let J::String(k) = k {
                        map.insert(k.clone(), vals.get(i).cloned().unwrap_or(J::Null));
                    }
                }
                Value::dynamic(J::Object(map))
            }
            _ => Value::Null,
        },
        // to_utf8 and make_string are the older names of the code point functions.
        "to_utf8" => call("unicode_codepoints_from_string", args, result),
        "make_string" => call("unicode_codepoints_to_string", args, result),
        "bitset_count_ones" => {
            as_i64(&arg(args, 0)).map_or(Value::Null, |n| Value::Long(i64::from(n.count_ones())))
        }
        // repeat(value, count): an array holding value count times.
        "repeat" => match as_i64(&arg(args, 1)) {
            Some(n) if n >= 0 => Value::dynamic(J::Array(vec![
                json_of(&arg(args, 0));
                n.min(1_048_576) as usize
            ])),
            _ => Value::Null,
        },
        "unicode_codepoints_from_string" => Value::dynamic(J::Array(
            s(0).chars().map(|c| J::from(u32::from(c))).collect(),
        )),
        "unicode_codepoints_to_string" => {
            let codes: Vec<J> = args
                .iter()
                .flat_map(|a| dynamic_array(a).unwrap_or_else(|| vec![json_of(a)]))
                .collect();
            let text: Option<String> = codes
                .iter()
                .map(|j| j.as_u64().and_then(|c| char::from_u32(c as u32)))
                .collect();
            text.map_or(Value::Null, Value::str)
        }
        "replace_strings" => {
            let (Some(lookups), Some(rewrites)) = (
                args.get(1).and_then(dynamic_array),
                args.get(2).and_then(dynamic_array),
            ) else {
                return Value::Null;
            };
            let pairs: Vec<(String, String)> = lookups
                .iter()
                .zip(&rewrites)
                .map(|(l, r)| {
                    (
                        to_text(&Value::dynamic(l.clone())),
                        to_text(&Value::dynamic(r.clone())),
                    )
                })
                .filter(|(l, _)| !l.is_empty())
                .collect();
            // Earlier lookups win: a later lookup's match overlapping a chosen one is dropped.
            let text = s(0);
            let mut chosen: Vec<(usize, usize, usize)> = Vec::new();
            for (p, (l, _)) in pairs.iter().enumerate() {
                for (start, m) in text.match_indices(l.as_str()) {
                    if crate::budget::check().is_err() {
                        return Value::Null;
                    }
                    let end = start + m.len();
                    if chosen.iter().all(|(s, e, _)| end <= *s || start >= *e) {
                        chosen.push((start, end, p));
                    }
                }
            }
            chosen.sort_unstable();
            let mut out = String::new();
            let mut at = 0;
            for (start, end, p) in chosen {
                out.push_str(&text[at..start]);
                out.push_str(&pairs[p].1);
                at = end;
            }
            out.push_str(&text[at..]);
            Value::str(out)
        }
        "base64_decode_toarray" => match encoding::base64_decode(&s(0)) {
            Some(bytes) => Value::dynamic(J::Array(bytes.into_iter().map(J::from).collect())),
            None => Value::Null,
        },
        "base64_encode_fromarray" => match args.first().and_then(dynamic_array) {
            Some(items) => {
                let bytes: Vec<u8> = items
                    .iter()
                    .filter_map(J::as_u64)
                    .map(|b| b as u8)
                    .collect();
                Value::str(encoding::base64_encode(&bytes))
            }
            None => Value::Null,
        },
        "cot" => as_f64(&arg(args, 0)).map_or(Value::Null, |x| Value::Real(1.0 / x.tan())),
        n if series_kind(n).is_some() => series(n, args),
        "parse_url" => parse_url(&s(0)).map_or(Value::Null, Value::dynamic),
        // Sketches are exact here: an hll is its distinct values, a t-digest its weighted values.
        "dcount_hll" => match args.first().and_then(dynamic_array) {
            Some(items) => Value::Long(items.len() as i64),
            None => Value::Null,
        },
        "hll_merge" => {
            let mut out: Vec<J> = Vec::new();
            for j in args.iter().filter_map(dynamic_array).flatten() {
                if crate::budget::check().is_err() {
                    return Value::Null;
                }
                if !out.contains(&j) {
                    out.push(j);
                }
            }
            Value::dynamic(J::Array(out))
        }
        "tdigest_merge" | "merge_tdigest" => Value::dynamic(J::Array(
            args.iter().filter_map(dynamic_array).flatten().collect(),
        )),
        "percentile_tdigest" | "percentiles_array_tdigest" | "percentrank_tdigest" => {
            let Some(digest) = args.first().and_then(dynamic_array) else {
                return Value::Null;
            };
            let mut sorted: Vec<(Value, i64)> = digest
                .iter()
                .filter_map(|pair| {
                    let v = undyn(&Value::dynamic(pair.get(0)?.clone()));
                    Some((v, pair.get(1)?.as_i64()?))
                })
                .collect();
            sorted.sort_by(|a, b| crate::value::convert::sort_cmp(&a.0, &b.0));
            let at = |p: f64| {
                crate::functions::aggregate::weighted_percentile(&sorted, p).unwrap_or(Value::Null)
            };
            if name == "percentrank_tdigest" {
                // The weighted share of values at or below the value, in percent.
                let v = arg(args, 1);
                let total = sorted
                    .iter()
                    .fold(0i64, |acc, (_, w)| acc.saturating_add(*w));
                let below = sorted
                    .iter()
                    .filter(|(x, _)| {
                        crate::value::convert::compare(x, &v).is_some_and(|o| o.is_le())
                    })
                    .fold(0i64, |acc, (_, w)| acc.saturating_add(*w));
                return if total == 0 || v.is_null() {
                    Value::Null
                } else {
                    Value::Real(100.0 * below as f64 / total as f64)
                };
            }
            if name == "percentile_tdigest" {
                as_f64(&arg(args, 1)).map_or(Value::Null, |p| coerce(to_dynamic(&at(p)), result))
            } else {
                let ps: Vec<f64> = texts_of(args.get(1..).unwrap_or_default())
                    .iter()
                    .filter_map(|p| p.parse().ok())
                    .collect();
                Value::dynamic(J::Array(
                    ps.iter()
                        .map(|p| crate::value::convert::dyn_json(&at(*p)))
                        .collect(),
                ))
            }
        }
        "parse_urlquery" => {
            let decode = |t: &str| to_text(&call("url_decode", &[Value::str(t)], result));
            let params: serde_json::Map<String, J> = s(0)
                .trim_start_matches('?')
                .split('&')
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let (k, v) = p.split_once('=').unwrap_or((p, ""));
                    (decode(k), J::String(decode(v)))
                })
                .collect();
            Value::dynamic(serde_json::json!({ "Query Parameters": params }))
        }
        // parse_command_line(command, "windows"): the arguments as CommandLineToArgvW splits them.
        "parse_command_line" if s(1).eq_ignore_ascii_case("windows") => Value::dynamic(J::Array(
            windows_argv(&s(0)).into_iter().map(J::String).collect(),
        )),
        "parse_command_line" => Value::Null,
        "parse_csv" => Value::dynamic(J::Array(
            csv_fields(&s(0)).into_iter().map(J::String).collect(),
        )),
        // A version of up to four parts of up to eight digits, as one comparable number (decimals
        // are f64 here, so parts below the first ~16 digits of it lose precision).
        "parse_version" => {
            let text = s(0);
            let parts: Vec<&str> = text.trim().split('.').collect();
            let valid = parts.len() <= 4
                && parts.iter().all(|p| {
                    !p.is_empty() && p.len() <= 8 && p.bytes().all(|b| b.is_ascii_digit())
                });
            if !valid {
                return Value::Null;
            }
            let v = (0..4).fold(0.0, |acc, i| {
                acc * 1e8
                    + parts
                        .get(i)
                        .and_then(|p| p.parse::<f64>().ok())
                        .unwrap_or(0.0)
            });
            Value::Decimal(v)
        }
        // around(value, center, delta): whether value lies within delta of center.
        "around" => {
            use crate::functions::arith::arith;
            use crate::syntax::ast::BinOp;
            let (v, c, d) = (arg(args, 0), arg(args, 1), arg(args, 2));
            let lo = arith(BinOp::Sub, c.clone(), d.clone());
            let hi = arith(BinOp::Add, c, d);
            match (
                crate::value::convert::compare(&v, &lo),
                crate::value::convert::compare(&v, &hi),
            ) {
                (Some(a), Some(b)) => Value::Bool(a.is_ge() && b.is_le()),
                _ => Value::Null,
            }
        }
        // The index of the first lookup term the text has (as `has`), else -1.
        "has_any_index" => {
            let hay = s(0).to_lowercase();
            let terms = texts_of(args.get(1..).unwrap_or_default());
            Value::Long(
                terms
                    .iter()
                    .position(|t| terms::has_term(&hay, &t.to_lowercase(), true, true))
                    .map_or(-1, |p| p as i64),
            )
        }
        "jaccard_index" => match (
            args.first().and_then(dynamic_array),
            args.get(1).and_then(dynamic_array),
        ) {
            (Some(a), Some(b)) => {
                let mut union: Vec<&J> = Vec::new();
                for j in a.iter().chain(&b) {
                    if crate::budget::check().is_err() {
                        return Value::Null;
                    }
                    if !union.contains(&j) {
                        union.push(j);
                    }
                }
                let both = union
                    .iter()
                    .filter(|j| a.contains(j) && b.contains(j))
                    .count();
                if union.is_empty() {
                    Value::Real(f64::NAN)
                } else {
                    Value::Real(both as f64 / union.len() as f64)
                }
            }
            _ => Value::Null,
        },
        // format_bytes(size[, precision[, units[, base]]]): the size in the given unit, or in the
        // largest unit it reaches.
        "format_bytes" => {
            const UNITS: [&str; 7] = ["Bytes", "KB", "MB", "GB", "TB", "PB", "EB"];
            let Some(size) = as_f64(&arg(args, 0)) else {
                return Value::str("");
            };
            let precision = as_i64(&arg(args, 1)).unwrap_or(0).clamp(0, 15) as usize;
            let base = as_i64(&arg(args, 3))
                .filter(|b| *b == 1000)
                .map_or(1024.0, |b| b as f64);
            let asked = s(2);
            let unit = match UNITS.iter().position(|u| u.eq_ignore_ascii_case(&asked)) {
                Some(u) => u,
                None => (0..UNITS.len())
                    .rev()
                    .find(|&u| size.abs() >= base.powi(u as i32))
                    .unwrap_or(0),
            };
            let scaled = size / base.powi(unit as i32);
            Value::str(format!("{scaled:.precision$} {}", UNITS[unit]))
        }
        "base64_encode_fromguid" => match arg(args, 0) {
            Value::Guid(g) => Value::str(encoding::base64_encode(&g.to_bytes_le())),
            _ => Value::Null,
        },
        "base64_decode_toguid" => match encoding::base64_decode(&s(0)).map(<[u8; 16]>::try_from) {
            Some(Ok(bytes)) => Value::Guid(uuid::Uuid::from_bytes_le(bytes)),
            _ => Value::Null,
        },
        "parse_path" => Value::dynamic(parse_path(&s(0))),
        "translate" => {
            let (from, to): (Vec<char>, Vec<char>) =
                (s(0).chars().collect(), s(1).chars().collect());
            let out: String = s(2)
                .chars()
                .take_while(|_| crate::budget::check().is_ok())
                .filter_map(|c| match from.iter().position(|f| *f == c) {
                    // Past the end of the replacements, the last one repeats; none at all deletes.
                    Some(i) => to.get(i).or(to.last()).copied(),
                    None => Some(c),
                })
                .collect();
            Value::str(out)
        }
        "array_reverse" => match dynamic_array(&args.first().cloned().unwrap_or(Value::Null)) {
            Some(mut items) => {
                items.reverse();
                Value::dynamic(J::Array(items))
            }
            None => Value::Null,
        },
        "array_sum" => match dynamic_array(&args.first().cloned().unwrap_or(Value::Null)) {
            Some(items) => Value::Real(items.iter().filter_map(J::as_f64).sum()),
            None => Value::Null,
        },
        "zip" => {
            let arrays: Vec<Vec<J>> = args.iter().filter_map(dynamic_array).collect();
            if arrays.len() != args.len() {
                return Value::Null;
            }
            let n = arrays.iter().map(Vec::len).max().unwrap_or(0);
            let rows = (0..n)
                .map(|i| {
                    J::Array(
                        arrays
                            .iter()
                            .map(|a| a.get(i).cloned().unwrap_or(J::Null))
                            .collect(),
                    )
                })
                .collect();
            Value::dynamic(J::Array(rows))
        }
        "bag_remove_keys" => match (args.first(), args.get(1).and_then(dynamic_array)) {
            (Some(Value::Dynamic(d)), Some(keys)) => match d.as_object() {
                Some(o) => {
                    let mut o = o.clone();
                    for k in keys {
                        if let J::String(k) = k {
                            o.remove(&k);
                        }
                    }
                    Value::dynamic(J::Object(o))
                }
                None => Value::Null,
            },
            _ => Value::Null,
        },
        // The key is a property name or a JSONPath (`$.a.b`) whose missing bags are created.
        "bag_set_key" => match args.first() {
            Some(Value::Dynamic(d)) if d.is_object() => {
                let key = s(1);
                let steps = if key.starts_with('$') {
                    json_path(&key)
                } else {
                    Some(vec![PathStep::Key(key)])
                };
                let mut bag = (**d).clone();
                let value = json_of(&args.get(2).cloned().unwrap_or(Value::Null));
                match steps.and_then(|st| json_set(&mut bag, &st, value)) {
                    Some(()) => Value::dynamic(bag),
                    None => Value::Null,
                }
            }
            _ => Value::Null,
        },
        // extractjson(path, json[, typeof(T)]): the element as text, or converted to T.
        "extractjson" | "extract_json" => {
            let doc = match args.get(1).map(undyn) {
                Some(Value::String(t)) => serde_json::from_str::<J>(&t).ok(),
                Some(other) => Some(json_of(&other)),
                None => None,
            };
            let found = doc.and_then(|d| {
                let steps = json_path(&s(0))?;
                json_at(&d, &steps).cloned()
            });
            match found {
                Some(j) => coerce(undyn(&Value::dynamic(j)), result),
                None if result == ScalarType::String => Value::str(""),
                None => Value::Null,
            }
        }
        // Negative numbers print as two's complement of their own size (int 32, long 64 bits).
        "tohex" => match as_i64(&arg(args, 0)) {
            Some(n) => {
                let width = as_i64(&arg(args, 1)).unwrap_or(0).clamp(0, 16) as usize;
                let hex = match arg(args, 0) {
                    Value::Int(i) if i < 0 => format!("{:x}", i as u32),
                    _ if n < 0 => format!("{:x}", n as u64),
                    _ => format!("{n:x}"),
                };
                Value::str(format!("{hex:0>width$}"))
            }
            None => Value::Null,
        },
        "regex_quote" => Value::str(regex::escape(&s(0))),
        "strcmp" => Value::Long(match s(0).cmp(&s(1)) {
            std::cmp::Ordering::Less => -1,
            std::cmp::Ordering::Equal => 0,
            std::cmp::Ordering::Greater => 1,
        }),
        "binary_and" | "binary_or" | "binary_xor" | "binary_shift_left" | "binary_shift_right" => {
            match (as_i64(&arg(args, 0)), as_i64(&arg(args, 1))) {
                (Some(a), Some(b)) => Value::Long(match name {
                    "binary_and" => a & b,
                    "binary_or" => a | b,
                    "binary_xor" => a ^ b,
                    "binary_shift_left" => a.checked_shl(b as u32).unwrap_or(0),
                    _ => a.checked_shr(b as u32).unwrap_or(0),
                }),
                _ => Value::Null,
            }
        }
        "binary_not" => as_i64(&arg(args, 0)).map_or(Value::Null, |a| Value::Long(!a)),
        // indexof_regex(source, lookup[, start[, length[, occurrence]]]): positions count in
        // characters; a negative start is invalid, a negative length means to the end.
        "indexof_regex" => {
            let opt = |i: usize, default: i64| match args.get(i) {
                Some(_) => as_i64(&arg(args, i)),
                None => Some(default),
            };
            let (Some(r), Some(start), Some(len), Some(nth)) =
                (regex(&s(1)), opt(2, 0), opt(3, -1), opt(4, 1))
            else {
                return Value::Null;
            };
            if start < 0 || nth < 1 {
                return Value::Null;
            }
            let chars: Vec<char> = s(0).chars().collect();
            let end = if len < 0 {
                chars.len()
            } else {
                (start as usize)
                    .saturating_add(len as usize)
                    .min(chars.len())
            };
            let window: String = chars
                .get(start as usize..end.max(start as usize))
                .unwrap_or(&[])
                .iter()
                .collect();
            let Some(r) = r.over(&window) else {
                return Value::Null;
            };
            Value::Long(
                r.find_iter(&window)
                    .nth(nth as usize - 1)
                    .map_or(-1, |m| start + window[..m.start()].chars().count() as i64),
            )
        }
        "has_ipv4" | "has_ipv4_prefix" | "has_any_ipv4" | "has_any_ipv4_prefix" => {
            let hay = s(0);
            let wanted = texts_of(args.get(1..).unwrap_or_default());
            let prefix = name.ends_with("prefix");
            Value::Bool(ipv4_tokens(&hay).iter().any(|ip| {
                wanted.iter().any(|w| {
                    if prefix {
                        // A partial prefix must end with a dot: `10.1.` matches 10.1.x.x.
                        ip == w || (w.ends_with('.') && ip.starts_with(w.as_str()))
                    } else {
                        ip == w
                    }
                })
            }))
        }
        "url_encode_component" => call("url_encode", args, result),
        "url_decode_component" => call("url_decode", args, result),
        "hash_sha256" => Value::str(encoding::sha256_hex(s(0).as_bytes())),
        "hash_sha1" => Value::str(encoding::sha1_hex(s(0).as_bytes())),
        "zlib_compress_to_base64_string" => Value::str(encoding::base64_encode(
            &encoding::zlib_compress(s(0).as_bytes()),
        )),
        "gzip_compress_to_base64_string" => Value::str(encoding::base64_encode(
            &encoding::gzip_compress(s(0).as_bytes()),
        )),
        // Text that is not base64 of a stream of UTF-8 decompresses to an empty string.
        "zlib_decompress_from_base64_string" | "gzip_decompress_from_base64_string" => {
            const LIMIT: usize = 64 << 20;
            let bytes = encoding::base64_decode(&s(0)).and_then(|b| {
                if name.starts_with("zlib") {
                    encoding::zlib_decompress(&b, LIMIT)
                } else {
                    encoding::gzip_decompress(&b, LIMIT)
                }
            });
            Value::str(
                bytes
                    .and_then(|b| String::from_utf8(b).ok())
                    .unwrap_or_default(),
            )
        }
        "punycode_from_string" => encoding::punycode_encode(&s(0)).map_or(Value::Null, Value::str),
        "punycode_to_string" => encoding::punycode_decode(&s(0)).map_or(Value::Null, Value::str),
        // Domains: each label (split at any Unicode full stop) with non-ASCII text becomes
        // `xn--` and its Punycode, and back.
        "punycode_domain_to_string" | "punycode_domain_from_string" => {
            let labels: Option<Vec<String>> = s(0)
                .split(['.', '\u{3002}', '\u{FF0E}', '\u{FF61}'])
                .map(|label| {
                    if name == "punycode_domain_to_string" {
                        if label.is_ascii() {
                            Some(label.to_string())
                        } else {
                            encoding::punycode_encode(label).map(|p| format!("xn--{p}"))
                        }
                    } else {
                        match label.get(..4).filter(|p| p.eq_ignore_ascii_case("xn--")) {
                            Some(_) => encoding::punycode_decode(&label[4..]),
                            None => Some(label.to_string()),
                        }
                    }
                })
                .collect();
            labels.map_or(Value::Null, |l| Value::str(l.join(".")))
        }
        "hash_md5" => Value::str(encoding::md5_hex(s(0).as_bytes())),
        // The xxHash64 bits read as a signed long; a modulo keeps the result in [0, m).
        // Datetimes and timespans hash their .NET ticks (little-endian), other values their text.
        "hash" | "hash_xxhash64" => {
            const DOTNET_EPOCH_TICKS: i64 = 621_355_968_000_000_000;
            let bytes = match arg(args, 0) {
                Value::DateTime(t) => t.wrapping_add(DOTNET_EPOCH_TICKS).to_le_bytes().to_vec(),
                Value::TimeSpan(t) => t.to_le_bytes().to_vec(),
                _ => s(0).into_bytes(),
            };
            let h = encoding::xxhash64(&bytes) as i64;
            match as_i64(&arg(args, 1)) {
                Some(m) if m > 0 => Value::Long(h.rem_euclid(m)),
                _ => Value::Long(h),
            }
        }
        "base64_encode_tostring" | "base64_encodestring" => {
            Value::str(encoding::base64_encode(s(0).as_bytes()))
        }
        "base64_decode_tostring" | "base64_decodestring" => match encoding::base64_decode(&s(0)) {
            // Bytes that are not UTF-8 decode to an empty string, as in Kusto.
            Some(bytes) => Value::str(String::from_utf8(bytes).unwrap_or_default()),
            None => Value::Null,
        },
        "url_decode" => {
            let t = s(0);
            let bytes = t.as_bytes();
            let mut out = Vec::new();
            let mut i = 0;
            while i < bytes.len() {
                let b = bytes[i];
                if b == b'%'
                    && i + 2 < bytes.len()
                    && let Ok(x) = u8::from_str_radix(t.get(i + 1..i + 3).unwrap_or(""), 16)
                {
                    out.push(x);
                    i += 3;
                    continue;
                }
                out.push(if b == b'+' { b' ' } else { b });
                i += 1;
            }
            Value::str(String::from_utf8_lossy(&out))
        }
        "url_encode" => {
            let mut out = String::new();
            for b in s(0).bytes() {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    out.push(b as char);
                } else {
                    out.push_str(&format!("%{b:02x}"));
                }
            }
            Value::str(out)
        }
        "new_guid" => Value::Guid(uuid::Uuid::new_v4()),
        _ if math::return_type(name).is_some() => math::call(name, args),
        _ if fit::return_type(name).is_some() => fit::call(name, args),
        _ if units::return_type(name).is_some() => units::call(name, args),
        _ => net::call(name, args),
    }
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
