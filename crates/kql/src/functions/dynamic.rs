//! Dynamic values: bags, arrays and sets, JSON paths.

use super::*;

/// The functions of this family.
pub(super) static FUNCTIONS: &[Function] = &[
    Function::new(
        "parse_json",
        &["todynamic", "toobject"],
        Returns::Fixed(T::Dynamic),
        |args, _| match args.first() {
            Some(Value::String(t)) if t.trim().is_empty() => Value::Null,
            Some(Value::String(t)) => match serde_json::from_str::<J>(t) {
                Ok(j) => Value::dynamic(j),
                Err(_) => Value::dynamic(J::String(t.to_string())),
            },
            Some(other) => to_dynamic(other),
            None => Value::Null,
        },
    )
    .grows(Growth::Json),
    fixed("pack_array", T::Dynamic, |args, _| {
        Value::dynamic(J::Array(args.iter().map(json_of).collect()))
    }),
    fixed("pack", T::Dynamic, |args, _| pack(args, Leave::Nothing)),
    fixed("bag_pack", T::Dynamic, |args, _| pack(args, Leave::Nothing)),
    fixed("dynamic_to_json", T::String, dynamic_to_json),
    fixed("bag_keys", T::Dynamic, |args, _| match args.first() {
        Some(Value::Dynamic(d)) => match d.as_object() {
            Some(o) => Value::dynamic(J::Array(o.keys().map(|k| J::String(k.clone())).collect())),
            None => Value::Null,
        },
        _ => Value::Null,
    }),
    fixed("bag_has_key", T::Bool, |args, _| match args.first() {
        Some(Value::Dynamic(d)) => Value::Bool(
            d.as_object()
                .is_some_and(|o| o.contains_key(&text(args, 1))),
        ),
        _ => Value::Null,
    }),
    fixed("bag_merge", T::Dynamic, |args, _| {
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
    }),
    fixed("array_length", T::Long, |args, _| match args.first() {
        Some(Value::Dynamic(d)) => d
            .as_array()
            .map_or(Value::Null, |a| Value::Long(a.len() as i64)),
        _ => Value::Null,
    }),
    fixed("array_concat", T::Dynamic, |args, _| {
        let mut out = Vec::new();
        for a in args {
            out.extend(dynamic_array(a).unwrap_or_default());
        }
        Value::dynamic(J::Array(out))
    }),
    fixed("set_union", T::Dynamic, |args, _| {
        set_op(args, SetOp::Union)
    }),
    fixed("set_intersect", T::Dynamic, |args, _| {
        set_op(args, SetOp::Intersect)
    }),
    fixed("set_difference", T::Dynamic, |args, _| {
        set_op(args, SetOp::Difference)
    }),
    fixed("set_has_element", T::Bool, |args, _| {
        match dynamic_array(&args.first().cloned().unwrap_or(Value::Null)) {
            Some(items) => {
                let needle = json_of(&arg(args, 1));
                Value::Bool(items.contains(&needle))
            }
            None => Value::Null,
        }
    }),
    fixed("array_index_of", T::Long, |args, _| {
        match dynamic_array(&args.first().cloned().unwrap_or(Value::Null)) {
            Some(items) => position_of(&items, &[json_of(&arg(args, 1))], args),
            None => Value::Null,
        }
    }),
    fixed("treepath", T::Dynamic, |args, _| {
        match args.first().map(json_of) {
            Some(j @ (J::Object(_) | J::Array(_))) => {
                let mut paths = Vec::new();
                tree_paths(&j, "", &mut paths);
                Value::dynamic(J::Array(paths.into_iter().map(J::String).collect()))
            }
            _ => Value::Null,
        }
    })
    .builds(size::product::treepath),
    fixed("array_slice", T::Dynamic, |args, _| {
        match dynamic_array(&args.first().cloned().unwrap_or(Value::Null)) {
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
        }
    }),
    fixed("array_sort_asc", T::Dynamic, |args, _| {
        array_sort(args, false)
    }),
    fixed("array_sort_desc", T::Dynamic, |args, _| {
        array_sort(args, true)
    }),
    fixed("range", T::Dynamic, |args, _| {
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
                let (Some(x), Some(y), Some(s)) = (as_f64(&a), as_f64(&b), as_f64(&step)) else {
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
    })
    .builds(size::product::range),
    fixed("array_iff", T::Dynamic, |args, _| {
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
    })
    .builds(size::product::array_iff),
    fixed("array_split", T::Dynamic, |args, _| {
        match dynamic_array(&args.first().cloned().unwrap_or(Value::Null)) {
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
        }
    }),
    fixed("array_shift_left", T::Dynamic, |args, _| {
        array_shift(args, false, false)
    })
    .builds(size::product::array_shift),
    fixed("array_shift_right", T::Dynamic, |args, _| {
        array_shift(args, true, false)
    })
    .builds(size::product::array_shift),
    fixed("array_rotate_left", T::Dynamic, |args, _| {
        array_shift(args, false, true)
    })
    .builds(size::product::array_shift),
    fixed("array_rotate_right", T::Dynamic, |args, _| {
        array_shift(args, true, true)
    })
    .builds(size::product::array_shift),
    fixed("bag_zip", T::Dynamic, |args, _| {
        match (
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
        }
    }),
    // repeat(value, count): an array holding value count times.
    fixed("repeat", T::Dynamic, |args, _| {
        match as_i64(&arg(args, 1)) {
            Some(n) if n >= 0 => Value::dynamic(J::Array(vec![
                json_of(&arg(args, 0));
                n.min(1_048_576) as usize
            ])),
            _ => Value::Null,
        }
    })
    .builds(size::product::repeat),
    fixed("jaccard_index", T::Real, |args, _| {
        match (
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
        }
    }),
    fixed("array_reverse", T::Dynamic, |args, _| {
        match dynamic_array(&args.first().cloned().unwrap_or(Value::Null)) {
            Some(mut items) => {
                items.reverse();
                Value::dynamic(J::Array(items))
            }
            None => Value::Null,
        }
    }),
    fixed("array_sum", T::Real, |args, _| {
        match dynamic_array(&args.first().cloned().unwrap_or(Value::Null)) {
            Some(items) => Value::Real(items.iter().filter_map(J::as_f64).sum()),
            None => Value::Null,
        }
    }),
    fixed("zip", T::Dynamic, |args, _| {
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
    })
    .builds(size::product::zip),
    fixed("bag_remove_keys", T::Dynamic, |args, _| {
        match (args.first(), args.get(1).and_then(dynamic_array)) {
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
        }
    }),
    // The key is a property name or a JSONPath (`$.a.b`) whose missing bags are created.
    fixed("bag_set_key", T::Dynamic, |args, _| match args.first() {
        Some(Value::Dynamic(d)) if d.is_object() => {
            let key = text(args, 1);
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
    }),
    // extractjson(path, json[, typeof(T)]): the element as text, or converted to T.
    Function::new(
        "extractjson",
        &["extract_json"],
        Returns::Computed(|args| args.get(2).copied().unwrap_or(T::String)),
        |args, result| {
            let doc = match args.get(1).map(undyn) {
                Some(Value::String(t)) => serde_json::from_str::<J>(&t).ok(),
                Some(other) => Some(json_of(&other)),
                None => None,
            };
            let found = doc.and_then(|d| {
                let steps = json_path(&text(args, 0))?;
                json_at(&d, &steps).cloned()
            });
            match found {
                Some(j) => coerce(undyn(&Value::dynamic(j)), result),
                None if result == ScalarType::String => Value::str(""),
                None => Value::Null,
            }
        },
    )
    .grows(Growth::Json),
];

// `pack:nonempty` (what `pack_all(true)` compiles to) leaves out null and empty values.
/// What `pack_all(true)` compiles to: `pack` leaving out null and empty values (not a function
/// a query can name).
pub(crate) static PACK_NONEMPTY: Function = fixed("pack:nonempty", T::Dynamic, |args, _| {
    pack(args, Leave::NullOrEmpty)
});

/// What `find` packs into `pack_`: `pack` leaving out null values (not a function a query can
/// name).
pub(crate) static PACK_NONNULL: Function = fixed("pack:nonnull", T::Dynamic, |args, _| {
    pack(args, Leave::Null)
});

/// Which values [`pack`] leaves out of its bag.
#[derive(Clone, Copy, PartialEq)]
enum Leave {
    Nothing,
    Null,
    NullOrEmpty,
}

/// `dynamic_to_json(value)`: an array or a bag as canonical JSON (a bag's properties sorted by
/// name, at every depth); any other value as `tostring` writes it.
fn dynamic_to_json(args: &[Value], _: ScalarType) -> Value {
    match args.first() {
        Some(Value::Dynamic(d)) if d.is_array() || d.is_object() => {
            let mut out = String::new();
            canonical_json(d, &mut out);
            Value::str(out)
        }
        Some(other) => Value::str(to_text(other)),
        None => Value::Null,
    }
}

/// Writes `j` as compact JSON with every bag's keys in ordinal order (nesting is bounded by
/// the parsers that build dynamic values).
fn canonical_json(j: &J, out: &mut String) {
    match j {
        J::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(item, out);
            }
            out.push(']');
        }
        J::Object(bag) => {
            let mut keys: Vec<&String> = bag.keys().collect();
            keys.sort_unstable();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&J::String(key.clone()).to_string());
                out.push(':');
                canonical_json(&bag[key], out);
            }
            out.push('}');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// A bag of the key and value pairs in `args`, without the values `leave` leaves out.
fn pack(args: &[Value], leave: Leave) -> Value {
    let mut map = serde_json::Map::new();
    for pair in args.chunks(2) {
        if let [k, v] = pair {
            let left = match undyn(v) {
                Value::Null => leave != Leave::Nothing,
                Value::String(t) => t.is_empty() && leave == Leave::NullOrEmpty,
                _ => false,
            };
            if !left {
                map.insert(to_text(k), json_of(v));
            }
        }
    }
    Value::dynamic(J::Object(map))
}

/// Which set `set_op` makes of its arrays.
#[derive(Clone, Copy, PartialEq)]
enum SetOp {
    Union,
    Intersect,
    Difference,
}

/// `set_union`, `set_intersect` or `set_difference` of the arrays in `args`.
fn set_op(args: &[Value], op: SetOp) -> Value {
    let sets: Vec<Vec<J>> = args
        .iter()
        .map(|a| dynamic_array(a).unwrap_or_default())
        .collect();
    let mut out: Vec<J> = Vec::new();
    let first = sets.first().cloned().unwrap_or_default();
    let candidates: Vec<J> = if op == SetOp::Union {
        sets.concat()
    } else {
        first
    };
    for c in candidates {
        // Each candidate is looked for in every set, and in the result so far.
        if crate::budget::check().is_err() {
            return Value::Null;
        }
        let keep = match op {
            SetOp::Intersect => sets.iter().skip(1).all(|s| s.contains(&c)),
            SetOp::Difference => !sets.iter().skip(1).any(|s| s.contains(&c)),
            SetOp::Union => true,
        };
        if keep && !out.contains(&c) {
            out.push(c);
        }
    }
    Value::dynamic(J::Array(out))
}

/// array_sort_asc(a1[, a2, …][, nulls_last]) (or `descending`): sorts a1 (nulls last unless
/// asked otherwise) and reorders the other arrays the same way, null for one of another length;
/// several arrays come back as an array of arrays, which `extend`/`project`/`print` spread
/// into columns.
fn array_sort(args: &[Value], descending: bool) -> Value {
    let arrays: Vec<Vec<J>> = args.iter().map_while(dynamic_array).collect();
    let nulls_last = match args.get(arrays.len()).map(undyn) {
        Some(Value::Bool(b)) => b,
        _ => true,
    };
    let Some(first) = arrays.first() else {
        return Value::Null;
    };
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
            _ if descending => crate::value::convert::sort_cmp(b, a),
            _ => crate::value::convert::sort_cmp(a, b),
        }
    });
    let sorted: Vec<J> = arrays
        .iter()
        .map(|arr| {
            if arr.len() == first.len() {
                J::Array(order.iter().map(|&i| arr[i].clone()).collect())
            } else {
                J::Null
            }
        })
        .collect();
    match <[J; 1]>::try_from(sorted) {
        Ok([one]) => Value::dynamic(one),
        Err(many) => Value::dynamic(J::Array(many)),
    }
}

