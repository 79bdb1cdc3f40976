//! Text functions: concatenation, case, search, replacement, extraction, splitting.

use super::*;

/// The functions of this family.
pub(super) static FUNCTIONS: &[Function] = &[
    fixed("tostring", T::String, |args, _| Value::str(text(args, 0))),
    fixed("strcat", T::String, |args, _| {
        Value::str(args.iter().map(to_text).collect::<String>())
    }),
    fixed("strcat_delim", T::String, |args, _| {
        let parts: Vec<String> = args.iter().skip(1).map(to_text).collect();
        Value::str(parts.join(&text(args, 0)))
    })
    .builds(size::product::strcat_delim),
    fixed("strcat_array", T::String, |args, _| {
        match dynamic_array(&args.first().cloned().unwrap_or(Value::Null)) {
            Some(items) => Value::str(
                items
                    .iter()
                    .map(|j| to_text(&Value::dynamic(j.clone())))
                    .collect::<Vec<_>>()
                    .join(&text(args, 1)),
            ),
            None => Value::Null,
        }
    })
    .builds(size::product::strcat_array),
    fixed("tolower", T::String, |args, _| {
        Value::str(text(args, 0).to_lowercase())
    }),
    fixed("toupper", T::String, |args, _| {
        Value::str(text(args, 0).to_uppercase())
    }),
    fixed("strlen", T::Long, |args, _| {
        Value::Long(text(args, 0).chars().count() as i64)
    }),
    fixed("string_size", T::Long, |args, _| {
        Value::Long(text(args, 0).len() as i64)
    }),
    fixed("reverse", T::String, |args, _| {
        Value::str(text(args, 0).chars().rev().collect::<String>())
    }),
    fixed("strrep", T::String, |args, _| {
        let s = |i: usize| text(args, i);
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
    })
    .builds(size::product::strrep),
    fixed("substring", T::String, |args, _| {
        let chars: Vec<char> = text(args, 0).chars().collect();
        // A negative start counts from the end of the text.
        let start = match as_i64(&arg(args, 1)).unwrap_or(0) {
            i if i < 0 => (chars.len() as i64 + i).max(0) as usize,
            i => i as usize,
        };
        let len = as_i64(&arg(args, 2)).map_or(usize::MAX, |l| l.max(0) as usize);
        Value::str(chars.iter().skip(start).take(len).collect::<String>())
    }),
    fixed("indexof", T::Long, |args, _| {
        let hay: Vec<char> = text(args, 0).chars().collect();
        let needle: Vec<char> = text(args, 1).chars().collect();
        position_of(&hay, &needle, args)
    }),
    fixed("countof", T::Long, |args, _| {
        let (hay, needle) = (text(args, 0), text(args, 1));
        if text(args, 2) == "regex" {
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
    }),
    fixed("replace_string", T::String, |args, _| {
        Value::str(text(args, 0).replace(&text(args, 1), &text(args, 2)))
    })
    .builds(size::product::replace_string),
    fixed("replace_regex", T::String, |args, _| {
        replace_regex(&text(args, 0), &text(args, 1), &text(args, 2))
    })
    .builds(size::product::replace_regex),
    fixed("replace", T::String, |args, _| {
        replace_regex(&text(args, 2), &text(args, 0), &text(args, 1))
    })
    .builds(size::product::replace),
    fixed("trim", T::String, |args, _| trim(args, true, true)),
    fixed("trim_start", T::String, |args, _| trim(args, true, false)),
    fixed("trim_end", T::String, |args, _| trim(args, false, true)),
    Function::new(
        "extract",
        &[],
        Returns::Computed(|args| args.get(3).copied().unwrap_or(T::String)),
        |args, result| {
            let group = as_i64(&arg(args, 1)).unwrap_or(0).max(0) as usize;
            let found = regex(&text(args, 0)).and_then(|r| {
                let hay = text(args, 2);
                r.over(&hay)?
                    .captures(&hay)
                    .and_then(|c| c.get(group).map(|m| m.as_str().to_string()))
            });
            match found {
                Some(m) => coerce(Value::str(m), result),
                None if result == ScalarType::String => Value::str(""),
                None => Value::Null,
            }
        },
    ),
    fixed("extract_all", T::Dynamic, extract_all)
        .grows(Growth::Elements)
        .builds(size::product::extract_all),
    fixed("split", T::Dynamic, |args, _| {
        let parts: Vec<J> = text(args, 0)
            .split(text(args, 1).as_str())
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
    })
    .grows(Growth::Elements),
    // to_utf8 and make_string are the older names of the code point functions.
    Function::new(
        "unicode_codepoints_from_string",
        &["to_utf8"],
        Returns::Fixed(T::Dynamic),
        |args, _| {
            Value::dynamic(J::Array(
                text(args, 0)
                    .chars()
                    .map(|c| J::from(u32::from(c)))
                    .collect(),
            ))
        },
    )
    .grows(Growth::Elements),
    Function::new(
        "unicode_codepoints_to_string",
        &["make_string"],
        Returns::Fixed(T::String),
        |args, _| {
            let codes: Vec<J> = args
                .iter()
                .flat_map(|a| dynamic_array(a).unwrap_or_else(|| vec![json_of(a)]))
                .collect();
            let text: Option<String> = codes
                .iter()
                .map(|j| j.as_u64().and_then(|c| char::from_u32(c as u32)))
                .collect();
            text.map_or(Value::Null, Value::str)
        },
    ),
    fixed("replace_strings", T::String, |args, _| {
        let s = |i: usize| text(args, i);
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
    })
    .builds(size::product::replace_strings),
    // The index of the first lookup term the text has (as `has`), else -1.
    fixed("has_any_index", T::Long, |args, _| {
        let hay = text(args, 0).to_lowercase();
        let terms = texts_of(args.get(1..).unwrap_or_default());
        Value::Long(
            terms
                .iter()
                .position(|t| terms::has_term(&hay, &t.to_lowercase(), true, true))
                .map_or(-1, |p| p as i64),
        )
    }),
    fixed("translate", T::String, |args, _| {
        let (from, to): (Vec<char>, Vec<char>) = (
            text(args, 0).chars().collect(),
            text(args, 1).chars().collect(),
        );
        let out: String = text(args, 2)
            .chars()
            .take_while(|_| crate::budget::check().is_ok())
            .filter_map(|c| match from.iter().position(|f| *f == c) {
                // Past the end of the replacements, the last one repeats; none at all deletes.
                Some(i) => to.get(i).or(to.last()).copied(),
                None => Some(c),
            })
            .collect();
        Value::str(out)
    }),
    fixed("regex_quote", T::String, |args, _| {
        Value::str(regex::escape(&text(args, 0)))
    }),
    fixed("strcmp", T::Long, |args, _| {
        Value::Long(match text(args, 0).cmp(&text(args, 1)) {
            std::cmp::Ordering::Less => -1,
            std::cmp::Ordering::Equal => 0,
            std::cmp::Ordering::Greater => 1,
        })
    }),
    // indexof_regex(source, lookup[, start[, length[, occurrence]]]): positions count in
    // characters; a negative start is invalid, a negative length means to the end.
    fixed("indexof_regex", T::Long, |args, _| {
        let opt = |i: usize, default: i64| match args.get(i) {
            Some(_) => as_i64(&arg(args, i)),
            None => Some(default),
        };
        let (Some(r), Some(start), Some(len), Some(nth)) =
            (regex(&text(args, 1)), opt(2, 0), opt(3, -1), opt(4, 1))
        else {
            return Value::Null;
        };
        if start < 0 || nth < 1 {
            return Value::Null;
        }
        let chars: Vec<char> = text(args, 0).chars().collect();
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
    }),
    fixed("has_ipv4", T::Bool, |args, _| has_ipv4(args, false)),
    fixed("has_ipv4_prefix", T::Bool, |args, _| has_ipv4(args, true)),
    fixed("has_any_ipv4", T::Bool, |args, _| has_ipv4(args, false)),
    fixed("has_any_ipv4_prefix", T::Bool, |args, _| {
        has_ipv4(args, true)
    }),
];

/// `text` with the matches of `pattern` replaced by `rewrite` (`replace_regex`'s arguments;
/// `replace` takes them in another order).
fn replace_regex(text: &str, pattern: &str, rewrite: &str) -> Value {
    let rewrite = regex(r"\\(\d)").map_or(rewrite.to_string(), |r| {
        r.regex().replace_all(rewrite, "$${$1}").into_owned()
    });
    regex(pattern)
        .and_then(|r| {
            Some(Value::str(
                r.over(text)?.replace_all(text, rewrite.as_str()),
            ))
        })
        .unwrap_or(Value::Null)
}

/// `trim(regex, text)` at the `start`, the `end` or both.
fn trim(args: &[Value], start: bool, end: bool) -> Value {
    trim_regex(&text(args, 0), &text(args, 1), start, end).map_or(Value::Null, Value::str)
}

/// `extract_all(regex, [groups,] text)`: every match's groups (all of them, or those picked by
/// number or name), null when nothing matches.
fn extract_all(args: &[Value], _: ScalarType) -> Value {
    let (pattern, hay) = if args.len() >= 3 {
        (text(args, 0), text(args, 2))
    } else {
        (text(args, 0), text(args, 1))
    };
    let Some(r) = regex(&pattern) else {
        return Value::Null;
    };
    let Some(r) = r.over(&hay) else {
        return Value::Null;
    };
    let groups = r.captures_len() - 1;
    // The groups to returnSome(: all of them), or those the middle argument picks by number
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

/// Whether the text has one of the IPv4 addresses in the other arguments (or, with `prefix`,
/// an address they are a prefix of).
fn has_ipv4(args: &[Value], prefix: bool) -> Value {
    let hay = text(args, 0);
    let wanted = texts_of(args.get(1..).unwrap_or_default());
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
