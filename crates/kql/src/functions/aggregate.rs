//! Aggregation functions of `summarize`: their names, result types and running state.

use std::borrow::Cow;
use std::collections::HashSet;

use serde_json::Value as J;

use crate::value::convert::{Key, as_f64, as_i64, coerce, compare, key_of, sort_cmp, truth, undyn};
use crate::value::{ScalarType, Value};

/// What an aggregate is: its name and legacy aliases, the state it runs, its result type and the
/// column name Kusto gives it. The one definition the binder, the namer, the row engine and
/// DataFusion's UDAF read.
#[derive(Debug)]
pub(crate) struct Aggregate {
    pub(crate) name: &'static str,
    aliases: &'static [&'static str],
    runs: Runs,
    returns: Returns,
    pub(crate) column: Column,
}

/// The running state an aggregate keeps (see [`Method::state`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Runs {
    Count,
    Distinct,
    Sum,
    Avg,
    Min,
    Max,
    BitAnd,
    BitOr,
    BitXor,
    Covariance,
    CovarianceP,
    /// Distinct values: `make_set`.
    Set,
    /// `hll` (exact here: the distinct values themselves), null over no values.
    Hll,
    Digest,
    Schema,
    List,
    Bag,
    ArgMax,
    ArgMin,
    Values,
    Stdev,
    StdevP,
    Variance,
    VarianceP,
    Any,
}

/// An aggregate's result type, given its first argument's type.
#[derive(Debug, Clone, Copy)]
enum Returns {
    Long,
    Real,
    Dynamic,
    /// long for integers and bools, timespan and decimal kept, real otherwise.
    Sum,
    /// timespan and datetime kept, real otherwise.
    Avg,
    /// long for integers, the argument's type otherwise.
    Percentile,
    /// The argument's type.
    First,
}

