//! The KQL syntax tree. Every expression and operator carries the span of its text.

use crate::syntax::lexer::Span;
use crate::value::{ScalarType, Value};

/// A query text: statements separated by `;`.
#[derive(Debug, Clone, PartialEq)]
pub struct Script {
    pub statements: Vec<Statement>,
}

impl Script {
    /// What the query's trailing `render` asks for, if its output ends in one: for a service
    /// that runs the query but does not say (Defender's advanced hunting).
    pub fn visualization(&self) -> Option<&Visualization> {
        let Statement::Query(output) = self.statements.last()? else {
            return None;
        };
        let ExprKind::Pipe { ops, .. } = &output.kind else {
            return None;
        };
        match &ops.last()?.kind {
            OperatorKind::Render(v) => Some(v),
            _ => None,
        }
    }
}

/// One statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    /// `let name = value`.
    Let {
        name: String,
        value: LetValue,
        span: Span,
    },
    /// `set option [= value]`: a query option (the local engine reads `query_bin_auto_*`).
    Set {
        name: String,
        value: Option<Expr>,
        span: Span,
    },
    /// `declare query_parameters(...)` (ignored by the local engine).
    Declare { span: Span },
    /// `declare pattern name [= (arg:string, ...)[path:string] { ... }]`.
    Pattern(Pattern),
    /// A tabular (or scalar) expression whose result is the query's output.
    Query(Expr),
}

/// What a `let` binds.
#[derive(Debug, Clone, PartialEq)]
pub enum LetValue {
    Expr(Expr),
    Function(Function),
}

/// `declare pattern`: a name that maps tuples of strings (its arguments, and a path after a
/// `.`) to tabular expressions, invoked as `name("a").path` or `name("a")`.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    pub name: String,
    /// The arguments' names (all strings).
    pub params: Vec<String>,
    /// The path argument's name, if the pattern has one.
    pub path: Option<String>,
    /// The mappings; none when the pattern is only declared (`declare pattern name;`).
    pub cases: Vec<PatternCase>,
    pub span: Span,
}

/// One mapping of a pattern: `("a", "b").["path"] = { query }`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatternCase {
    pub args: Vec<String>,
    pub path: Option<String>,
    /// The mapped expression, as a function of no parameters.
    pub body: Function,
}

/// A user-defined function: `(a:string, b:int=1) { body }`.
#[derive(Debug, Clone, PartialEq)]
pub struct Function {
    pub params: Vec<Param>,
    pub body: Vec<Statement>,
    pub span: Span,
}

/// A function parameter. `ty` is None for a tabular parameter (`T:(*)` or `T:(a:string)`).
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub name: String,
    pub ty: Option<ScalarType>,
    pub default: Option<Expr>,
}

/// An expression, scalar or tabular.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

/// Binary operators of scalar expressions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
    /// `=~`.
    EqCi,
    /// `!~`.
    NeCi,
    /// A string predicate such as `has`, `!contains_cs`, `matches regex`.
    Str(StrOp, bool),
}

/// String predicates; the bool in `BinOp::Str` is negation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrOp {
    Has { cs: bool },
    HasPrefix { cs: bool },
    HasSuffix { cs: bool },
    Contains { cs: bool },
    StartsWith { cs: bool },
    EndsWith { cs: bool },
    MatchesRegex,
    HasAny,
    HasAll,
}

/// Expression shapes.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Literal(Value),
    /// A typed null such as `datetime(null)` or `long(null)`.
    NullOf(ScalarType),
    /// A name: column, `let` variable, table or parameter.
    Name(String),
    /// `*` (in `count(*)`, `arg_max(x, *)`, `project-away *`).
    Star,
    /// A table pattern with wildcards, e.g. `Device*` in `union`.
    Wildcard(String),
    /// `typeof(long)`.
    TypeOf(ScalarType),
    Member {
        target: Box<Expr>,
        name: String,
    },
    Index {
        target: Box<Expr>,
        index: Box<Expr>,
    },
    Call {
        name: String,
        args: Vec<Expr>,
    },
    /// `name = expr` as an argument or operator parameter.
    Named {
        name: String,
        value: Box<Expr>,
    },
    Neg(Box<Expr>),
    Binary {
        op: BinOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    In {
        expr: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
        ci: bool,
    },
    Between {
        expr: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
        negated: bool,
    },
    /// `source | op | op ...`.
    Pipe {
        source: Box<Expr>,
        ops: Vec<Operator>,
    },
    Datatable {
        columns: Vec<(String, ScalarType)>,
        values: Vec<Expr>,
    },
    Print(Vec<NamedExpr>),
    Range {
        name: String,
        from: Box<Expr>,
        to: Box<Expr>,
        step: Box<Expr>,
    },
    Union(Box<Union>),
    Search(Box<Search>),
    Find(Box<Find>),
    /// `externaldata(...) [...]`: parsed, never run.
    ExternalData,
    /// A tabular source the engine does not run (`find`, `evaluate` as source, ...).
    OtherSource(String),
}

/// `name = expr`, or just `expr` (the name is derived), or `(a, b) = expr`.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedExpr {
    pub names: Vec<String>,
    pub expr: Expr,
}

/// `evaluate pivot(...)`: each value of `column` becomes a column holding `agg` (`count()` when
/// not given) of its rows per key (`by`, or every column the pivot and `agg` do not use).
#[derive(Debug, Clone, PartialEq)]
pub struct Pivot {
    pub column: Expr,
    /// The aggregation, as a one-item summarize list.
    pub agg: Vec<NamedExpr>,
    pub by: Vec<Expr>,
}