/// `array_shift_*` (`rotate` false) and `array_rotate_*` by the second argument, to the left
/// or to the `right`.
fn array_shift(args: &[Value], right: bool, rotate: bool) -> Value {
    match dynamic_array(&args.first().cloned().unwrap_or(Value::Null)) {
        Some(items) if !items.is_empty() => {
            // In i128: a shift by any i64 (even its minimum, negated) cannot overflow.
            let len = items.len() as i128;
            let by = i128::from(as_i64(&arg(args, 1)).unwrap_or(0));
            let by = if right { -by } else { by };
            let fill = args.get(2).map_or(J::Null, json_of);
            let out = (0..len)
                .map(|i| {
                    let src = i + by;
                    if rotate {
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

/// One step of a JSONPath: a property or an array index.
pub(super) enum PathStep {
    Key(String),
    Index(i64),
}

/// Parses the JSONPath subset Kusto accepts: `$`, `.name`, `['name']`, `["name"]`, `[index]`.
pub(super) fn json_path(path: &str) -> Option<Vec<PathStep>> {
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
pub(super) fn json_at<'j>(mut j: &'j J, steps: &[PathStep]) -> Option<&'j J> {
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
pub(super) fn json_set(j: &mut J, steps: &[PathStep], value: J) -> Option<()> {
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

/// `treepath`: the paths (`['a'][0]['b']`) of every bag property and array element, arrays
/// collapsed to their element `[0]`, in the order first seen.
pub(super) fn tree_paths(j: &J, prefix: &str, out: &mut Vec<String>) {
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