/// The name of an aggregate's column when the query does not name it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Column {
    /// `prefix_arg`, after the first argument's name.
    Prefixed(&'static str),
    /// Always this name.
    Fixed(&'static str),
    /// `name_arg1_arg2`, after both arguments.
    Covariance,
}

/// Every aggregation function.
pub(crate) const AGGREGATES: [Aggregate; 54] = [
    Aggregate {
        name: "count",
        aliases: &[],
        runs: Runs::Count,
        returns: Returns::Long,
        column: Column::Prefixed("count"),
    },
    Aggregate {
        name: "countif",
        aliases: &[],
        runs: Runs::Count,
        returns: Returns::Long,
        column: Column::Fixed("countif_"),
    },
    Aggregate {
        name: "dcount",
        aliases: &[],
        runs: Runs::Distinct,
        returns: Returns::Long,
        column: Column::Prefixed("dcount"),
    },
    Aggregate {
        name: "dcountif",
        aliases: &[],
        runs: Runs::Distinct,
        returns: Returns::Long,
        column: Column::Prefixed("dcountif"),
    },
    Aggregate {
        name: "sum",
        aliases: &[],
        runs: Runs::Sum,
        returns: Returns::Sum,
        column: Column::Prefixed("sum"),
    },
    Aggregate {
        name: "sumif",
        aliases: &[],
        runs: Runs::Sum,
        returns: Returns::Sum,
        column: Column::Prefixed("sumif"),
    },
    Aggregate {
        name: "avg",
        aliases: &[],
        runs: Runs::Avg,
        returns: Returns::Avg,
        column: Column::Prefixed("avg"),
    },
    Aggregate {
        name: "avgif",
        aliases: &[],
        runs: Runs::Avg,
        returns: Returns::Avg,
        column: Column::Prefixed("avgif"),
    },
    Aggregate {
        name: "min",
        aliases: &[],
        runs: Runs::Min,
        returns: Returns::First,
        column: Column::Prefixed("min"),
    },
    Aggregate {
        name: "max",
        aliases: &[],
        runs: Runs::Max,
        returns: Returns::First,
        column: Column::Prefixed("max"),
    },
    Aggregate {
        name: "minif",
        aliases: &[],
        runs: Runs::Min,
        returns: Returns::First,
        column: Column::Prefixed("minif"),
    },
    Aggregate {
        name: "maxif",
        aliases: &[],
        runs: Runs::Max,
        returns: Returns::First,
        column: Column::Prefixed("maxif"),
    },
    Aggregate {
        name: "make_set",
        aliases: &["makeset", "make_set_with_limit"],
        runs: Runs::Set,
        returns: Returns::Dynamic,
        column: Column::Prefixed("set"),
    },
    Aggregate {
        name: "make_list",
        aliases: &["makelist", "make_list_with_limit"],
        runs: Runs::List,
        returns: Returns::Dynamic,
        column: Column::Prefixed("list"),
    },
    Aggregate {
        name: "make_set_if",
        aliases: &[],
        runs: Runs::Set,
        returns: Returns::Dynamic,
        column: Column::Prefixed("set"),
    },
    Aggregate {
        name: "make_list_if",
        aliases: &[],
        runs: Runs::List,
        returns: Returns::Dynamic,
        column: Column::Prefixed("list"),
    },
    Aggregate {
        name: "make_bag",
        aliases: &["makebag"],
        runs: Runs::Bag,
        returns: Returns::Dynamic,
        column: Column::Prefixed("bag"),
    },
    Aggregate {
        name: "make_bag_if",
        aliases: &[],
        runs: Runs::Bag,
        returns: Returns::Dynamic,
        column: Column::Prefixed("bag"),
    },
    Aggregate {
        name: "arg_max",
        aliases: &[],
        runs: Runs::ArgMax,
        returns: Returns::First,
        column: Column::Prefixed("arg_max"),
    },
    Aggregate {
        name: "arg_min",
        aliases: &[],
        runs: Runs::ArgMin,
        returns: Returns::First,
        column: Column::Prefixed("arg_min"),
    },
    Aggregate {
        name: "any",
        aliases: &[],
        runs: Runs::Any,
        returns: Returns::First,
        column: Column::Prefixed("any"),
    },
    Aggregate {
        name: "take_any",
        aliases: &[],
        runs: Runs::Any,
        returns: Returns::First,
        column: Column::Prefixed("any"),
    },
    Aggregate {
        name: "anyif",
        aliases: &[],
        runs: Runs::Any,
        returns: Returns::First,
        column: Column::Prefixed("anyif"),
    },
    Aggregate {
        name: "take_anyif",
        aliases: &[],
        runs: Runs::Any,
        returns: Returns::First,
        column: Column::Prefixed("anyif"),
    },
    Aggregate {
        name: "percentile",
        aliases: &[],
        runs: Runs::Values,
        returns: Returns::Percentile,
        column: Column::Prefixed("percentile"),
    },
    Aggregate {
        name: "percentiles",
        aliases: &[],
        runs: Runs::Values,
        returns: Returns::Percentile,
        column: Column::Prefixed("percentiles"),
    },
    Aggregate {
        name: "stdev",
        aliases: &[],
        runs: Runs::Stdev,
        returns: Returns::Real,
        column: Column::Prefixed("stdev"),
    },
    Aggregate {
        name: "stdevif",
        aliases: &[],
        runs: Runs::Stdev,
        returns: Returns::Real,
        column: Column::Prefixed("stdevif"),
    },
    Aggregate {
        name: "variance",
        aliases: &[],
        runs: Runs::Variance,
        returns: Returns::Real,
        column: Column::Prefixed("variance"),
    },
    Aggregate {
        name: "varianceif",
        aliases: &[],
        runs: Runs::Variance,
        returns: Returns::Real,
        column: Column::Prefixed("varianceif"),
    },
    Aggregate {
        name: "stdevp",
        aliases: &[],
        runs: Runs::StdevP,
        returns: Returns::Real,
        column: Column::Prefixed("stdevp"),
    },
    Aggregate {
        name: "variancep",
        aliases: &[],
        runs: Runs::VarianceP,
        returns: Returns::Real,
        column: Column::Prefixed("variancep"),
    },
    Aggregate {
        name: "variancepif",
        aliases: &[],
        runs: Runs::VarianceP,
        returns: Returns::Real,
        column: Column::Prefixed("variancepif"),
    },
    Aggregate {
        name: "count_distinct",
        aliases: &[],
        runs: Runs::Distinct,
        returns: Returns::Long,
        column: Column::Prefixed("count_distinct"),
    },
    Aggregate {
        name: "count_distinctif",
        aliases: &[],
        runs: Runs::Distinct,
        returns: Returns::Long,
        column: Column::Prefixed("count_distinctif"),
    },
    Aggregate {
        name: "binary_all_or",
        aliases: &[],
        runs: Runs::BitOr,
        returns: Returns::Long,
        column: Column::Prefixed("binary_all_or"),
    },
    Aggregate {
        name: "binary_all_and",
        aliases: &[],
        runs: Runs::BitAnd,
        returns: Returns::Long,
        column: Column::Prefixed("binary_all_and"),
    },
    Aggregate {
        name: "binary_all_xor",
        aliases: &[],
        runs: Runs::BitXor,
        returns: Returns::Long,
        column: Column::Prefixed("binary_all_xor"),
    },
    Aggregate {
        name: "covariance",
        aliases: &[],
        runs: Runs::Covariance,
        returns: Returns::Real,
        column: Column::Covariance,
    },
    Aggregate {
        name: "covarianceif",
        aliases: &[],
        runs: Runs::Covariance,
        returns: Returns::Real,
        column: Column::Covariance,
    },
    Aggregate {
        name: "covariancep",
        aliases: &[],
        runs: Runs::CovarianceP,
        returns: Returns::Real,
        column: Column::Covariance,
    },
    Aggregate {
        name: "covariancepif",
        aliases: &[],
        runs: Runs::CovarianceP,
        returns: Returns::Real,
        column: Column::Covariance,
    },
    Aggregate {
        name: "percentilesw",
        aliases: &[],
        runs: Runs::Values,
        returns: Returns::Percentile,
        column: Column::Prefixed("percentilesw"),
    },
    Aggregate {
        name: "percentilew",
        aliases: &[],
        runs: Runs::Values,
        returns: Returns::Percentile,
        column: Column::Prefixed("percentilew"),
    },
    Aggregate {
        name: "make_list_with_nulls",
        aliases: &[],
        runs: Runs::List,
        returns: Returns::Dynamic,
        column: Column::Prefixed("list"),
    },
    Aggregate {
        name: "percentiles_array",
        aliases: &[],
        runs: Runs::Values,
        returns: Returns::Dynamic,
        column: Column::Prefixed("percentiles"),
    },
    Aggregate {
        name: "percentilesw_array",
        aliases: &[],
        runs: Runs::Values,
        returns: Returns::Dynamic,
        column: Column::Prefixed("percentiles"),
    },
    Aggregate {
        name: "hll",
        aliases: &[],
        runs: Runs::Hll,
        returns: Returns::Dynamic,
        column: Column::Prefixed("hll"),
    },
    Aggregate {
        name: "hll_if",
        aliases: &[],
        runs: Runs::Hll,
        returns: Returns::Dynamic,
        column: Column::Prefixed("hll_if"),
    },
    Aggregate {
        name: "hll_merge",
        aliases: &[],
        runs: Runs::Hll,
        returns: Returns::Dynamic,
        column: Column::Prefixed("hll_merge"),
    },
    Aggregate {
        name: "tdigest",
        aliases: &[],
        runs: Runs::Digest,
        returns: Returns::Dynamic,
        column: Column::Prefixed("tdigest"),
    },
    Aggregate {
        name: "tdigest_merge",
        aliases: &[],
        runs: Runs::Digest,
        returns: Returns::Dynamic,
        column: Column::Prefixed("tdigest_merge"),
    },
    Aggregate {
        name: "merge_tdigest",
        aliases: &[],
        runs: Runs::Digest,
        returns: Returns::Dynamic,
        column: Column::Prefixed("merge_tdigest"),
    },
    Aggregate {
        name: "buildschema",
        aliases: &[],
        runs: Runs::Schema,
        returns: Returns::Dynamic,
        column: Column::Prefixed("schema"),
    },
];

/// The aggregate called `name` (its current name or a legacy alias such as `makeset`).
pub(crate) fn lookup(name: &str) -> Option<&'static Aggregate> {
    AGGREGATES
        .iter()
        .find(|a| a.name == name || a.aliases.contains(&name))
}

