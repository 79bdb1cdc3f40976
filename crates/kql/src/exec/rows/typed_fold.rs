//! The typed fold: a `summarize` of the common shapes, a chunk of rows at a time. Its keys and
//! aggregate arguments are evaluated for the chunk into typed vectors (longs and ticks, reals,
//! strings), each row's group is found once (a hash of a number or a string, no `Key` made per
//! row), then each aggregate folds its vector into plain accumulators. At the end they become
//! the row fold's states (`AggState`), finished as the row fold's are. A shape it does not
//! cover, or a value of another type than its column's, leaves the `summarize` to the row fold
//! (`Folder`).

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::bind::context::Engine;
use crate::bind::eval::eval;
use crate::bind::expr::{AggSpec, CExpr, Row};
use crate::error::KqlError;
use crate::exec::{MAX_ROWS, RangeSteps, int_value, range_too_long};
use crate::functions::aggregate::{AggState, Fold};
use crate::functions::arith::{int_op, real_op};
use crate::syntax::ast::BinOp;
use crate::value::convert::coerce;
use crate::value::table::Column;
use crate::value::{ScalarType, Value};

use super::input::Input;
use super::ops::Groups;

/// Rows per chunk: vectors that stay small, and the budget checked between chunks.
const CHUNK: usize = 1024;

// aHash with a random seed, as the row fold's groups: resistant to values crafted to collide.
type Map<K, V> = HashMap<K, V, ahash::RandomState>;
type Set<K> = HashSet<K, ahash::RandomState>;

/// What a vector holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Longs, datetimes or timespans (which of them) as i64.
    Int(ScalarType),
    Real,
    Text,
}

impl Kind {
    fn of(ty: ScalarType) -> Option<Kind> {
        match ty {
            ScalarType::Long | ScalarType::DateTime | ScalarType::TimeSpan => Some(Kind::Int(ty)),
            ScalarType::Real => Some(Kind::Real),
            ScalarType::String => Some(Kind::Text),
            _ => None,
        }
    }
}

/// One chunk's values of an expression (`None` is null).
#[derive(Clone)]
enum Vector<'v> {
    Ints(Vec<Option<i64>>),
    Reals(Vec<Option<f64>>),
    Texts(Vec<Option<Cow<'v, Arc<str>>>>),
}

impl<'v> Vector<'v> {
    /// The vector of `kind` of `cells` (`n` of them), each converted to `to` if given; None when
    /// one is neither null nor of `kind`.
    #[inline]
    fn of(
        kind: Kind,
        to: Option<ScalarType>,
        n: usize,
        cells: impl Iterator<Item = Cow<'v, Value>>,
    ) -> Option<Self> {
        // A cell not of the kind is converted (a key), and the conversion read again.
        let convert = |v: Cow<'v, Value>| Some(Cow::Owned(coerce(v.into_owned(), to?)));
        Some(match kind {
            Kind::Int(ty) => {
                let mut xs = Vec::with_capacity(n);
                for v in cells {
                    xs.push(match int_cell(&v, ty) {
                        Some(x) => x,
                        None => int_cell(&*convert(v)?, ty)?,
                    });
                }
                Vector::Ints(xs)
            }
            Kind::Real => {
                let mut xs = Vec::with_capacity(n);
                for v in cells {
                    xs.push(match real_cell(&v) {
                        Some(x) => x,
                        None => real_cell(&*convert(v)?)?,
                    });
                }
                Vector::Reals(xs)
            }
            Kind::Text => {
                let mut xs = Vec::with_capacity(n);
                for v in cells {
                    let v = match (&*v, to) {
                        (Value::String(_), _) | (Value::Null, None) => v,
                        _ => convert(v)?,
                    };
                    xs.push(match v {
                        Cow::Borrowed(Value::String(s)) => Some(Cow::Borrowed(s)),
                        Cow::Owned(Value::String(s)) => Some(Cow::Owned(s)),
                        v if v.is_null() => None,
                        _ => return None,
                    });
                }
                Vector::Texts(xs)
            }
        })
    }

    fn len(&self) -> usize {
        match self {
            Vector::Ints(xs) => xs.len(),
            Vector::Reals(xs) => xs.len(),
            Vector::Texts(xs) => xs.len(),
        }
    }

    /// The values as reals (longs converted, as arithmetic on a long and a real converts them).
    fn reals(&self) -> Option<Cow<'_, [Option<f64>]>> {
        match self {
            Vector::Ints(xs) => Some(Cow::Owned(xs.iter().map(|x| x.map(|x| x as f64)).collect())),
            Vector::Reals(xs) => Some(Cow::Borrowed(xs)),
            Vector::Texts(_) => None,
        }
    }
}

/// A cell of longs, datetimes or timespans (`ty`): `Some(None)` for null, None for a value of
/// another type.
#[inline]
fn int_cell(v: &Value, ty: ScalarType) -> Option<Option<i64>> {
    match (v, ty) {
        (Value::Null, _) => Some(None),
        (Value::Long(x), ScalarType::Long)
        | (Value::DateTime(x), ScalarType::DateTime)
        | (Value::TimeSpan(x), ScalarType::TimeSpan) => Some(Some(*x)),
        _ => None,
    }
}

/// A cell of reals: `Some(None)` for null, None for a value of another type.
#[inline]
fn real_cell(v: &Value) -> Option<Option<f64>> {
    match v {
        Value::Null => Some(None),
        Value::Real(x) => Some(Some(*x)),
        _ => None,
    }
}

/// The next values of a `range` of `kind`, a chunk of them (none at its end); None when they are
/// not of the kind.
fn range_chunk(steps: &mut RangeSteps, kind: Kind) -> Option<Vector<'static>> {
    if Kind::of(steps.ty()) != Some(kind) {
        return None;
    }
    match kind {
        Kind::Int(_) => steps.next_ints(CHUNK).map(Vector::Ints),
        Kind::Real => steps.next_reals(CHUNK).map(Vector::Reals),
        Kind::Text => None,
    }
}

/// The value a cell lacks.
static NULL: Value = Value::Null;

/// The rows of one chunk.
#[derive(Clone, Copy)]
enum Chunk<'c> {
    /// Rows of a table, at these positions.
    Rows(&'c [Vec<Value>], &'c [usize]),
    /// A `range`'s values (of the kind), its one column.
    Range(&'c Vector<'c>, Kind),
}

impl<'c> Chunk<'c> {
    fn len(self) -> usize {
        match self {
            Chunk::Rows(_, at) => at.len(),
            Chunk::Range(values, _) => values.len(),
        }
    }

