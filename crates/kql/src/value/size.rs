//! How much memory values take, and the most a function can build from its arguments: what the
//! engine asks the query's budget for before it builds (`crate::budget::reserve`).
//!
//! The counting allocator sees every allocation, and the engine stops a query at its next
//! check once it is past its budget; these bounds cover what happens *between* checks, inside
//! one call: a function given large arguments (or a large count) is checked against the budget
//! before it runs, with the worst case of what it can allocate, so no single call can take the
//! process far past the budget.

use serde_json::Value as J;

/// The length of `value`'s JSON, counted as serde_json writes it, without keeping the text.
pub fn json_len(value: &impl serde::Serialize) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut n = Count(0);
    serde_json::to_writer(&mut n, value).map_or(0, |()| n.0)
}

use super::convert::as_i64;
use crate::functions::Function;
use crate::value::Value;

/// Arguments (and counted results) smaller than this in all are not checked before a function
/// runs: whatever it builds from them is small, and the query's next check catches the total.
pub(crate) const LARGE: usize = 64 * 1024;

/// What a function builds, per byte of its arguments, when it is not one of the functions
/// below: a copy or two of its text (`String`, then `Arc<str>`), a `Vec<char>` (4 bytes a
/// character), case mappings that grow text up to three times.
const DEFAULT_GROWTH: usize = 8;

/// What the functions that make one dynamic element per character, byte or field build per
/// byte of their arguments: a 32-byte node and its text, twice over while the array grows.
const ELEMENT_GROWTH: usize = 96;

/// Bytes a dynamic node takes beyond its text, and a bag entry beyond its key and value.
const NODE: usize = 32;
const ENTRY: usize = 64;

/// Bytes a value holds beyond its fixed size: a string's text, a dynamic value's tree.
pub(crate) fn value_bytes(v: &Value) -> usize {
    value_bytes_upto(v, usize::MAX)
}

/// [`value_bytes`], counting no further than `cap` (cheap for small values).
fn value_bytes_upto(v: &Value, cap: usize) -> usize {
    match v {
        Value::String(s) => s.len(),
        Value::Dynamic(d) => json_bytes_upto(d, cap),
        _ => 0,
    }
}

/// Bytes a dynamic tree takes (nodes, text of strings and keys, bag entries), counting no
/// further than `cap`.
fn json_bytes_upto(j: &J, cap: usize) -> usize {
    let mut total = NODE;
    match j {
        J::String(s) => total += s.len(),
        J::Array(a) => {
            for x in a {
                if total >= cap {
                    break;
                }
                total = total.saturating_add(json_bytes_upto(x, cap - total));
            }
        }
        J::Object(o) => {
            for (k, x) in o {
                if total >= cap {
                    break;
                }
                total = total.saturating_add(k.len() + ENTRY + json_bytes_upto(x, cap - total));
            }
        }
        _ => {}
    }
    total
}

/// The length of a value as text (what `tostring` makes of it, roughly).
fn text_len(v: Option<&Value>) -> usize {
    match v {
        Some(Value::String(s)) => s.len(),
        Some(Value::Dynamic(d)) => json_bytes_upto(d, usize::MAX),
        Some(Value::Null) | None => 0,
        Some(_) => NODE,
    }
}

fn array_len(v: Option<&Value>) -> usize {
    match v {
        Some(Value::Dynamic(d)) => d.as_array().map_or(0, Vec::len),
        _ => 0,
    }
}

fn count(v: Option<&Value>, max: i64) -> usize {
    v.and_then(as_i64).unwrap_or(0).clamp(0, max) as usize
}

/// How what a function builds grows with the size of its arguments.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Growth {
    /// A copy or two of its text, case mappings ([`DEFAULT_GROWTH`] per byte): most functions.
    Copies,
    /// A dynamic element per character, byte or field ([`ELEMENT_GROWTH`] per byte): `split`,
    /// `parse_csv`, `extract_all`, ….
    Elements,
    /// The parse of a JSON text (its structural characters): `parse_json`, `extract_json`.
    Json,
}

/// The most a call of `f` on `args` can allocate, when that is worth checking before it runs
/// (large arguments, or a count or a repeat that makes a large result); else `None`.
pub(crate) fn function_bound(f: &Function, args: &[Value]) -> Option<usize> {
    let small = args.iter().try_fold(0usize, |acc, a| {
        let acc = acc + value_bytes_upto(a, LARGE);
        (acc < LARGE).then_some(acc)
    });
    let made = f.product.map(|product| multiplied(product(args)));
    if small.is_some() && made.is_none_or(|m| m < LARGE) {
        return None;
    }
    let input = args
        .iter()
        .fold(0usize, |acc, a| acc.saturating_add(value_bytes(a)));
    Some(grown(f.growth, args, input).saturating_add(made.unwrap_or(0)))
}