/// The current name of a legacy aggregate alias (`makeset` → `make_set`).
pub(crate) fn canonical(name: &str) -> &str {
    lookup(name).map_or(name, |a| a.name)
}

/// Every aggregation function, by its current name.
pub(crate) fn names() -> impl Iterator<Item = &'static str> {
    AGGREGATES.iter().map(|a| a.name)
}

/// True when `name` is an aggregation function.
pub(crate) fn is_aggregate(name: &str) -> bool {
    lookup(name).is_some()
}

/// True for the percentile aggregates that take a weight after the value.
pub(crate) fn is_weighted(name: &str) -> bool {
    matches!(name, "percentilew" | "percentilesw" | "percentilesw_array")
}

/// True when a call of `name` with `nargs` arguments aggregates: the merge functions are also
/// scalar functions when given several sketches.
pub(crate) fn is_aggregate_call(name: &str, nargs: usize) -> bool {
    is_aggregate(name)
        && !(matches!(name, "hll_merge" | "tdigest_merge" | "merge_tdigest") && nargs > 1)
}

/// The value at percentile `p` of values sorted ascending with weights (nearest rank).
pub(crate) fn weighted_percentile(sorted: &[(Value, i64)], p: f64) -> Option<Value> {
    let total = sorted
        .iter()
        .fold(0i64, |acc, (_, w)| acc.saturating_add(*w));
    let rank = ((p / 100.0) * total as f64).ceil().max(1.0) as i64;
    let mut seen = 0i64;
    sorted
        .iter()
        .find(|(_, w)| {
            seen = seen.saturating_add(*w);
            seen >= rank
        })
        .or(sorted.last())
        .map(|(v, _)| v.clone())
}