    /// Column `col` of each row, borrowed (converted to `to`, as the row fold converts a key).
    fn column(self, col: usize, kind: Kind, to: Option<ScalarType>) -> Option<Cow<'c, Vector<'c>>> {
        let n = self.len();
        match self {
            Chunk::Rows(rows, at) => {
                let cell = |&i: &usize| rows.get(i).and_then(|r| r.get(col)).unwrap_or(&NULL);
                // A column of strings, the common read, borrowed without the general path's
                // conversions; a cell it would convert sends the column there.
                if kind == Kind::Text && to.is_none_or(|ty| ty == ScalarType::String) {
                    let mut texts = Vec::with_capacity(n);
                    for i in at {
                        texts.push(match cell(i) {
                            Value::String(s) => Some(Cow::Borrowed(s)),
                            Value::Null if to.is_none() => None,
                            _ => break,
                        });
                    }
                    if texts.len() == n {
                        return Some(Cow::Owned(Vector::Texts(texts)));
                    }
                }
                Vector::of(kind, to, n, at.iter().map(cell).map(Cow::Borrowed)).map(Cow::Owned)
            }
            // The range's own values, the common read, are copied whole.
            Chunk::Range(values, of)
                if col == 0 && of == kind && to.is_none_or(|ty| Kind::of(ty) == Some(kind)) =>
            {
                Some(Cow::Borrowed(values))
            }
            Chunk::Range(values, of) => {
                let cell = |row| {
                    Cow::Owned(if col == 0 {
                        value_at(values, of, row)
                    } else {
                        Value::Null
                    })
                };
                Vector::of(kind, to, n, (0..n).map(cell)).map(Cow::Owned)
            }
        }
    }

    /// `e` evaluated on each row (converted to `to`).
    fn each(self, e: &CExpr, kind: Kind, to: Option<ScalarType>) -> Option<Vector<'c>> {
        let mut values = Vec::with_capacity(self.len());
        match self {
            Chunk::Rows(rows, at) => {
                values.extend(at.iter().map(|&idx| eval(e, Row { rows, idx })));
            }
            Chunk::Range(cells, of) => {
                // One row, rewritten value after value, as the row fold reads a range.
                let mut row = [Vec::with_capacity(1)];
                for i in 0..cells.len() {
                    row[0].clear();
                    row[0].push(value_at(cells, of, i));
                    values.push(eval(e, Row { rows: &row, idx: 0 }));
                }
            }
        }
        Vector::of(kind, to, values.len(), values.into_iter().map(Cow::Owned))
    }
}

/// How a chunk's vector of an expression is made.
enum Plan<'s> {
    /// A column of the input.
    Col(usize),
    /// A literal, the same in every row.
    Lit(&'s Value),
    /// Arithmetic on two vectors of longs or reals.
    Arith(BinOp, Box<Typed<'s>>, Box<Typed<'s>>),
    /// Any other expression, evaluated row by row.
    Each(&'s CExpr),
}

/// An expression's plan and the kind of its values.
struct Typed<'s> {
    plan: Plan<'s>,
    kind: Kind,
    /// The type a key's values are converted to, as the row fold converts them.
    to: Option<ScalarType>,
}

/// The plan of `e` over rows of `columns`: None when its values' type is not known from binding
/// or it reads other rows than its own.
fn typed<'s>(e: &'s CExpr, columns: &[Column]) -> Option<Typed<'s>> {
    let (plan, kind) = match e {
        CExpr::Col(i) => (Plan::Col(*i), Kind::of(columns.get(*i)?.ty)?),
        CExpr::Lit(v) => (Plan::Lit(v), Kind::of(v.scalar_type()?)?),
        CExpr::Bin(op @ (BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod), l, r) => {
            let (l, r) = (typed(l, columns)?, typed(r, columns)?);
            const LONG: Kind = Kind::Int(ScalarType::Long);
            let kind = match (l.kind, r.kind) {
                (LONG, LONG) => LONG,
                (LONG | Kind::Real, LONG | Kind::Real) => Kind::Real,
                _ => return None,
            };
            (Plan::Arith(*op, Box::new(l), Box::new(r)), kind)
        }
        CExpr::Call { ty, .. } if !e.reads_other_rows() => (Plan::Each(e), Kind::of(*ty)?),
        _ => return None,
    };
    Some(Typed {
        plan,
        kind,
        to: None,
    })
}

/// The plan of a key bound as `col`: its values converted to the column's type, as the row fold
/// converts them.
fn key_plan<'s>(e: &'s CExpr, col: &Column, columns: &[Column]) -> Option<Typed<'s>> {
    let kind = Kind::of(col.ty)?;
    if e.reads_other_rows() {
        return None;
    }
    let plan = match typed(e, columns) {
        Some(t) if t.kind == kind => t.plan,
        _ => Plan::Each(e),
    };
    Some(Typed {
        plan,
        kind,
        to: Some(col.ty),
    })
}

impl<'s> Typed<'s> {
    /// The expression's values in `chunk`; None when one is not of its kind.
    fn vector<'v>(&self, chunk: Chunk<'v>) -> Option<Cow<'v, Vector<'v>>>
    where
        's: 'v,
    {
        Some(Cow::Owned(match &self.plan {
            Plan::Col(i) => return chunk.column(*i, self.kind, self.to),
            Plan::Lit(v) => {
                let one = Vector::of(self.kind, self.to, 1, std::iter::once(Cow::Borrowed(*v)))?;
                let n = chunk.len();
                match one {
                    Vector::Ints(x) => Vector::Ints(vec![x.first().copied().flatten(); n]),
                    Vector::Reals(x) => Vector::Reals(vec![x.first().copied().flatten(); n]),
                    Vector::Texts(x) => Vector::Texts(vec![x.first().cloned().flatten(); n]),
                }
            }
            Plan::Each(e) => chunk.each(e, self.kind, self.to)?,
            Plan::Arith(op, l, r) => {
                let op = *op;
                // A long literal on the right (`i / 100`) is one value, not a vector of it.
                if let Plan::Lit(Value::Long(y)) = r.plan
                    && l.kind == Kind::Int(ScalarType::Long)
                    && let Vector::Ints(x) = &*l.vector(chunk)?
                {
                    return Some(Cow::Owned(Vector::Ints(ints_op(op, x, *y))));
                }
                match (&*l.vector(chunk)?, &*r.vector(chunk)?) {
                    (Vector::Ints(x), Vector::Ints(y)) => Vector::Ints(
                        x.iter()
                            .zip(y)
                            .map(|(x, y)| int_op(op, (*x)?, (*y)?))
                            .collect(),
                    ),
                    (x, y) => Vector::Reals(
                        x.reals()?
                            .iter()
                            .zip(y.reals()?.iter())
                            .map(|(x, y)| Some(real_op(op, (*x)?, (*y)?)))
                            .collect(),
                    ),
                }
            }
        }))
    }
}

/// A key's values in a chunk: a vector, with the operation on a long when the key is one of a
/// long (`i / 100`), applied as the values are numbered rather than into a vector of its own.
struct KeyValues<'v> {
    values: Cow<'v, Vector<'v>>,
    op: Option<(BinOp, i64)>,
}

impl KeyValues<'_> {
    /// The value in row `row` (of `kind`), as a group's key.
    fn value_at(&self, kind: Kind, row: usize) -> Value {
        match (&*self.values, self.op, kind) {
            (Vector::Ints(xs), Some((op, y)), Kind::Int(ty)) => {
                let x = xs.get(row).copied().flatten();
                x.and_then(|x| int_op(op, x, y))
                    .map_or(Value::Null, |x| int_value(ty, x))
            }
            (values, _, _) => value_at(values, kind, row),
        }
    }
}