/// What a function builds in proportion to its arguments.
fn grown(growth: Growth, args: &[Value], input: usize) -> usize {
    match growth {
        Growth::Elements => input.saturating_mul(ELEMENT_GROWTH),
        Growth::Json => args
            .iter()
            .map(|a| match a {
                Value::String(t) => json_text_bound(t),
                other => value_bytes(other).saturating_mul(2),
            })
            .fold(0, usize::saturating_add),
        Growth::Copies => input.saturating_mul(DEFAULT_GROWTH),
    }
}

/// The most a JSON text parses into: a node (and its slot in an array or bag, with spare
/// capacity) per structural character, and the text.
fn json_text_bound(t: &str) -> usize {
    let nodes = t
        .bytes()
        .filter(|b| matches!(b, b',' | b':' | b'[' | b'{'))
        .count()
        + 1;
    nodes
        .saturating_mul(4 * NODE)
        .saturating_add(t.len().saturating_mul(2))
}

/// What a function builds in proportion to the *product* of its arguments (a count times a
/// value, a separator per element, a replacement per match): its worst case, three times over
/// (the result as it is built, with spare capacity, and its copy into the value returned).
fn multiplied(product: usize) -> usize {
    product.saturating_mul(3)
}

/// The products of the functions that declare one (`Function::builds`), named after them.
pub(crate) mod product {
    use super::*;

    fn times(n: usize, each: usize) -> usize {
        n.saturating_mul(each)
    }

    // The limits are the functions' own (1,048,576 copies, 10,000 repeats).
    pub(crate) fn repeat(args: &[Value]) -> usize {
        times(count(args.get(1), 1 << 20), text_len(args.first()) + NODE)
    }

    pub(crate) fn strrep(args: &[Value]) -> usize {
        times(
            count(args.get(1), 10_000),
            text_len(args.first()) + text_len(args.get(2)),
        )
    }

    pub(crate) fn range(args: &[Value]) -> usize {
        times(range_len(args), 2 * NODE)
    }

    pub(crate) fn strcat_delim(args: &[Value]) -> usize {
        times(args.len(), text_len(args.first()))
    }

    pub(crate) fn strcat_array(args: &[Value]) -> usize {
        times(array_len(args.first()), text_len(args.get(1)) + NODE)
    }

    pub(crate) fn replace_string(args: &[Value]) -> usize {
        times(text_len(args.first()) + 1, text_len(args.get(2)))
    }

    pub(crate) fn replace_regex(args: &[Value]) -> usize {
        times(text_len(args.first()) + 1, 2 * text_len(args.get(2)))
    }

    pub(crate) fn replace(args: &[Value]) -> usize {
        times(text_len(args.get(2)) + 1, 2 * text_len(args.get(1)))
    }

    pub(crate) fn replace_strings(args: &[Value]) -> usize {
        times(text_len(args.first()) + 1, text_len(args.get(2)))
    }

    /// `array_shift_*` and `array_rotate_*`.
    pub(crate) fn array_shift(args: &[Value]) -> usize {
        times(array_len(args.first()), text_len(args.get(2)) + NODE)
    }

    pub(crate) fn array_iff(args: &[Value]) -> usize {
        times(
            array_len(args.first()),
            text_len(args.get(1)) + text_len(args.get(2)) + NODE,
        )
    }

    pub(crate) fn series_fill_const(args: &[Value]) -> usize {
        times(array_len(args.first()), text_len(args.get(1)) + NODE)
    }

    pub(crate) fn series_fill_linear(args: &[Value]) -> usize {
        times(array_len(args.first()), text_len(args.get(3)) + NODE)
    }

    pub(crate) fn zip(args: &[Value]) -> usize {
        times(
            args.iter().map(|a| array_len(Some(a))).max().unwrap_or(0),
            times(args.len(), NODE),
        )
    }

    pub(crate) fn extract_all(args: &[Value]) -> usize {
        let picked = if args.len() >= 3 {
            array_len(args.get(1)).max(1)
        } else {
            1
        };
        times(text_len(args.last()) + 1, times(picked, 2 * NODE))
    }