/// The result type of an aggregate given its argument types.
pub(crate) fn result_type(name: &str, args: &[ScalarType]) -> ScalarType {
    let first = args.first().copied().unwrap_or(ScalarType::Long);
    match lookup(name).map_or(Returns::First, |a| a.returns) {
        Returns::Long => ScalarType::Long,
        Returns::Real => ScalarType::Real,
        Returns::Dynamic => ScalarType::Dynamic,
        Returns::Sum => match first {
            ScalarType::Int | ScalarType::Long | ScalarType::Bool => ScalarType::Long,
            ScalarType::TimeSpan => ScalarType::TimeSpan,
            ScalarType::Decimal => ScalarType::Decimal,
            _ => ScalarType::Real,
        },
        Returns::Avg => match first {
            ScalarType::TimeSpan | ScalarType::DateTime => first,
            _ => ScalarType::Real,
        },
        Returns::Percentile => match first {
            ScalarType::Int | ScalarType::Long => ScalarType::Long,
            other => other,
        },
        Returns::First => first,
    }
}

/// What a collecting aggregate keeps, and what it answers over no values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Collect {
    /// Every value (`make_list`): `[]` over none.
    List,
    /// Distinct values (`make_set`): `[]` over none.
    Set,
    /// Distinct values as an `hll` sketch: null over none, as Kusto answers.
    Sketch,
}

/// Distinct values by their keys. aHash with a random seed, as the groups of `summarize`: as
/// resistant to values crafted to collide as the standard SipHash, at a fraction of its cost.
pub(crate) type KeySet = HashSet<Key, ahash::RandomState>;

/// The running state of one aggregate in one group.
#[derive(Debug, Clone)]
pub(crate) enum AggState {
    Count(i64),
    Distinct(KeySet),
    Sum {
        long: i64,
        real: f64,
    },
    Avg {
        sum: f64,
        n: i64,
    },
    Best(Value, bool),
    List(Vec<J>, KeySet, Collect),
    Bag(serde_json::Map<String, J>),
    Arg {
        best: Value,
        row: Vec<Value>,
        max: bool,
    },
    Any(Option<Vec<Value>>),
    /// Values with their weights (1 unless `percentilesw`), for percentiles.
    Values(Vec<(Value, i64)>),
    /// Co-moments of two columns for `covariance` (sample) and `covariancep` (population).
    CoMoments {
        n: f64,
        sx: f64,
        sy: f64,
        sxy: f64,
        population: bool,
    },
    /// An exact stand-in for a t-digest: every value with its weight, as `[[value, weight], …]`.
    Digest(Vec<J>),
    /// The schema `buildschema` infers.
    Schema(Shape),
    /// Bitwise AND, OR or XOR of all values.
    Bits(Option<i64>, fn(i64, i64) -> i64),
    Moments {
        n: f64,
        sum: f64,
        sq: f64,
        variance: bool,
        /// Population (`stdevp`, `variancep`) rather than sample statistics.
        population: bool,
    },
}

/// The shapes `buildschema` has seen in one position of the values: a bag (its keys in the
/// order first seen), an array (`` `indexer` `` for its elements) and scalar type names.
#[derive(Debug, Clone, Default)]
pub(crate) struct Shape {
    bag: Option<Vec<(String, Shape)>>,
    items: Option<Box<Shape>>,
    scalars: Vec<&'static str>,
}

impl Shape {
    fn add(&mut self, j: &J) {
        let scalar = match j {
            J::Null => return,
            J::Object(o) => {
                let bag = self.bag.get_or_insert_with(Vec::new);
                for (k, v) in o {
                    match bag.iter_mut().find(|(n, _)| n == k) {
                        Some((_, shape)) => shape.add(v),
                        None => {
                            let mut shape = Shape::default();
                            shape.add(v);
                            bag.push((k.clone(), shape));
                        }
                    }
                }
                return;
            }
            J::Array(a) => {
                let items = self.items.get_or_insert_with(Box::default);
                a.iter().for_each(|v| items.add(v));
                return;
            }
            J::Bool(_) => "bool",
            J::Number(n) if n.is_i64() || n.is_u64() => "long",
            J::Number(_) => "double",
            J::String(_) => "string",
        };
        if !self.scalars.contains(&scalar) {
            self.scalars.push(scalar);
        }
    }