impl<'s> Typed<'s> {
    /// A key's values in `chunk`; None when one is not of its kind.
    fn key_values<'v>(&self, chunk: Chunk<'v>) -> Option<KeyValues<'v>>
    where
        's: 'v,
    {
        if let Plan::Arith(op, l, r) = &self.plan
            && let Plan::Lit(Value::Long(y)) = r.plan
            && l.kind == Kind::Int(ScalarType::Long)
        {
            let values = l.vector(chunk)?;
            if matches!(*values, Vector::Ints(_)) {
                let op = Some((*op, *y));
                return Some(KeyValues { values, op });
            }
        }
        let values = self.vector(chunk)?;
        Some(KeyValues { values, op: None })
    }
}

/// `x op y` of each long `x` (null stays null). Each operator is a loop of its own (a closure
/// type each), rather than a match on the operator for every value.
fn ints_op(op: BinOp, xs: &[Option<i64>], y: i64) -> Vec<Option<i64>> {
    fn each(xs: &[Option<i64>], f: impl Fn(i64) -> Option<i64>) -> Vec<Option<i64>> {
        xs.iter().map(|x| f((*x)?)).collect()
    }
    match op {
        BinOp::Add => each(xs, |x| int_op(BinOp::Add, x, y)),
        BinOp::Sub => each(xs, |x| int_op(BinOp::Sub, x, y)),
        BinOp::Mul => each(xs, |x| int_op(BinOp::Mul, x, y)),
        BinOp::Div => each(xs, |x| int_op(BinOp::Div, x, y)),
        _ => each(xs, |x| int_op(op, x, y)),
    }
}

/// One key's values numbered in the order first seen. A null string is the empty string, as
/// the row fold converts it.
enum KeyIds {
    Ints(Map<Option<i64>, u32>),
    Texts(Map<Arc<str>, u32>),
}

impl KeyIds {
    fn new(kind: Kind) -> Option<Self> {
        match kind {
            Kind::Int(_) => Some(KeyIds::Ints(Map::default())),
            Kind::Text => Some(KeyIds::Texts(Map::default())),
            // A real key groups as `key_of` normalizes it: left to the row fold.
            Kind::Real => None,
        }
    }

    /// Each value's number, and the runs of equal values, in `out`.
    fn ids(&mut self, v: &KeyValues<'_>, out: &mut Spans) -> Option<()> {
        match (self, &*v.values) {
            (KeyIds::Ints(map), Vector::Ints(xs)) => {
                match v.op {
                    None => number_ints(xs, out, map, |x| x),
                    // Each operator numbers in a loop of its own (a closure type each), as `ints_op`.
                    Some((BinOp::Add, y)) => {
                        number_ints(xs, out, map, |x| int_op(BinOp::Add, x?, y))
                    }
                    Some((BinOp::Sub, y)) => {
                        number_ints(xs, out, map, |x| int_op(BinOp::Sub, x?, y))
                    }
                    Some((BinOp::Mul, y)) => {
                        number_ints(xs, out, map, |x| int_op(BinOp::Mul, x?, y))
                    }
                    Some((BinOp::Div, y)) => {
                        number_ints(xs, out, map, |x| int_op(BinOp::Div, x?, y))
                    }
                    Some((op, y)) => number_ints(xs, out, map, |x| int_op(op, x?, y)),
                }
                Some(())
            }
            (KeyIds::Texts(map), Vector::Texts(xs)) => {
                // As `number_runs`, written out: its closures cost a string hash's worth here.
                // Its runs are counted, and found afterwards if few.
                let rows = &mut out.rows;
                rows.clear();
                rows.reserve(xs.len());
                let mut runs = 0;
                let mut last: Option<(&str, u32)> = None;
                for x in xs {
                    let s = text(x);
                    let id = match last {
                        Some((k, id)) if k == s => id,
                        _ => {
                            runs += 1;
                            let id = match map.get(s) {
                                Some(&id) => id,
                                None => {
                                    let id = map.len() as u32;
                                    // The row's string shared, not copied.
                                    let owned =
                                        x.as_ref().map_or_else(|| Arc::from(""), |s| (**s).clone());
                                    map.insert(owned, id);
                                    id
                                }
                            };
                            last = Some((s, id));
                            id
                        }
                    };
                    rows.push(id);
                }
                out.runs.clear();
                if runs <= Spans::most_runs(xs.len()) {
                    // Numbered again by themselves: the same numbers, and their runs.
                    let ids = std::mem::take(&mut out.rows);
                    number_runs(&ids, out, |id| *id, |id| id);
                }
                Some(())
            }
            _ => None,
        }
    }
}

/// Each of `xs`, as `key` makes it, numbered in `map` (in the order first seen), and the runs
/// of equal keys, in `out`.
fn number_ints(
    xs: &[Option<i64>],
    out: &mut Spans,
    map: &mut Map<Option<i64>, u32>,
    key: impl Fn(Option<i64>) -> Option<i64>,
) {
    number_runs(
        xs,
        out,
        |x| key(*x),
        |k| {
            let next = map.len() as u32;
            *map.entry(k).or_insert(next)
        },
    )
}

/// Each of `xs` numbered by `number` of its `key`, and the runs of equal keys, in `out`. Keys
/// often come in runs (time bins, sorted rows): a run's next values are only compared, not
/// numbered (a hash).
fn number_runs<T, K: PartialEq>(
    xs: &[T],
    out: &mut Spans,
    key: impl Fn(&T) -> K,
    mut number: impl FnMut(K) -> u32,
) {
    let (rows, runs) = (&mut out.rows, &mut out.runs);
    rows.clear();
    runs.clear();
    let (mut rest, most, mut many) = (xs, Spans::most_runs(xs.len()), false);
    // Sized once: the fills below would grow them run after run.
    rows.reserve(xs.len());
    runs.reserve(most);
    // A run at a time: its values' keys compared with its first's in a tight loop, its number
    // written as a fill.
    while let Some((x, after)) = rest.split_first() {
        let k = key(x);
        let len = 1 + after.iter().take_while(|y| key(y) == k).count();
        let id = number(k);
        rows.extend(std::iter::repeat_n(id, len));
        many = many || runs.len() == most;
        if !many {
            runs.push((id, rows.len()));
        }
        rest = after.get(len - 1..).unwrap_or_default();
    }
    if many {
        runs.clear();
    }
}

/// A key's string: a null is the empty string, as the row fold converts it.
fn text<'a>(x: &'a Option<Cow<'_, Arc<str>>>) -> &'a str {
    x.as_ref().map_or("", |s| s)
}

/// The value in row `row` of a vector of `kind` (a null string is the empty string, as the row
/// fold converts a key).
fn value_at(v: &Vector<'_>, kind: Kind, row: usize) -> Value {
    match (v, kind) {
        (Vector::Ints(xs), Kind::Int(ty)) => xs
            .get(row)
            .copied()
            .flatten()
            .map_or(Value::Null, |x| int_value(ty, x)),
        (Vector::Reals(xs), _) => xs
            .get(row)
            .copied()
            .flatten()
            .map_or(Value::Null, Value::Real),
        (Vector::Texts(xs), _) => match xs.get(row) {
            Some(Some(s)) => Value::String((**s).clone()),
            _ => Value::str(""),
        },
        _ => Value::Null,
    }
}