    /// `zlib_decompress_from_base64_string` and `gzip_decompress_from_base64_string`: inflating
    /// stops at 64 MiB; DEFLATE makes at most about 1,032 bytes of a byte.
    pub(crate) fn decompress(args: &[Value]) -> usize {
        times(text_len(args.first()), 1032).min(64 << 20)
    }

    pub(crate) fn treepath(args: &[Value]) -> usize {
        match args.first() {
            Some(Value::Dynamic(d)) => {
                let (nodes, depth, key) = shape(d);
                times(nodes, times(depth, key + 8) + NODE)
            }
            _ => 0,
        }
    }
}

/// How many elements `range(start, stop, step)` makes (at most its own limit of 1,048,576).
fn range_len(args: &[Value]) -> usize {
    use super::convert::as_f64;
    let n = |i: usize| -> Option<f64> {
        match args.get(i).map(super::convert::undyn) {
            Some(Value::DateTime(t) | Value::TimeSpan(t)) => Some(t as f64),
            Some(v) => as_f64(&v),
            None => None,
        }
    };
    let step = match args.get(2) {
        Some(_) => n(2),
        None => Some(1.0),
    };
    match (n(0), n(1), step) {
        (Some(a), Some(b), Some(s)) if s != 0.0 => {
            let len = ((b - a) / s).floor() + 1.0;
            if len.is_finite() && len > 0.0 {
                len.min((1u64 << 20) as f64) as usize
            } else {
                0
            }
        }
        _ => 0,
    }
}

/// Nodes, depth and the longest key of a dynamic tree.
fn shape(j: &J) -> (usize, usize, usize) {
    let mut nodes = 1;
    let mut depth = 0;
    let mut key = 4;
    let children: Box<dyn Iterator<Item = (usize, &J)>> = match j {
        J::Array(a) => Box::new(a.iter().map(|x| (0, x))),
        J::Object(o) => Box::new(o.iter().map(|(k, x)| (k.len(), x))),
        _ => return (1, 1, 4),
    };
    for (k, x) in children {
        let (n, d, kk) = shape(x);
        nodes += n;
        depth = depth.max(d);
        key = key.max(k).max(kk);
    }
    (nodes, depth + 1, key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> Value {
        Value::str(text)
    }

    fn bound(name: &str, args: &[Value]) -> Option<usize> {
        function_bound(crate::functions::function(name), args)
    }

    #[test]
    fn small_arguments_are_not_checked() {
        assert_eq!(bound("strlen", &[s("abc")]), None);
        assert_eq!(bound("repeat", &[s("abc"), Value::Long(10)]), None);
    }

    #[test]
    fn a_count_times_a_value_is_checked_before_it_is_built() {
        let repeated = bound("repeat", &[s("abc"), Value::Long(1_000_000)]).unwrap();
        assert!(repeated >= 1_000_000 * 35, "{repeated}");
        // repeat's own limit caps the count.
        let capped = bound("repeat", &[s("abc"), Value::Long(i64::MAX)]).unwrap();
        assert_eq!(capped, 3 * (1 << 20) * (3 + NODE) + 3 * DEFAULT_GROWTH);
        let big = "x".repeat(100_000);
        let strrep = bound("strrep", &[s(&big), Value::Long(10_000)]).unwrap();
        assert!(strrep >= 1_000_000_000, "{strrep}");
    }

    #[test]
    fn large_arguments_are_checked_with_the_function_s_growth() {
        let big = "a,".repeat(50_000);
        let split = bound("split", &[s(&big), s(",")]).unwrap();
        assert!(split >= 100_000 * ELEMENT_GROWTH, "{split}");
        let parsed = bound("parse_json", &[s(&format!("[{big}0]"))]).unwrap();
        assert!(parsed >= 50_000 * 4 * NODE, "{parsed}");
        let lower = bound("tolower", &[s(&big)]).unwrap();
        assert_eq!(lower, 100_000 * DEFAULT_GROWTH);
    }

    #[test]
    fn dynamic_sizes_count_nodes_keys_and_text() {
        let j: J = serde_json::json!({"ab": ["xyz", 1]});
        // bag node + entry ("ab") + array node + "xyz" node and text + number node
        assert_eq!(
            json_bytes_upto(&j, usize::MAX),
            NODE + 2 + ENTRY + NODE + NODE + 3 + NODE
        );
        assert!(json_bytes_upto(&j, 10) >= 10);
    }
}