    /// The schema: one shape, or the alternatives as an array (bag, array, then scalars).
    fn to_json(&self) -> J {
        let mut alternatives = Vec::new();
        if let Some(bag) = &self.bag {
            alternatives.push(J::Object(
                bag.iter().map(|(k, s)| (k.clone(), s.to_json())).collect(),
            ));
        }
        if let Some(items) = &self.items {
            alternatives.push(serde_json::json!({ "`indexer`": items.to_json() }));
        }
        alternatives.extend(self.scalars.iter().map(|t| J::String(t.to_string())));
        match alternatives.len() {
            0 => J::Null,
            1 => alternatives.swap_remove(0),
            _ => J::Array(alternatives),
        }
    }
}

/// Maximum elements `make_set`/`make_list` keep by default, as in Kusto.
const MAX_LIST: usize = 1_048_576;

/// Which argument, if any, decides whether a row counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum When {
    Always,
    /// `countif`: its only argument.
    First,
    /// The other `*if` forms: the last argument.
    Last,
}

/// The aggregates the typed fold of `summarize` (`exec::rows::typed_fold`) runs itself, into
/// the states [`Method::state`] makes: `AggState::Count`, `Sum`, `Avg` and `Best`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fold {
    Count,
    Sum,
    Avg,
    Min,
    Max,
    /// `dcount`: finished as the `Count` of distinct values.
    Distinct,
}

/// How an aggregate runs, resolved from its name once per query: a row's update then matches no
/// names (it ran a dozen string comparisons per row and aggregate before).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Method {
    runs: Runs,
    when: When,
    /// The argument holding `make_set`/`make_list`'s element limit.
    limit_at: Option<usize>,
    /// `make_list_with_nulls` keeps nulls.
    keeps_nulls: bool,
    /// `percentilew` and its forms: a weight follows the value.
    weighted: bool,
    /// The digest forms other than `tdigest` merge digests they are given.
    merges: bool,
}

impl Method {
    /// The method of the aggregate `name` (an unknown name runs as `take_any`).
    pub(crate) fn of(name: &str) -> Method {
        let when = if name == "countif" {
            When::First
        } else if name.ends_with("if") {
            When::Last
        } else {
            When::Always
        };
        Method {
            runs: lookup(name).map_or(Runs::Any, |a| a.runs),
            when,
            limit_at: name
                .starts_with("make_")
                .then_some(if name.ends_with("_if") { 2 } else { 1 }),
            keeps_nulls: name == "make_list_with_nulls",
            weighted: is_weighted(name),
            merges: name != "tdigest",
        }
    }

    /// The plain fold this method is, if it is one (no predicate): what the typed fold of
    /// `summarize` runs on vectors of values.
    pub(crate) fn fold(&self) -> Option<Fold> {
        if self.when != When::Always {
            return None;
        }
        Some(match self.runs {
            Runs::Count => Fold::Count,
            Runs::Sum => Fold::Sum,
            Runs::Avg => Fold::Avg,
            Runs::Min => Fold::Min,
            Runs::Max => Fold::Max,
            Runs::Distinct => Fold::Distinct,
            _ => return None,
        })
    }

    /// A fresh state.
    pub(crate) fn state(&self) -> AggState {
        let moments = |variance: bool, population: bool| AggState::Moments {
            n: 0.0,
            sum: 0.0,
            sq: 0.0,
            variance,
            population,
        };
        let covariance = |population: bool| AggState::CoMoments {
            n: 0.0,
            sx: 0.0,
            sy: 0.0,
            sxy: 0.0,
            population,
        };
        match self.runs {
            Runs::Count => AggState::Count(0),
            Runs::Distinct => AggState::Distinct(KeySet::default()),
            Runs::Sum => AggState::Sum { long: 0, real: 0.0 },
            Runs::Avg => AggState::Avg { sum: 0.0, n: 0 },
            Runs::Min => AggState::Best(Value::Null, false),
            Runs::Max => AggState::Best(Value::Null, true),
            Runs::BitAnd => AggState::Bits(None, |a, b| a & b),
            Runs::BitOr => AggState::Bits(None, |a, b| a | b),
            Runs::BitXor => AggState::Bits(None, |a, b| a ^ b),
            Runs::Covariance => covariance(false),
            Runs::CovarianceP => covariance(true),
            Runs::Set => AggState::List(Vec::new(), KeySet::default(), Collect::Set),
            Runs::Hll => AggState::List(Vec::new(), KeySet::default(), Collect::Sketch),
            Runs::Digest => AggState::Digest(Vec::new()),
            Runs::Schema => AggState::Schema(Shape::default()),
            Runs::List => AggState::List(Vec::new(), KeySet::default(), Collect::List),
            Runs::Bag => AggState::Bag(serde_json::Map::new()),
            Runs::ArgMax => AggState::Arg {
                best: Value::Null,
                row: Vec::new(),
                max: true,
            },
            Runs::ArgMin => AggState::Arg {
                best: Value::Null,
                row: Vec::new(),
                max: false,
            },
            Runs::Values => AggState::Values(Vec::new()),
            Runs::Stdev => moments(false, false),
            Runs::StdevP => moments(false, true),
            Runs::Variance => moments(true, false),
            Runs::VarianceP => moments(true, true),
            Runs::Any => AggState::Any(None),
        }
    }
}