/// Each row's group: each key's values numbered in the order first seen, then with several keys
/// each combination numbered the same way, so that a group's number is its place in the order
/// groups are first seen (the row fold's order).
struct Grouping {
    keys: Vec<(KeyIds, Kind)>,
    /// For each key after the first: (the number of the keys before, its value's) → theirs.
    combos: Vec<Map<(u32, u32), u32>>,
    /// Each group's key values.
    group_keys: Vec<Vec<Value>>,
    /// Room left in each group's key values for its aggregates' values, which `summarize`
    /// appends: the vector made once at its full size.
    room: usize,
    /// The numbers of a later key's values, reused chunk after chunk.
    ids: Spans,
}

impl Grouping {
    /// Each row's group in `spans`, opening groups (with their key values) as they are first
    /// seen.
    fn assign(&mut self, n: usize, keys: &[KeyValues<'_>], spans: &mut Spans) -> Option<()> {
        let Some(((first, _), rest)) = self.keys.split_first_mut() else {
            // No key: one group, opened by the first row, one run.
            if n > 0 && self.group_keys.is_empty() {
                self.group_keys.push(Vec::with_capacity(self.room));
            }
            number_runs(&vec![(); n], spans, |_| (), |_| 0);
            return Some(());
        };
        first.ids(keys.first()?, spans)?;
        for (((ids, _), combos), v) in rest.iter_mut().zip(&mut self.combos).zip(keys.get(1..)?) {
            ids.ids(v, &mut self.ids)?;
            let pairs: Vec<(u32, u32)> = (spans.rows.iter().copied())
                .zip(self.ids.rows.iter().copied())
                .collect();
            number_runs(
                &pairs,
                spans,
                |pair| *pair,
                |pair| {
                    let next = combos.len() as u32;
                    *combos.entry(pair).or_insert(next)
                },
            );
        }
        // Groups open in the order of their numbers: the next to open is the one after the last,
        // at the first row of a run (so a run opens one at most).
        self.group_keys.reserve(spans.runs.len());
        let mut next = self.group_keys.len() as u32;
        let mut open = |row: usize| {
            let mut values = Vec::with_capacity(keys.len() + self.room);
            values.extend(
                keys.iter()
                    .zip(&self.keys)
                    .map(|(v, (_, kind))| v.value_at(*kind, row)),
            );
            self.group_keys.push(values);
        };
        // Two plain loops: through an iterator of either, the check per row costs ten times more.
        if spans.runs.is_empty() {
            for (row, &g) in spans.rows.iter().enumerate() {
                if g == next {
                    open(row);
                    next += 1;
                }
            }
        } else {
            for (row, g) in spans.run_starts() {
                if g == next {
                    open(row);
                    next += 1;
                }
            }
        }
        Some(())
    }
}

/// Each row's group in a chunk: row by row and, when the rows come in long runs of one group
/// (binned or sorted keys), as those runs too, so that an aggregate folds a run's values in one
/// tight loop into its group's accumulator.
#[derive(Default)]
struct Spans {
    rows: Vec<u32>,
    /// (group, the end of its run) in row order; empty when the runs are short (their finders
    /// stop recording them past `most_runs`).
    runs: Vec<(u32, usize)>,
}

impl Spans {
    /// The rows a run needs on average to be folded by runs.
    const RUN: usize = 4;

    /// The most runs `n` rows are folded by: more, shorter runs cost more in the loop per run
    /// than they save.
    fn most_runs(n: usize) -> usize {
        n / Self::RUN
    }

    /// Each run's first row and group.
    fn run_starts(&self) -> impl Iterator<Item = (usize, u32)> + '_ {
        let starts = std::iter::once(0).chain(self.runs.iter().map(|(_, end)| *end));
        starts.zip(self.runs.iter().map(|(g, _)| *g))
    }

    /// Folds `xs` (a value per row) into their groups' `states`: `f(group, state, value)`. A
    /// run finds its group's state once and folds its values in a loop that keeps the state in
    /// registers. None when `xs` is not a value per row or a group has no state.
    fn fold<T, S>(
        &self,
        states: &mut [S],
        xs: &[T],
        mut f: impl FnMut(usize, &mut S, &T),
    ) -> Option<()> {
        if xs.len() != self.rows.len() {
            return None;
        }
        if self.runs.is_empty() {
            for (&g, x) in self.rows.iter().zip(xs) {
                f(g as usize, states.get_mut(g as usize)?, x);
            }
        } else {
            for ((start, g), (_, end)) in self.run_starts().zip(&self.runs) {
                let (g, run) = (g as usize, xs.get(start..*end)?);
                let state = states.get_mut(g)?;
                run.iter().for_each(|x| f(g, state, x));
            }
        }
        Some(())
    }
}

/// `v` made `n` long (with `fill`), as a slice: a loop over it keeps its start and length in
/// registers, where a `Vec` behind a `&mut` is read again after every write.
fn sized<T: Clone>(v: &mut Vec<T>, n: usize, fill: T) -> &mut [T] {
    v.resize(n, fill);
    v
}

/// One aggregate's accumulators, one a group.
enum Acc {
    Count(Vec<i64>),
    SumInts(Vec<i64>),
    SumReals(Vec<f64>),
    Avg(Vec<(f64, i64)>),
    /// `min` or `max` (the bool: max) of longs, datetimes or timespans (the type).
    BestInts(Vec<Option<i64>>, ScalarType, bool),
    BestReals(Vec<Option<f64>>, bool),
    BestTexts(Vec<Option<Arc<str>>>, bool),
    /// Each group's distinct values (strings by their numbers) and how many.
    Distinct {
        seen: Set<(u32, i64)>,
        counts: Vec<i64>,
        texts: Option<KeyIds>,
    },
}

/// Whether `v` replaces `best` in a `min` (or a `max`), as the row fold compares them: the first
/// value, then only a value that compares below (above) it.
fn better<T: PartialOrd + ?Sized>(v: &T, best: Option<&T>, max: bool) -> bool {
    best.is_none_or(|b| {
        v.partial_cmp(b)
            .is_some_and(|o| if max { o.is_gt() } else { o.is_lt() })
    })
}

impl Acc {
    /// The accumulators of `fold` over an argument of `kind` (no argument: `None`); None when the
    /// typed fold does not run it.
    fn new(fold: Fold, kind: Option<Kind>) -> Option<Acc> {
        Some(match (fold, kind) {
            (Fold::Count, None) => Acc::Count(Vec::new()),
            (Fold::Sum, Some(Kind::Int(ScalarType::Long | ScalarType::TimeSpan))) => {
                Acc::SumInts(Vec::new())
            }
            (Fold::Sum, Some(Kind::Real)) => Acc::SumReals(Vec::new()),
            (Fold::Avg, Some(Kind::Int(_) | Kind::Real)) => Acc::Avg(Vec::new()),
            (Fold::Min | Fold::Max, Some(kind)) => {
                let max = fold == Fold::Max;
                match kind {
                    Kind::Int(ty) => Acc::BestInts(Vec::new(), ty, max),
                    Kind::Real => Acc::BestReals(Vec::new(), max),
                    Kind::Text => Acc::BestTexts(Vec::new(), max),
                }
            }
            (Fold::Distinct, Some(kind @ (Kind::Int(_) | Kind::Text))) => Acc::Distinct {
                seen: Set::default(),
                counts: Vec::new(),
                texts: KeyIds::new(kind).filter(|_| kind == Kind::Text),
            },
            _ => return None,
        })
    }