/// A `union`.
#[derive(Debug, Clone, PartialEq)]
pub struct Union {
    pub params: Vec<(String, Expr)>,
    pub tables: Vec<Expr>,
}

/// A `search`: tables (all when empty) and a predicate whose bare strings are terms.
#[derive(Debug, Clone, PartialEq)]
pub struct Search {
    pub case_sensitive: bool,
    pub tables: Vec<Expr>,
    pub predicate: Expr,
}

/// `find [withsource=Name] [in (tables)] where predicate [project-smart | project columns]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Find {
    /// The column naming each row's table (`source_` by default).
    pub source: String,
    /// Every table when empty.
    pub tables: Vec<Expr>,
    pub predicate: Expr,
    /// `project`'s columns (with the types they are asked in); None for `project-smart`.
    pub project: Option<Vec<(String, Option<ScalarType>)>>,
}

/// Sort direction and null placement.
#[derive(Debug, Clone, PartialEq)]
pub struct SortKey {
    pub expr: Expr,
    pub desc: bool,
    pub nulls_first: Option<bool>,
}

/// Join condition.
#[derive(Debug, Clone, PartialEq)]
pub enum JoinOn {
    /// `on Col`: same name on both sides.
    Column(String),
    /// `on $left.A == $right.B`.
    Pair { left: String, right: String },
}

/// One element of a `parse` pattern.
#[derive(Debug, Clone, PartialEq)]
pub enum ParsePart {
    Literal(String),
    Column { name: String, ty: ScalarType },
    Star,
}

/// A `mv-expand` item.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpandItem {
    pub name: Option<String>,
    pub expr: Expr,
    pub to: Option<ScalarType>,
}

/// One level of `top-nested [N] of Expr [with others = V] by Aggregate [asc|desc]`.
#[derive(Debug, Clone, PartialEq)]
pub struct TopNestedLevel {
    pub count: Option<Expr>,
    pub of: NamedExpr,
    pub others: Option<Expr>,
    pub by: NamedExpr,
    pub desc: bool,
}

/// A `make-series`: each aggregate with its default for empty bins.
#[derive(Debug, Clone, PartialEq)]
pub struct MakeSeries {
    /// `kind=nonempty`: an empty input still gives one row of defaults.
    pub nonempty: bool,
    pub aggs: Vec<(NamedExpr, Option<Expr>)>,
    pub axis: Expr,
    pub from: Option<Expr>,
    pub to: Option<Expr>,
    pub step: Expr,
    pub by: Vec<NamedExpr>,
}

/// A tabular operator after `|`, with its span.
#[derive(Debug, Clone, PartialEq)]
pub struct Operator {
    pub kind: OperatorKind,
    pub span: Span,
}

/// Tabular operators.
#[derive(Debug, Clone, PartialEq)]
pub enum OperatorKind {
    Where(Expr),
    Extend(Vec<NamedExpr>),
    Project(Vec<NamedExpr>),
    ProjectAway(Vec<Expr>),
    ProjectKeep(Vec<Expr>),
    ProjectRename(Vec<(String, String)>),
    ProjectReorder(Vec<SortKey>),
    Summarize {
        aggs: Vec<NamedExpr>,
        by: Vec<NamedExpr>,
    },
    Sort(Vec<SortKey>),
    Top {
        count: Expr,
        keys: Vec<SortKey>,
    },
    Take(Expr),
    Count,
    Distinct(Vec<Expr>),
    Join {
        kind: Option<String>,
        right: Expr,
        on: Vec<JoinOn>,
    },
    Lookup {
        kind: Option<String>,
        right: Expr,
        on: Vec<JoinOn>,
    },
    Union(Box<Union>),
    MvExpand {
        /// `kind=`, `bagexpansion=`, `with_itemindex=`.
        params: Vec<(String, Expr)>,
        items: Vec<ExpandItem>,
        limit: Option<Expr>,
    },
    Parse {
        source: Expr,
        kind: String,
        /// Regex flags of `kind=regex` (`flags=Ui`).
        flags: String,
        parts: Vec<ParsePart>,
        filter: bool,
    },
    Serialize(Vec<NamedExpr>),
    GetSchema,
    As(String),
    Render(Visualization),
    Sample(Expr),
    Invoke(Expr),
    /// `evaluate plugin(...)`: the plugin's name.
    Evaluate {
        plugin: String,
        args: Vec<Expr>,
    },
    /// `evaluate pivot(column [, aggregation [, key, ...]])`.
    Pivot(Box<Pivot>),
    Search(Box<Search>),
    TopNested(Vec<TopNestedLevel>),
    /// `make-series aggs on axis from a to b step s by keys`.
    MakeSeries(Box<MakeSeries>),
    /// `mv-apply items on (operators)`: the operators run once per row over its expanded items.
    MvApply {
        items: Vec<ExpandItem>,
        limit: Option<Expr>,
        ops: Vec<Operator>,
    },
    /// `partition by Column (operators)`: the operators run on the rows of each value apart.
    Partition {
        by: String,
        ops: Vec<Operator>,
    },
    /// An operator the parser understands but the engine does not run.
    Other(String),
}

/// What a `render` operator asks the user agent for: the visualization (`timechart`,
/// `columnchart`, ...) and its `with (name = value, ...)` properties in the order written
/// (`title`, `xtitle`, `kind`, `ycolumns`, ...; a list value joined by commas). It does not
/// change the data.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Visualization {
    pub kind: String,
    pub properties: Vec<(String, String)>,
}