/// The value an aggregate reads when a call has no argument.
static NULL: Value = Value::Null;

/// `v` itself, or the scalar inside a dynamic: the arithmetic aggregates read through dynamics
/// without copying the common, plain values.
fn plain(v: &Value) -> Cow<'_, Value> {
    match v {
        Value::Dynamic(_) => Cow::Owned(undyn(v)),
        other => Cow::Borrowed(other),
    }
}

impl AggState {
    /// Adds one row to a state of `method`: `args` are the evaluated arguments (for `*if` forms
    /// the predicate is last), `row` the projected values `arg_max`/`arg_min`/`take_any` keep.
    #[inline]
    pub(crate) fn update(&mut self, method: &Method, args: &[Value], row: &[Value]) {
        // `count()` and `sum` of a long, the common cases, inlined in the row loop.
        match (self, method.when, args) {
            (AggState::Count(n), When::Always, _) => *n += 1,
            (AggState::Sum { long, .. }, When::Always, [Value::Long(i), ..]) => {
                *long = long.wrapping_add(*i);
            }
            (state, _, _) => state.add(method, args, row),
        }
    }

    /// [`update`](Self::update) of every other case.
    fn add(&mut self, method: &Method, args: &[Value], row: &[Value]) {
        let predicate = match method.when {
            When::Always => None,
            When::First => args.first(),
            When::Last => args.last(),
        };
        if method.when != When::Always && predicate.and_then(truth) != Some(true) {
            return;
        }
        let v = args.first().unwrap_or(&NULL);
        match self {
            AggState::Count(n) => {
                *n += 1;
            }
            AggState::Distinct(set) => {
                if !v.is_null() {
                    set.insert(key_of(v));
                }
            }
            AggState::Sum { long, real } => match &*plain(v) {
                Value::Int(i) => *long = long.wrapping_add(i64::from(*i)),
                Value::Long(i) | Value::TimeSpan(i) => *long = long.wrapping_add(*i),
                Value::Bool(b) => *long += i64::from(*b),
                Value::Real(r) => *real += r,
                Value::Decimal(d) => *real += d.to_f64(),
                _ => {}
            },
            AggState::Avg { sum, n } => {
                let x = match &*plain(v) {
                    Value::TimeSpan(t) | Value::DateTime(t) => Some(*t as f64),
                    other => as_f64(other),
                };
                if let Some(x) = x {
                    *sum += x;
                    *n += 1;
                }
            }
            AggState::Best(best, max) => {
                if v.is_null() {
                    return;
                }
                let better = best.is_null()
                    || compare(v, best).is_some_and(|o| if *max { o.is_gt() } else { o.is_lt() });
                if better {
                    *best = v.clone();
                }
            }
            AggState::List(items, seen, collect) => {
                let set = *collect != Collect::List;
                let limit = method
                    .limit_at
                    .and_then(|i| args.get(i))
                    .and_then(crate::value::convert::as_i64)
                    .map_or(MAX_LIST, |l| l.max(0) as usize);
                if items.len() >= limit {
                    return;
                }
                if v.is_null() {
                    if method.keeps_nulls {
                        items.push(J::Null);
                    }
                    return;
                }
                if let Value::Dynamic(d) = v
                    && let Some(arr) = d.as_array()
                {
                    for j in arr {
                        let val = Value::dynamic(j.clone());
                        if !set || seen.insert(key_of(&val)) {
                            items.push(j.clone());
                        }
                    }
                    return;
                }
                if !set || seen.insert(key_of(v)) {
                    items.push(crate::value::convert::dyn_json(v));
                }
            }
            AggState::Bag(map) => {
                if let Value::Dynamic(d) = v
                    && let Some(o) = d.as_object()
                {
                    for (k, val) in o {
                        map.entry(k.clone()).or_insert_with(|| val.clone());
                    }
                }
            }
            AggState::Arg {
                best,
                row: kept,
                max,
            } => {
                if v.is_null() {
                    if kept.is_empty() && best.is_null() {
                        *kept = row.to_vec();
                    }
                    return;
                }
                let better = best.is_null()
                    || compare(v, best).is_some_and(|o| if *max { o.is_gt() } else { o.is_lt() });
                if better {
                    *best = v.clone();
                    *kept = row.to_vec();
                }
            }
            AggState::Any(kept) => {
                if kept.is_none() && !v.is_null() {
                    *kept = Some(if row.is_empty() {
                        vec![v.clone()]
                    } else {
                        row.to_vec()
                    });
                }
            }
            AggState::Values(vals) => {
                let weight = if method.weighted {
                    args.get(1).and_then(as_i64).unwrap_or(0)
                } else {
                    1
                };
                if !v.is_null() && weight > 0 {
                    vals.push((v.clone(), weight));
                }
            }
            AggState::Digest(items) => match v {
                // Merging: the input is itself a digest.
                Value::Dynamic(d) if method.merges => {
                    items.extend(d.as_array().into_iter().flatten().cloned());
                }
                _ if !v.is_null() => {
                    let weight = args.get(1).and_then(as_i64).unwrap_or(1);
                    if weight > 0 {
                        items.push(J::Array(vec![
                            crate::value::convert::dyn_json(v),
                            J::from(weight),
                        ]));
                    }
                }
                _ => {}
            },
            AggState::Schema(shape) => shape.add(&crate::value::convert::dyn_json(v)),
            AggState::CoMoments { n, sx, sy, sxy, .. } => {
                if let (Some(x), Some(y)) = (as_f64(v), args.get(1).and_then(as_f64)) {
                    *n += 1.0;
                    *sx += x;
                    *sy += y;
                    *sxy += x * y;
                }
            }
            AggState::Bits(acc, op) => {
                if let Some(x) = as_i64(v) {
                    *acc = Some(acc.map_or(x, |a| op(a, x)));
                }
            }
            AggState::Moments { n, sum, sq, .. } => {
                if let Some(x) = as_f64(v) {
                    *n += 1.0;
                    *sum += x;
                    *sq += x * x;
                }
            }
        }
    }