    /// Folds a chunk: each row into its group's accumulator (of `n` groups) with its value of
    /// the argument; `ids` a buffer. None when the argument is not of the kind planned.
    fn add(
        &mut self,
        spans: &Spans,
        n: usize,
        arg: Option<&Vector<'_>>,
        ids: &mut Spans,
    ) -> Option<()> {
        match (self, arg) {
            (Acc::Count(counts), _) => {
                // A unit a row: a vector that takes no memory.
                let units = vec![(); spans.rows.len()];
                spans.fold(sized(counts, n, 0), &units, |_, c, ()| *c += 1)
            }
            // A null adds zero, which wraps as skipping it does, without a branch a row.
            (Acc::SumInts(sums), Some(Vector::Ints(xs))) => {
                spans.fold(sized(sums, n, 0), xs, |_, sum, x| {
                    *sum = sum.wrapping_add(x.unwrap_or(0));
                })
            }
            (Acc::SumReals(sums), Some(Vector::Reals(xs))) => {
                spans.fold(sized(sums, n, 0.0), xs, |_, sum, x| {
                    if let Some(x) = x {
                        *sum += x;
                    }
                })
            }
            (Acc::Avg(avgs), Some(arg)) => {
                let avgs = sized(avgs, n, (0.0, 0));
                let add = |(sum, count): &mut (f64, i64), x: f64| {
                    *sum += x;
                    *count += 1;
                };
                match arg {
                    Vector::Ints(xs) => spans.fold(avgs, xs, |_, avg, x| {
                        if let Some(x) = x {
                            add(avg, *x as f64);
                        }
                    }),
                    Vector::Reals(xs) => spans.fold(avgs, xs, |_, avg, x| {
                        if let Some(x) = x {
                            add(avg, *x);
                        }
                    }),
                    Vector::Texts(_) => None,
                }
            }
            (Acc::BestInts(best, _, max), Some(Vector::Ints(xs))) => {
                let max = *max;
                spans.fold(sized(best, n, None), xs, |_, b, x| {
                    if let Some(x) = x
                        && better(x, b.as_ref(), max)
                    {
                        *b = Some(*x);
                    }
                })
            }
            (Acc::BestReals(best, max), Some(Vector::Reals(xs))) => {
                let max = *max;
                spans.fold(sized(best, n, None), xs, |_, b, x| {
                    if let Some(x) = x
                        && better(x, b.as_ref(), max)
                    {
                        *b = Some(*x);
                    }
                })
            }
            (Acc::BestTexts(best, max), Some(Vector::Texts(xs))) => {
                let max = *max;
                spans.fold(sized(best, n, None), xs, |_, b, x| {
                    if let Some(x) = x
                        && better::<str>(x, b.as_deref(), max)
                    {
                        *b = Some((**x).clone());
                    }
                })
            }
            (
                Acc::Distinct {
                    seen,
                    counts,
                    texts,
                },
                Some(arg),
            ) => {
                let counts = sized(counts, n, 0);
                let mut add = |g: usize, count: &mut i64, x: i64| {
                    if seen.insert((g as u32, x)) {
                        *count += 1;
                    }
                };
                match (arg, texts) {
                    (Vector::Ints(xs), None) => spans.fold(counts, xs, |g, count, x| {
                        if let Some(x) = x {
                            add(g, count, *x);
                        }
                    }),
                    // A string is counted by its number.
                    (Vector::Texts(xs), Some(texts)) => {
                        let values = KeyValues {
                            values: Cow::Borrowed(arg),
                            op: None,
                        };
                        texts.ids(&values, ids)?;
                        let numbered: Vec<_> = xs.iter().zip(ids.rows.iter()).collect();
                        spans.fold(counts, &numbered, |g, count, (x, id)| {
                            if x.is_some() {
                                add(g, count, i64::from(**id));
                            }
                        })
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// Group `g`'s state, as the row fold would have left it.
    fn state(&self, g: usize) -> AggState {
        match self {
            Acc::Count(counts) => AggState::Count(counts.get(g).copied().unwrap_or(0)),
            Acc::SumInts(sums) => AggState::Sum {
                long: sums.get(g).copied().unwrap_or(0),
                real: 0.0,
            },
            Acc::SumReals(sums) => AggState::Sum {
                long: 0,
                real: sums.get(g).copied().unwrap_or(0.0),
            },
            Acc::Avg(avgs) => {
                let (sum, n) = avgs.get(g).copied().unwrap_or((0.0, 0));
                AggState::Avg { sum, n }
            }
            Acc::BestInts(best, ty, max) => AggState::Best(
                best.get(g)
                    .copied()
                    .flatten()
                    .map_or(Value::Null, |x| int_value(*ty, x)),
                *max,
            ),
            Acc::BestReals(best, max) => AggState::Best(
                best.get(g)
                    .copied()
                    .flatten()
                    .map_or(Value::Null, Value::Real),
                *max,
            ),
            Acc::BestTexts(best, max) => AggState::Best(
                best.get(g)
                    .cloned()
                    .flatten()
                    .map_or(Value::Null, Value::String),
                *max,
            ),
            // A distinct count finishes as a count does: the number, as a long.
            Acc::Distinct { counts, .. } => AggState::Count(counts.get(g).copied().unwrap_or(0)),
        }
    }
}

/// A `summarize`'s keys and aggregates as the typed fold runs them.
struct TypedFold<'s> {
    keys: Vec<Typed<'s>>,
    aggs: Vec<(Option<Typed<'s>>, Acc)>,
    grouping: Grouping,
    /// Each row's group in the chunk, and a buffer of numbers, reused chunk after chunk.
    spans: Spans,
    ids: Spans,
}

impl<'s> TypedFold<'s> {
    /// The fold of these keys and aggregates over rows of `columns`; None when it does not cover
    /// them.
    fn new(
        columns: &[Column],
        key_exprs: &'s [CExpr],
        key_cols: &[Column],
        specs: &'s [AggSpec],
    ) -> Option<Self> {
        let keys = key_exprs
            .iter()
            .zip(key_cols)
            .map(|(e, col)| key_plan(e, col, columns))
            .collect::<Option<Vec<_>>>()?;
        let aggs = specs
            .iter()
            .map(|spec| {
                if !spec.row.is_empty() || !spec.percents.is_empty() {
                    return None;
                }
                let fold = spec.method.fold()?;
                match spec.args.as_slice() {
                    [] => Some((None, Acc::new(fold, None)?)),
                    [arg] => {
                        let arg = typed(arg, columns)?;
                        let acc = Acc::new(fold, Some(arg.kind))?;
                        Some((Some(arg), acc))
                    }
                    _ => None,
                }
            })
            .collect::<Option<Vec<_>>>()?;
        let ids = keys
            .iter()
            .map(|k| Some((KeyIds::new(k.kind)?, k.kind)))
            .collect::<Option<Vec<_>>>()?;
        let grouping = Grouping {
            combos: (1..ids.len()).map(|_| Map::default()).collect(),
            keys: ids,
            group_keys: Vec::new(),
            room: aggs.len(),
            ids: Spans::default(),
        };
        Some(TypedFold {
            keys,
            aggs,
            grouping,
            spans: Spans::default(),
            ids: Spans::default(),
        })
    }

    /// Folds the rows of `chunk`; None when a value is not of its column's type.
    fn add(&mut self, chunk: Chunk<'_>) -> Option<()> {
        let keys = self
            .keys
            .iter()
            .map(|k| k.key_values(chunk))
            .collect::<Option<Vec<_>>>()?;
        self.grouping.assign(chunk.len(), &keys, &mut self.spans)?;
        let n = self.grouping.group_keys.len();
        for (arg, acc) in &mut self.aggs {
            let arg = match arg {
                Some(arg) => Some(arg.vector(chunk)?),
                None => None,
            };
            acc.add(&self.spans, n, arg.as_deref(), &mut self.ids)?;
        }
        Some(())
    }

    /// Each group's key values and states.
    fn finish(self) -> Groups {
        let states = (0..self.grouping.group_keys.len())
            .map(|g| self.aggs.iter().map(|(_, acc)| acc.state(g)).collect())
            .collect();
        (self.grouping.group_keys, states)
    }
}

impl Engine<'_> {
    /// Folds `input` (rows of `columns`) into groups and states as the row fold does, with the
    /// typed fold; None when it does not cover the keys, the aggregates or the values.
    pub(crate) fn typed_fold(
        &mut self,
        columns: &[Column],
        input: &Input<'_>,
        key_exprs: &[CExpr],
        key_cols: &[Column],
        specs: &[AggSpec],
    ) -> Result<Option<Groups>, KqlError> {
        let Some(mut fold) = TypedFold::new(columns, key_exprs, key_cols, specs) else {
            return Ok(None);
        };
        match input {
            Input::Rows(rows, picked) => {
                let total = picked.map_or(rows.len(), <[usize]>::len);
                let mut all = Vec::new();
                for start in (0..total).step_by(CHUNK) {
                    self.budget.check_deadline()?;
                    let end = (start + CHUNK).min(total);
                    let at = match picked {
                        Some(p) => p.get(start..end).unwrap_or_default(),
                        None => {
                            all.clear();
                            all.extend(start..end);
                            &all[..]
                        }
                    };
                    if fold.add(Chunk::Rows(rows, at)).is_none() {
                        return Ok(None);
                    }
                }
            }
            Input::Range(steps) => {
                // A copy of the steps: the row fold starts from the first if this one gives up.
                let mut steps = steps.clone();
                let Some(kind) = columns.first().and_then(|c| Kind::of(c.ty)) else {
                    return Ok(None);
                };
                let mut seen = 0;
                loop {
                    self.budget.check_deadline()?;
                    let Some(values) = range_chunk(&mut steps, kind) else {
                        return Ok(None);
                    };
                    if values.len() == 0 {
                        break;
                    }
                    seen += values.len();
                    if seen > MAX_ROWS {
                        return Err(range_too_long());
                    }
                    if fold.add(Chunk::Range(&values, kind)).is_none() {
                        return Ok(None);
                    }
                    // A chunk short of full is the range's last.
                    if values.len() < CHUNK {
                        break;
                    }
                }
            }
        }
        Ok(Some(fold.finish()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::rows::summarize::Folder;
    use crate::functions::aggregate::{Method, result_type};

    /// An aggregate `name` of `args` (of type `arg_ty`), as the binder makes it.
    fn spec(name: &str, args: Vec<CExpr>, arg_ty: &[ScalarType]) -> AggSpec {
        AggSpec {
            name: name.into(),
            method: Method::of(name),
            args,
            ty: result_type(name, arg_ty),
            row: Vec::new(),
            percents: Vec::new(),
        }
    }

    /// Each group's keys and finished aggregates, as text (a NaN equals itself).
    fn finished(groups: Groups, specs: &[AggSpec]) -> Vec<String> {
        let (keys, states) = groups;
        keys.into_iter()
            .zip(states)
            .map(|(mut row, states)| {
                for (s, spec) in states.iter().zip(specs) {
                    row.extend(s.finish(spec.ty, &spec.percents, 1));
                }
                format!("{row:?}")
            })
            .collect()
    }

    /// The typed fold's answer over `rows` (None: it gives up), and the row fold's.
    fn both(
        columns: &[Column],
        rows: &[Vec<Value>],
        keys: &[(CExpr, ScalarType)],
        specs: &[AggSpec],
    ) -> (Option<Vec<String>>, Vec<String>) {
        let key_exprs: Vec<CExpr> = keys.iter().map(|(e, _)| e.clone()).collect();
        let key_cols: Vec<Column> = keys
            .iter()
            .enumerate()
            .map(|(i, (_, ty))| Column::new(format!("k{i}"), *ty))
            .collect();
        let mut folder = Folder::new(&key_exprs, &key_cols, specs);
        for idx in 0..rows.len() {
            folder.add(Row { rows, idx });
        }
        let by_row = finished(folder.finish(), specs);
        let typed = TypedFold::new(columns, &key_exprs, &key_cols, specs).and_then(|mut fold| {
            let at: Vec<usize> = (0..rows.len()).collect();
            for chunk in at.chunks(CHUNK) {
                fold.add(Chunk::Rows(rows, chunk))?;
            }
            Some(finished(fold.finish(), specs))
        });
        (typed, by_row)
    }

    fn long(x: i64) -> Value {
        Value::Long(x)
    }

    #[test]
    fn nulls_in_keys_and_values_and_a_wrapping_sum_answer_as_the_row_fold() {
        use ScalarType::{Long, String};
        let columns = [
            Column::new("k", Long),
            Column::new("x", Long),
            Column::new("s", String),
        ];
        let rows = vec![
            vec![long(1), long(i64::MAX), Value::str("a")],
            vec![Value::Null, long(5), Value::Null],
            vec![long(1), long(1), Value::str("")],
            vec![Value::Null, Value::Null, Value::str("b")],
            vec![long(2), Value::Null, Value::str("a")],
            vec![long(1), long(-7), Value::str("a")],
        ];
        let x = || vec![CExpr::Col(1)];
        let specs = [
            spec("count", Vec::new(), &[]),
            spec("sum", x(), &[Long]),
            spec("min", x(), &[Long]),
            spec("max", x(), &[Long]),
            spec("avg", x(), &[Long]),
            spec("dcount", x(), &[Long]),
            spec("dcount", vec![CExpr::Col(2)], &[String]),
            spec("max", vec![CExpr::Col(2)], &[String]),
        ];
        for keys in [
            vec![(CExpr::Col(0), Long)],
            vec![(CExpr::Col(2), String)],
            vec![(CExpr::Col(2), String), (CExpr::Col(0), Long)],
            Vec::new(),
        ] {
            let (typed, by_row) = both(&columns, &rows, &keys, &specs);
            assert_eq!(typed.as_ref(), Some(&by_row), "{keys:?}");
        }
        // The sum of the first group wrapped past i64::MAX and back, as the row fold's does.
        let (typed, _) = both(&columns, &rows, &[(CExpr::Col(0), Long)], &specs[1..2]);
        let first = typed
            .unwrap_or_default()
            .into_iter()
            .next()
            .unwrap_or_default();
        assert_eq!(first, format!("{:?}", [long(1), long(i64::MAX - 6)]));
        // A null string key is the empty string's group, as the row fold converts it.
        let (typed, _) = both(&columns, &rows, &[(CExpr::Col(2), String)], &specs[..1]);
        assert_eq!(typed.map(|g| g.len()), Some(3));
    }

    #[test]
    fn keys_made_by_arithmetic_and_reals_fold_across_chunks_in_first_seen_order() {
        use ScalarType::{Long, Real};
        let columns = [Column::new("i", Long), Column::new("r", Real)];
        // More rows than a chunk, with groups first seen in the second chunk too.
        let rows: Vec<Vec<Value>> = (0..2500i64)
            .map(|i| {
                let r = match i % 7 {
                    0 => Value::Null,
                    1 => Value::Real(f64::NAN),
                    _ => Value::Real(i as f64 / 3.0),
                };
                vec![long(i * 37 % 2203), r]
            })
            .collect();
        let bucket = CExpr::Bin(
            BinOp::Div,
            Box::new(CExpr::Col(0)),
            Box::new(CExpr::Lit(long(100))),
        );
        let half = CExpr::Bin(
            BinOp::Mul,
            Box::new(CExpr::Col(0)),
            Box::new(CExpr::Lit(Value::Real(0.5))),
        );
        let r = || vec![CExpr::Col(1)];
        let specs = [
            spec("sum", r(), &[Real]),
            spec("avg", r(), &[Real]),
            spec("min", r(), &[Real]),
            spec("max", r(), &[Real]),
            spec("sum", vec![half], &[Real]),
            spec("count", Vec::new(), &[]),
        ];
        let (typed, by_row) = both(&columns, &rows, &[(bucket, Long)], &specs);
        assert_eq!(typed.as_ref(), Some(&by_row));
        assert_eq!(by_row.len(), 23);
        // A real key groups as `key_of` normalizes it: the row fold's.
        let (typed, _) = both(&columns, &rows, &[(CExpr::Col(1), Real)], &specs);
        assert_eq!(typed, None);
    }

    #[test]
    fn each_operator_on_longs_and_a_long_answers_as_on_two_longs() {
        let xs = [
            Some(7),
            None,
            Some(-7),
            Some(i64::MIN),
            Some(i64::MAX),
            Some(0),
        ];
        for op in [BinOp::Add, BinOp::Sub, BinOp::Mul, BinOp::Div, BinOp::Mod] {
            for y in [2, -1, 0, i64::MAX] {
                let one_by_one: Vec<_> = xs.iter().map(|x| int_op(op, (*x)?, y)).collect();
                assert_eq!(ints_op(op, &xs, y), one_by_one, "{op:?} {y}");
            }
        }
        assert_eq!(ints_op(BinOp::Div, &xs[..3], 2), [Some(3), None, Some(-3)]);
        assert_eq!(ints_op(BinOp::Div, &xs[..1], 0), [None]);
        assert_eq!(ints_op(BinOp::Mod, &xs[2..3], 2), [Some(1)]);
    }

    #[test]
    fn empty_input_opens_no_group() {
        let columns = [Column::new("x", ScalarType::Long)];
        let specs = [spec("count", Vec::new(), &[])];
        for keys in [Vec::new(), vec![(CExpr::Col(0), ScalarType::Long)]] {
            let (typed, by_row) = both(&columns, &[], &keys, &specs);
            assert_eq!(typed, Some(Vec::new()));
            assert_eq!(by_row, Vec::<String>::new());
        }
    }

    #[test]
    fn a_value_of_another_type_than_its_column_leaves_the_fold_to_the_row_fold() {
        let columns = [Column::new("x", ScalarType::Long)];
        let rows = vec![vec![long(1)], vec![Value::Int(2)]];
        let specs = [spec("max", vec![CExpr::Col(0)], &[ScalarType::Long])];
        let (typed, by_row) = both(&columns, &rows, &[], &specs);
        assert_eq!(typed, None);
        assert_eq!(by_row, vec![format!("{:?}", [long(2)])]);
        // As a key it is converted to the column's type, as the row fold converts it.
        let (typed, by_row) = both(&columns, &rows, &[(CExpr::Col(0), ScalarType::Long)], &[]);
        assert_eq!(typed.as_ref(), Some(&by_row));
        // Aggregates with a predicate, or over a row, are the row fold's.
        let countif = spec(
            "countif",
            vec![CExpr::Lit(Value::Bool(true))],
            &[ScalarType::Bool],
        );
        assert_eq!(both(&columns, &rows, &[], &[countif]).0, None);
    }

    #[test]
    fn a_string_column_with_another_value_is_read_as_the_row_fold_reads_it() {
        use ScalarType::String;
        let columns = [Column::new("s", String)];
        let rows = vec![
            vec![Value::str("a")],
            vec![long(7)],
            vec![Value::Null],
            vec![Value::str("a")],
        ];
        // As a key the long is converted to a string, and the null is the empty string.
        let (typed, by_row) = both(&columns, &rows, &[(CExpr::Col(0), String)], &[]);
        assert_eq!(typed.as_ref(), Some(&by_row));
        assert_eq!(by_row.len(), 3);
        // As an aggregate's argument it leaves the fold to the row fold.
        let max = spec("max", vec![CExpr::Col(0)], &[String]);
        assert_eq!(both(&columns, &rows, &[], &[max]).0, None);
    }

    #[test]
    fn datetime_keys_and_extremes_keep_their_type() {
        use ScalarType::{DateTime, TimeSpan};
        let columns = [Column::new("t", DateTime), Column::new("d", TimeSpan)];
        let rows = vec![
            vec![Value::DateTime(10), Value::TimeSpan(3)],
            vec![Value::DateTime(20), Value::Null],
            vec![Value::DateTime(10), Value::TimeSpan(-4)],
        ];
        let specs = [
            spec("max", vec![CExpr::Col(0)], &[DateTime]),
            spec("sum", vec![CExpr::Col(1)], &[TimeSpan]),
            spec("avg", vec![CExpr::Col(1)], &[TimeSpan]),
            spec("avg", vec![CExpr::Col(0)], &[DateTime]),
        ];
        let (typed, by_row) = both(&columns, &rows, &[(CExpr::Col(0), DateTime)], &specs);
        assert_eq!(typed.as_ref(), Some(&by_row));
        assert!(by_row[0].starts_with("[DateTime(10), DateTime(10), TimeSpan(-1)"));
    }

    #[test]
    fn keys_in_long_runs_fold_by_runs_as_the_row_fold_across_chunks() {
        use ScalarType::{Long, Real, String};
        let columns = [
            Column::new("k", Long),
            Column::new("x", Long),
            Column::new("s", String),
            Column::new("r", Real),
            Column::new("half", String),
        ];
        // Runs of 300 rows (one across the first chunk's end), then a last group of one row;
        // a null at each run's first row and at the last, sums that wrap past i64::MAX.
        let rows: Vec<Vec<Value>> = (0..2501i64)
            .map(|i| {
                let k = if i == 2500 { 99 } else { i / 300 };
                let x = match i {
                    _ if i % 300 == 0 || i == 2500 => Value::Null,
                    _ if i % 5 == 0 => long(i64::MAX - i),
                    _ => long(-i),
                };
                let s = if i % 11 == 0 {
                    Value::Null
                } else {
                    Value::str(format!("u{}", i % 7))
                };
                let r = if i % 13 == 0 {
                    Value::Real(f64::NAN)
                } else {
                    Value::Real(i as f64 / 3.0)
                };
                let half = Value::str(if k % 2 == 0 { "even" } else { "odd" });
                vec![long(k), x, s, r, half]
            })
            .collect();
        let col = |i| vec![CExpr::Col(i)];
        let specs = [
            spec("count", Vec::new(), &[]),
            spec("sum", col(1), &[Long]),
            spec("min", col(1), &[Long]),
            spec("max", col(1), &[Long]),
            spec("avg", col(1), &[Long]),
            spec("dcount", col(1), &[Long]),
            spec("dcount", col(2), &[String]),
            spec("max", col(2), &[String]),
            spec("sum", col(3), &[Real]),
            spec("min", col(3), &[Real]),
            spec("avg", col(3), &[Real]),
        ];
        let key = (CExpr::Col(0), Long);
        for keys in [
            vec![key.clone()],
            vec![(CExpr::Col(4), String)],
            vec![key.clone(), (CExpr::Col(4), String)],
            vec![(CExpr::Col(4), String), key.clone()],
            Vec::new(),
        ] {
            let (typed, by_row) = both(&columns, &rows, &keys, &specs);
            assert_eq!(typed.as_ref(), Some(&by_row), "{keys:?}");
        }
        let (_, by_row) = both(&columns, &rows, std::slice::from_ref(&key), &specs);
        assert_eq!(by_row.len(), 10);
        // The rows were folded by runs, of a long key or a string one.
        for (e, ty) in [key, (CExpr::Col(4), String)] {
            let (key_exprs, key_cols) = ([e], [Column::new("k", ty)]);
            let Some(mut fold) = TypedFold::new(&columns, &key_exprs, &key_cols, &specs) else {
                panic!("the typed fold covers these aggregates");
            };
            let at: Vec<usize> = (0..CHUNK).collect();
            assert_eq!(fold.add(Chunk::Rows(&rows, &at)), Some(()));
            assert_eq!(fold.spans.runs.len(), 4, "{ty:?}");
        }
    }

    #[test]
    fn a_run_folds_into_its_groups_state_as_its_rows_do_one_by_one() {
        let runs_of = |runs: &[(u32, usize)]| {
            let mut rows = Vec::new();
            for (g, end) in runs {
                rows.resize(*end, *g);
            }
            rows
        };
        let (long, back) = ([(0, 6), (1, 11), (2, 12)], [(0, 4), (1, 8), (0, 12)]);
        for (rows, runs) in [
            (Vec::new(), &[][..]),
            (runs_of(&long), &long[..]),
            (runs_of(&back), &back[..]),
            (vec![0; 4], &[(0, 4)][..]),
            // One row, or runs shorter than `Spans::RUN` rows: no runs, row by row.
            (vec![0], &[][..]),
            (vec![0, 1, 0, 1], &[][..]),
            (runs_of(&[(0, 3), (1, 7), (2, 8), (0, 12)]), &[][..]),
        ] {
            let xs: Vec<i64> = (0..rows.len() as i64).collect();
            let n = rows.iter().max().map_or(0, |g| *g as usize + 1);
            let mut by_runs = Spans::default();
            number_runs(&rows, &mut by_runs, |g| *g, |g| g);
            assert_eq!(by_runs.rows, rows);
            assert_eq!(by_runs.runs, runs, "{rows:?}");
            let by_rows = Spans {
                rows,
                runs: Vec::new(),
            };
            // Each group's values in the order folded.
            let folded = |spans: &Spans| {
                let mut seen = vec![Vec::new(); n];
                let done = spans.fold(&mut seen, &xs, |g, s: &mut Vec<(usize, i64)>, x| {
                    s.push((g, *x));
                });
                done.map(|()| seen)
            };
            assert_eq!(folded(&by_runs), folded(&by_rows));
            assert!(folded(&by_rows).is_some());
            // A vector of another length than the rows' is not folded.
            let mut short = vec![Vec::new(); n];
            let one = [0i64];
            let fold_one = |spans: &Spans, short: &mut [Vec<i64>]| {
                spans.fold(short, &one, |_, s, x| s.push(*x))
            };
            if by_rows.rows.len() != 1 {
                assert_eq!(fold_one(&by_runs, &mut short), None);
                assert_eq!(fold_one(&by_rows, &mut short), None);
            }
        }
    }

    #[test]
    fn a_key_of_a_long_and_an_operation_on_a_literal_groups_as_the_row_fold() {
        use ScalarType::Long;
        let columns = [Column::new("x", Long)];
        // Runs and single rows, nulls, and the values an operation overflows or divides to null;
        // then more than a chunk of rows in order, whose quotients come in runs.
        let xs = [
            Value::Null,
            long(i64::MIN),
            long(i64::MIN),
            long(i64::MAX),
            long(-7),
            long(7),
            long(7),
            long(7),
            long(0),
            long(250),
            long(299),
            Value::Null,
        ];
        let in_order = (0..1200).map(long);
        let rows: Vec<Vec<Value>> = xs.into_iter().chain(in_order).map(|x| vec![x]).collect();
        let specs = [
            spec("count", Vec::new(), &[]),
            spec("sum", vec![CExpr::Col(0)], &[Long]),
        ];
        for op in [BinOp::Add, BinOp::Sub, BinOp::Mul, BinOp::Div, BinOp::Mod] {
            for y in [0, -1, 2, 100, i64::MAX] {
                let key = CExpr::Bin(op, Box::new(CExpr::Col(0)), Box::new(CExpr::Lit(long(y))));
                let (typed, by_row) = both(&columns, &rows, &[(key.clone(), Long)], &specs);
                assert_eq!(typed.as_ref(), Some(&by_row), "{op:?} {y}");
                // The operation is applied as the values are numbered, not into a vector.
                let col = Column::new("k", Long);
                let plan = key_plan(&key, &col, &columns).map(|k| {
                    let at: Vec<usize> = (0..rows.len()).collect();
                    k.key_values(Chunk::Rows(&rows, &at)).map(|v| v.op)
                });
                assert_eq!(plan, Some(Some(Some((op, y)))));
            }
        }
    }
}