    /// The final values: one for most aggregates; several for `arg_max`, `arg_min`, `take_any`
    /// (the kept row) and `percentiles` (one per requested percentile).
    pub(crate) fn finish(&self, ty: ScalarType, percents: &[f64], width: usize) -> Vec<Value> {
        if let Some(v) = self.single(ty) {
            return vec![v];
        }
        let one = |v: Value| vec![coerce(v, ty)];
        match self {
            AggState::Arg { row, .. } | AggState::Any(Some(row)) => {
                let mut out = row.clone();
                out.resize(width, Value::Null);
                out
            }
            AggState::Any(None) => vec![Value::Null; width.max(1)],
            AggState::Values(vals) => {
                let mut sorted = vals.clone();
                sorted.sort_by(|a, b| sort_cmp(&a.0, &b.0));
                let picked: Vec<Value> = percents
                    .iter()
                    .map(|p| {
                        weighted_percentile(&sorted, *p).map_or(Value::Null, |v| coerce(v, ty))
                    })
                    .collect();
                if ty == ScalarType::Dynamic {
                    // Each element copies a value, and a call can ask for thousands: once the
                    // query is stopped the array ends (the query's next check says why).
                    let mut items = Vec::with_capacity(picked.len());
                    for v in &picked {
                        if crate::budget::check().is_err() {
                            break;
                        }
                        items.push(crate::value::convert::dyn_json(v));
                    }
                    one(Value::dynamic(J::Array(items)))
                } else {
                    picked
                }
            }
            _ => Vec::new(),
        }
    }

    /// The first of [`Self::finish`]'s values, without a vector for the one value most
    /// aggregates have.
    pub(crate) fn finish_first(&self, ty: ScalarType, percents: &[f64]) -> Value {
        self.single(ty).unwrap_or_else(|| {
            self.finish(ty, percents, 1)
                .into_iter()
                .next()
                .unwrap_or(Value::Null)
        })
    }

    /// The final value of an aggregate that has one; None for `arg_max`, `arg_min`, `take_any`
    /// and the percentiles, which [`Self::finish`] makes.
    fn single(&self, ty: ScalarType) -> Option<Value> {
        let one = |v: Value| Some(coerce(v, ty));
        match self {
            AggState::Count(n) => one(Value::Long(*n)),
            AggState::Distinct(set) => one(Value::Long(set.len() as i64)),
            // Over no (non-null) values, sum is 0, as Kusto documents for its defaults.
            AggState::Sum { long, real, .. } => match ty {
                ScalarType::Long => one(Value::Long(*long)),
                ScalarType::TimeSpan => one(Value::TimeSpan(*long)),
                _ => one(Value::Real(*real + *long as f64)),
            },
            // Kusto divides the sum by the count: over no (non-null) values that is 0/0, NaN,
            // where a timespan or datetime has no NaN and stays null.
            AggState::Avg { sum, n } => one(match (*n, ty) {
                (0, ScalarType::TimeSpan | ScalarType::DateTime) => Value::Null,
                (0, _) => Value::Real(f64::NAN),
                (_, ScalarType::TimeSpan) => Value::TimeSpan((sum / *n as f64) as i64),
                (_, ScalarType::DateTime) => Value::DateTime((sum / *n as f64) as i64),
                _ => Value::Real(sum / *n as f64),
            }),
            AggState::Best(v, _) => one(v.clone()),
            AggState::List(items, _, Collect::Sketch) if items.is_empty() => one(Value::Null),
            AggState::List(items, _, _) => one(Value::dynamic(J::Array(items.clone()))),
            AggState::Bag(map) => one(Value::dynamic(J::Object(map.clone()))),
            AggState::CoMoments {
                n,
                sx,
                sy,
                sxy,
                population,
            } => {
                let d = if *population { *n } else { n - 1.0 };
                one(if d <= 0.0 {
                    Value::Null
                } else {
                    Value::Real((sxy - sx * sy / n) / d)
                })
            }
            AggState::Bits(acc, _) => one(acc.map_or(Value::Null, Value::Long)),
            AggState::Schema(shape) => one(match shape.to_json() {
                J::Null => Value::Null,
                j => Value::dynamic(j),
            }),
            AggState::Digest(items) if items.is_empty() => one(Value::Null),
            AggState::Digest(items) => one(Value::dynamic(J::Array(items.clone()))),
            AggState::Moments {
                n,
                sum,
                sq,
                variance,
                population,
            } => {
                if *population {
                    if *n == 0.0 {
                        return one(Value::Null);
                    }
                    let var = ((sq - sum * sum / n) / n).max(0.0);
                    return one(Value::Real(if *variance { var } else { var.sqrt() }));
                }
                // One value, or none (Kusto's default), has no spread.
                if *n < 2.0 {
                    return one(Value::Real(0.0));
                }
                let var = ((sq - sum * sum / n) / (n - 1.0)).max(0.0);
                one(Value::Real(if *variance { var } else { var.sqrt() }))
            }
            AggState::Arg { .. } | AggState::Any(_) | AggState::Values(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_aggregate_is_defined_once_and_aliases_name_their_current_function() {
        let mut all: Vec<&str> = AGGREGATES
            .iter()
            .flat_map(|a| std::iter::once(a.name).chain(a.aliases.iter().copied()))
            .collect();
        let n = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), n, "a name or alias is defined twice");
        assert_eq!(canonical("makeset"), "make_set");
        assert_eq!(canonical("make_list_with_limit"), "make_list");
        assert_eq!(canonical("makebag"), "make_bag");
        assert_eq!(canonical("not_an_aggregate"), "not_an_aggregate");
        assert!(is_aggregate("makelist") && !is_aggregate("strlen"));
    }

    #[test]
    fn the_first_finished_value_is_the_first_of_all_of_them() {
        use ScalarType::*;
        let states = [
            (AggState::Count(3), Long),
            (AggState::Sum { long: 2, real: 0.5 }, Real),
            (AggState::Avg { sum: 0.0, n: 0 }, TimeSpan),
            (AggState::Best(Value::Long(4), true), Long),
            (
                AggState::Arg {
                    best: Value::Long(1),
                    row: vec![Value::str("a"), Value::Long(1)],
                    max: true,
                },
                String,
            ),
            (AggState::Any(None), Long),
            (
                AggState::Values(vec![(Value::Long(5), 1), (Value::Long(1), 1)]),
                Long,
            ),
            (AggState::Values(vec![(Value::Long(5), 1)]), Dynamic),
        ];
        for (state, ty) in states {
            let all = state.finish(ty, &[10.0, 90.0], 2);
            assert_eq!(
                Some(state.finish_first(ty, &[10.0, 90.0])),
                all.first().cloned(),
                "{state:?}"
            );
        }
    }

    #[test]
    fn result_types_follow_the_argument_where_kusto_does() {
        use ScalarType::*;
        assert_eq!(result_type("sum", &[Int]), Long);
        assert_eq!(result_type("sum", &[TimeSpan]), TimeSpan);
        assert_eq!(result_type("avg", &[DateTime]), DateTime);
        assert_eq!(result_type("avg", &[Long]), Real);
        assert_eq!(result_type("percentile", &[Int]), Long);
        assert_eq!(result_type("max", &[String]), String);
        assert_eq!(result_type("make_set", &[Long]), Dynamic);
        assert_eq!(result_type("dcount", &[String]), Long);
    }
}
