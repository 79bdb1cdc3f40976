//! `QueryGuard`: what may run or be sent, checked before any backend sees a query.
//!
//! The guard parses the query and walks every statement, `let` and function body, pipe,
//! subquery and nested expression, refusing control commands, ingestion, `externaldata`,
//! plugins that reach the network or run code, and references outside the workspace. A token
//! scan of the whole text backs the walk up, so constructs the parser keeps opaque (the bodies of
//! `partition`, `fork`, `facet`, `find`, …) and queries the local parser cannot read are checked
//! too. It also enforces the query length and the time window, and carries the row, byte and time
//! limits a backend must apply. Each refusal names its rule and the setting that controls it.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::error::{KqlError, Location};
use crate::settings;
use crate::syntax::ast::*;
use crate::syntax::lexer::{Span, Token, TokenKind, tokenize};
use crate::syntax::parser;
use crate::syntax::prepared::Prepared;
use crate::value::TICKS_PER_SECOND;

const TICKS_PER_DAY: i64 = 86_400 * TICKS_PER_SECOND;

/// Plugins refused by name: they reach the network or run code.
const FORBIDDEN_PLUGINS: [&str; 14] = [
    "http_request",
    "http_request_post",
    "sql_request",
    "mysql_request",
    "postgresql_request",
    "cosmosdb_sql_request",
    "azure_digital_twins_query_request",
    "python",
    "r",
    "java",
    "infer_storage_schema",
    "infer_storage_schema_with_suggestions",
    "external_data",
    "ai_embed_text",
];

/// Functions that name another cluster, database or service; always refused.
const CROSS_SCOPE_ALWAYS: [&str; 4] = ["cluster", "database", "adx", "arg"];
/// Functions that name a workspace or application; allowed only for the configured workspace.
const CROSS_SCOPE_WORKSPACE: [&str; 3] = ["workspace", "app", "resource"];

/// Control commands that write data.
const INGESTION_COMMANDS: [&str; 7] = [
    "ingest",
    "set",
    "append",
    "set-or-append",
    "set-or-replace",
    "replace",
    "move",
];

/// Whether a plugin reaches the network or runs code.
pub fn plugin_is_forbidden(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    FORBIDDEN_PLUGINS.contains(&n.as_str())
        || n.ends_with("_request")
        || n.ends_with("_request_post")
        || n.starts_with("ai_")
        || n.starts_with("infer_storage_schema")
}

/// The read-only rules the guard enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// `.show`, `.drop`, … management commands.
    ControlCommand,
    /// `.ingest`, `.set`, `.append`, … commands that write data.
    Ingestion,
    /// `externaldata` reads URLs.
    ExternalData,
    /// `evaluate http_request(…)`, `python(…)`, …
    NetworkPlugin,
    /// `cluster(…)`, `database(…)`, `workspace(…)` of another workspace, `adx(…)`, `arg(…)`.
    CrossScope,
}

impl Rule {
    /// The rule's short name.
    pub fn name(self) -> &'static str {
        match self {
            Rule::ControlCommand => "no control commands",
            Rule::Ingestion => "no ingestion",
            Rule::ExternalData => "no externaldata",
            Rule::NetworkPlugin => "no network or code plugins",
            Rule::CrossScope => "no cross-cluster or cross-workspace references",
        }
    }

    fn why(self) -> &'static str {
        match self {
            Rule::ControlCommand => "this server runs read-only queries, not management commands",
            Rule::Ingestion => "this server never writes data to a workspace",
            Rule::ExternalData => "it reads data from URLs outside the workspace",
            Rule::NetworkPlugin => "the plugin reaches the network or runs code",
            Rule::CrossScope => "queries may only read this server's workspace",
        }
    }

    fn control(self) -> String {
        match self {
            Rule::CrossScope => format!(
                "a read-only rule; only the workspace in {} may be named",
                settings::WORKSPACE_ID
            ),
            _ => "a read-only rule that no setting relaxes".into(),
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why the guard refused a query.
#[derive(thiserror::Error, Debug, Clone, PartialEq)]
pub enum GuardError {
    /// The query does not parse; the parser's error, with its location, as it is.
    #[error(transparent)]
    Syntax(KqlError),
    #[error(
        "The query is {} characters; the limit is {} ({}). Shorten it, e.g. move long lists into a shorter filter.",
        group(*.chars), group(*.limit), settings::MAX_QUERY_CHARS
    )]
    TooLong { chars: usize, limit: usize },
    #[error(
        "The guard's '{rule}' rule refuses {construct} at {location}: {why} ({control}).",
        why = rule.why(), control = rule.control()
    )]
    Refused {
        rule: Rule,
        construct: String,
        location: Location,
    },
    #[error(
        "The requested time window is {}; the limit is {} ({}; without a timespan argument the window is {}). Ask for a shorter timespan.",
        describe_ticks(*.requested), describe_ticks(*.limit), settings::MAX_TIMESPAN, settings::DEFAULT_TIMESPAN
    )]
    TimespanTooLong { requested: i64, limit: i64 },
    #[error("The requested time window ends before it starts; give a start before the end.")]
    EmptyTimespan,
}

impl GuardError {
    /// The read-only rule that refused the query, if it was one.
    pub fn rule(&self) -> Option<Rule> {
        match self {
            GuardError::Refused { rule, .. } => Some(*rule),
            _ => None,
        }
    }
}

/// What the parser does not understand: refuse (local engine), or leave to the service whose
/// KQL is the authority (remote backends), after the token scan has checked the read-only rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyntaxPolicy {
    Strict,
    LeaveToService,
}

/// The limits and rules every query passes before it runs or is sent.
#[derive(Debug, Clone)]
pub struct QueryGuard {
    /// Longest query text, in characters.
    pub max_query_chars: usize,
    /// Window applied when the caller names none (ticks).
    pub default_timespan: i64,
    /// Longest window a caller may ask for (ticks).
    pub max_timespan: i64,
    /// Rows a result may carry.
    pub max_rows: usize,
    /// Bytes a result's rows may take.
    pub max_result_bytes: usize,
    /// Time a query may run before it is cancelled.
    pub timeout: Duration,
    /// Workspaces `workspace()`, `app()` and `resource()` may name (ids or names, any case).
    pub allowed_workspaces: Vec<String>,
    pub syntax: SyntaxPolicy,
}

impl Default for QueryGuard {
    fn default() -> Self {
        QueryGuard {
            max_query_chars: 20_000,
            default_timespan: 30 * TICKS_PER_DAY,
            max_timespan: 365 * TICKS_PER_DAY,
            max_rows: 5_000,
            max_result_bytes: 256 * 1024,
            timeout: Duration::from_secs(60),
            allowed_workspaces: Vec::new(),
            syntax: SyntaxPolicy::Strict,
        }
    }
}

/// A query the guard let through, with the window and limits to run it under.
#[derive(Debug, Clone, PartialEq)]
pub struct GuardedQuery {
    pub query: String,
    /// Whether the local parser understood it (always true under `SyntaxPolicy::Strict`).
    pub parsed: bool,
    /// The query as the guard parsed it, when it did: the local engine runs it as it is.
    pub prepared: Option<Arc<Prepared>>,
    /// `[start, end)` in ticks.
    pub range: (i64, i64),
    pub max_rows: usize,
    pub max_result_bytes: usize,
    pub timeout: Duration,
}

impl QueryGuard {
    /// Checks `query` and the requested window (`[start, end)` ticks; None takes the default,
    /// ending at `now`). Nothing runs: the guard only parses and inspects.
    pub fn check(
        &self,
        query: &str,
        requested: Option<(i64, i64)>,
        now: i64,
    ) -> Result<GuardedQuery, GuardError> {
        let prepared = self.read_only(query)?;
        let range = match requested {
            Some((start, end)) => (start, end),
            None => (
                now.saturating_sub(self.default_timespan),
                now.saturating_add(1),
            ),
        };
        let length = range.1.saturating_sub(range.0);
        if length <= 0 {
            return Err(GuardError::EmptyTimespan);
        }
        // A duration window is [now - d, now + 1): allow the one tick.
        if length > self.max_timespan.saturating_add(1) {
            return Err(GuardError::TimespanTooLong {
                requested: length,
                limit: self.max_timespan,
            });
        }
        Ok(GuardedQuery {
            query: query.to_string(),
            parsed: prepared.is_some(),
            prepared: prepared.map(Arc::new),
            range,
            max_rows: self.max_rows,
            max_result_bytes: self.max_result_bytes,
            timeout: self.timeout,
        })
    }

    /// Checks what the query text may do (its length and the read-only rules) and nothing about
    /// a time window: for a caller that sends the window apart from the query, as the Azure path
    /// does.
    pub fn check_read_only(&self, query: &str) -> Result<(), GuardError> {
        self.read_only(query).map(|_| ())
    }

    /// [`QueryGuard::check_read_only`], with the query as parsed when the local parser
    /// understood it.
    fn read_only(&self, query: &str) -> Result<Option<Prepared>, GuardError> {
        let chars = query.chars().count();
        if chars > self.max_query_chars {
            return Err(GuardError::TooLong {
                chars,
                limit: self.max_query_chars,
            });
        }
        // Parse and walk on a large stack: trees nest deeply, and the tree is dropped there too.
        parser::on_deep_stack(|| Ok(self.inspect(query)))
            .map_err(GuardError::Syntax)
            .and_then(|r| r)
    }

    /// Parses and checks; the query as parsed, None when the local parser did not understand it.
    fn inspect(&self, query: &str) -> Result<Option<Prepared>, GuardError> {
        let tokens = tokenize(query).map_err(GuardError::Syntax)?;
        match parser::parse_tokens(query, &tokens) {
            Ok(script) => {
                let walker = Walker {
                    guard: self,
                    text: query,
                };
                for s in &script.statements {
                    walker.statement(s)?;
                }
                self.scan(&tokens, false)?;
                Ok(Some(Prepared {
                    text: query.to_string(),
                    tokens,
                    script,
                }))
            }
            Err(KqlError::Forbidden { location, .. }) => Err(control_command(&tokens, location)),
            Err(e) => {
                self.scan(&tokens, true)?;
                match self.syntax {
                    SyntaxPolicy::Strict => Err(GuardError::Syntax(e)),
                    SyntaxPolicy::LeaveToService => Ok(None),
                }
            }
        }
    }

    /// The token scan: catches what the tree keeps opaque, and checks text the parser refused.
    /// Control commands are looked for only when the parser could not do it (`unparsed`).
    fn scan(&self, tokens: &[Token], unparsed: bool) -> Result<(), GuardError> {
        for (i, t) in tokens.iter().enumerate() {
            if unparsed
                && matches!(t.kind, TokenKind::Punct("."))
                && matches!(
                    tokens.get(i + 1).map(|n| &n.kind),
                    Some(TokenKind::Ident(_))
                )
                && (i == 0
                    || matches!(tokens[i - 1].kind, TokenKind::Punct(";" | "{"))
                    || tokens[i - 1].location.line < t.location.line)
            {
                return Err(control_command(tokens, t.location));
            }
            let TokenKind::Ident(word) = &t.kind else {
                continue;
            };
            let called = matches!(
                tokens.get(i + 1).map(|n| &n.kind),
                Some(TokenKind::Punct("("))
            );
            // Compared without case and without a lowered copy of every name.
            let is = |w: &str| word.eq_ignore_ascii_case(w);
            let listed = |list: &[&str]| list.iter().any(|w| is(w));
            if is("externaldata") && called {
                return Err(refused(
                    Rule::ExternalData,
                    "externaldata".into(),
                    t.location,
                ));
            }
            if is("evaluate")
                && let Some(p) = plugin_after(&tokens[i + 1..])
                && let TokenKind::Ident(name) = &p.kind
                && plugin_is_forbidden(name)
            {
                return Err(refused(
                    Rule::NetworkPlugin,
                    format!("the plugin '{name}'"),
                    p.location,
                ));
            }
            if called && listed(&CROSS_SCOPE_ALWAYS) {
                return Err(cross_scope(word, t.location));
            }
            if called && listed(&CROSS_SCOPE_WORKSPACE) {
                let arg = match (tokens.get(i + 2), tokens.get(i + 3)) {
                    (
                        Some(Token {
                            kind: TokenKind::Str(s),
                            ..
                        }),
                        Some(Token {
                            kind: TokenKind::Punct(")"),
                            ..
                        }),
                    ) => Some(s.as_str()),
                    _ => None,
                };
                if !self.workspace_allowed(arg) {
                    return Err(cross_scope(word, t.location));
                }
            }
        }
        Ok(())
    }

    fn workspace_allowed(&self, arg: Option<&str>) -> bool {
        arg.is_some_and(|a| {
            self.allowed_workspaces
                .iter()
                .any(|w| !w.is_empty() && w.eq_ignore_ascii_case(a.trim()))
        })
    }
}

/// The plugin name after `evaluate`: the first name called with `(`, skipping `hint.x=y` params.
fn plugin_after(tokens: &[Token]) -> Option<&Token> {
    for (j, t) in tokens.iter().enumerate() {
        match &t.kind {
            TokenKind::Punct("|" | ";") | TokenKind::Eof => return None,
            TokenKind::Ident(_)
                if matches!(
                    tokens.get(j + 1).map(|n| &n.kind),
                    Some(TokenKind::Punct("("))
                ) =>
            {
                return Some(t);
            }
            _ => {}
        }
    }
    None
}

fn refused(rule: Rule, construct: String, location: Location) -> GuardError {
    GuardError::Refused {
        rule,
        construct,
        location,
    }
}

fn cross_scope(word: &str, location: Location) -> GuardError {
    refused(
        Rule::CrossScope,
        format!("the reference '{word}()'"),
        location,
    )
}

/// A control command at `location` (its `.`): ingestion or management.
fn control_command(tokens: &[Token], location: Location) -> GuardError {
    let name = tokens
        .iter()
        .position(|t| t.location == location)
        .and_then(|i| tokens.get(i + 1))
        .and_then(|t| match &t.kind {
            TokenKind::Ident(w) => Some(w.to_ascii_lowercase()),
            _ => None,
        })
        .unwrap_or_default();
    let rule = if INGESTION_COMMANDS.contains(&name.as_str()) {
        Rule::Ingestion
    } else {
        Rule::ControlCommand
    };
    refused(rule, format!("the command '.{name}'"), location)
}

/// Walks the tree; every refusal carries the location of the construct.
struct Walker<'a> {
    guard: &'a QueryGuard,
    text: &'a str,
}

impl Walker<'_> {
    fn at(&self, span: Span) -> Location {
        Location::from_offset(self.text, span.start)
    }

    fn statement(&self, s: &Statement) -> Result<(), GuardError> {
        match s {
            Statement::Let { value, .. } => match value {
                LetValue::Expr(e) => self.expr(e),
                LetValue::Function(f) => self.function(f),
            },
            Statement::Set { .. } | Statement::Declare { .. } => Ok(()),
            // Every mapping is checked, invoked or not.
            Statement::Pattern(p) => p.cases.iter().try_for_each(|c| self.function(&c.body)),
            Statement::Query(e) => self.expr(e),
        }
    }

    fn function(&self, f: &Function) -> Result<(), GuardError> {
        for p in &f.params {
            if let Some(d) = &p.default {
                self.expr(d)?;
            }
        }
        f.body.iter().try_for_each(|s| self.statement(s))
    }

    fn exprs<'e>(&self, es: impl IntoIterator<Item = &'e Expr>) -> Result<(), GuardError> {
        es.into_iter().try_for_each(|e| self.expr(e))
    }

    fn named(&self, ns: &[NamedExpr]) -> Result<(), GuardError> {
        self.exprs(ns.iter().map(|n| &n.expr))
    }

    fn keys(&self, ks: &[SortKey]) -> Result<(), GuardError> {
        self.exprs(ks.iter().map(|k| &k.expr))
    }

    fn plugin(&self, name: &str, span: Span) -> Result<(), GuardError> {
        if plugin_is_forbidden(name) {
            return Err(refused(
                Rule::NetworkPlugin,
                format!("the plugin '{name}'"),
                self.at(span),
            ));
        }
        Ok(())
    }

    fn expr(&self, e: &Expr) -> Result<(), GuardError> {
        match &e.kind {
            ExprKind::Literal(_)
            | ExprKind::NullOf(_)
            | ExprKind::Name(_)
            | ExprKind::Star
            | ExprKind::Wildcard(_)
            | ExprKind::TypeOf(_) => Ok(()),
            ExprKind::ExternalData => Err(refused(
                Rule::ExternalData,
                "externaldata".into(),
                self.at(e.span),
            )),
            ExprKind::OtherSource(w) => {
                if w == "evaluate" {
                    // The parser keeps a source `evaluate` opaque: read the plugin from its text.
                    let text = self.text.get(e.span.start..e.span.end).unwrap_or("");
                    if let Ok(tokens) = tokenize(text)
                        && let Some(p) = tokens.get(1..).and_then(plugin_after)
                        && let TokenKind::Ident(name) = &p.kind
                    {
                        self.plugin(
                            name,
                            Span {
                                start: e.span.start + p.span.start,
                                end: e.span.start + p.span.end,
                            },
                        )?;
                    }
                }
                Ok(())
            }
            ExprKind::Member { target, .. } => self.expr(target),
            ExprKind::Index { target, index } => {
                self.expr(target)?;
                self.expr(index)
            }
            ExprKind::Call { name, args } => {
                let lower = name.to_ascii_lowercase();
                if CROSS_SCOPE_ALWAYS.contains(&lower.as_str()) {
                    return Err(cross_scope(name, self.at(e.span)));
                }
                if CROSS_SCOPE_WORKSPACE.contains(&lower.as_str()) {
                    let arg = match args.as_slice() {
                        [
                            Expr {
                                kind: ExprKind::Literal(crate::value::Value::String(s)),
                                ..
                            },
                        ] => Some(s.as_ref()),
                        _ => None,
                    };
                    if !self.guard.workspace_allowed(arg) {
                        return Err(cross_scope(name, self.at(e.span)));
                    }
                }
                self.exprs(args)
            }
            ExprKind::Named { value, .. } => self.expr(value),
            ExprKind::Neg(x) => self.expr(x),
            ExprKind::Binary { left, right, .. } => {
                self.expr(left)?;
                self.expr(right)
            }
            ExprKind::In { expr, list, .. } => {
                self.expr(expr)?;
                self.exprs(list)
            }
            ExprKind::Between {
                expr, low, high, ..
            } => {
                self.expr(expr)?;
                self.expr(low)?;
                self.expr(high)
            }
            ExprKind::Pipe { source, ops } => {
                self.expr(source)?;
                ops.iter().try_for_each(|o| self.operator(o))
            }
            ExprKind::Datatable { values, .. } => self.exprs(values),
            ExprKind::Print(items) => self.named(items),
            ExprKind::Range { from, to, step, .. } => {
                self.expr(from)?;
                self.expr(to)?;
                self.expr(step)
            }
            ExprKind::Union(u) => self.union(u),
            ExprKind::Search(s) => self.search(s),
            ExprKind::Find(f) => {
                self.exprs(&f.tables)?;
                self.expr(&f.predicate)
            }
        }
    }

    fn union(&self, u: &Union) -> Result<(), GuardError> {
        self.exprs(u.params.iter().map(|(_, e)| e))?;
        self.exprs(&u.tables)
    }

    fn search(&self, s: &Search) -> Result<(), GuardError> {
        self.exprs(&s.tables)?;
        self.expr(&s.predicate)
    }

    fn expand_items(&self, items: &[ExpandItem]) -> Result<(), GuardError> {
        self.exprs(items.iter().map(|i| &i.expr))
    }

    fn operator(&self, o: &Operator) -> Result<(), GuardError> {
        match &o.kind {
            OperatorKind::Where(e)
            | OperatorKind::Take(e)
            | OperatorKind::Sample(e)
            | OperatorKind::Invoke(e) => self.expr(e),
            OperatorKind::Extend(ns) | OperatorKind::Project(ns) | OperatorKind::Serialize(ns) => {
                self.named(ns)
            }
            OperatorKind::ProjectAway(es)
            | OperatorKind::ProjectKeep(es)
            | OperatorKind::Distinct(es) => self.exprs(es),
            OperatorKind::ProjectRename(_)
            | OperatorKind::Count
            | OperatorKind::GetSchema
            | OperatorKind::As(_)
            | OperatorKind::Render(_)
            | OperatorKind::Other(_) => Ok(()),
            OperatorKind::ProjectReorder(ks) | OperatorKind::Sort(ks) => self.keys(ks),
            OperatorKind::Summarize { aggs, by } => {
                self.named(aggs)?;
                self.named(by)
            }
            OperatorKind::Top { count, keys } => {
                self.expr(count)?;
                self.keys(keys)
            }
            OperatorKind::Join { right, .. } | OperatorKind::Lookup { right, .. } => {
                self.expr(right)
            }
            OperatorKind::Union(u) => self.union(u),
            OperatorKind::MvExpand {
                params,
                items,
                limit,
            } => {
                self.exprs(params.iter().map(|(_, e)| e))?;
                self.expand_items(items)?;
                self.exprs(limit)
            }
            OperatorKind::Parse { source, .. } => self.expr(source),
            OperatorKind::Evaluate { plugin, args } => {
                // The plugin name follows `evaluate` and any params; point at the operator.
                self.plugin(plugin, o.span)?;
                self.exprs(args)
            }
            OperatorKind::Pivot(p) => {
                self.expr(&p.column)?;
                self.named(&p.agg)?;
                self.exprs(&p.by)
            }
            OperatorKind::Search(s) => self.search(s),
            OperatorKind::MakeSeries(m) => {
                for (agg, default) in &m.aggs {
                    self.expr(&agg.expr)?;
                    self.exprs(default)?;
                }
                self.expr(&m.axis)?;
                self.exprs(&m.from)?;
                self.exprs(&m.to)?;
                self.expr(&m.step)?;
                self.named(&m.by)
            }
            OperatorKind::TopNested(levels) => levels.iter().try_for_each(|l| {
                self.exprs(&l.count)?;
                self.expr(&l.of.expr)?;
                self.exprs(&l.others)?;
                self.expr(&l.by.expr)
            }),
            OperatorKind::Partition { ops, .. } => ops.iter().try_for_each(|o| self.operator(o)),
            OperatorKind::MvApply { items, limit, ops } => {
                self.expand_items(items)?;
                self.exprs(limit)?;
                ops.iter().try_for_each(|o| self.operator(o))
            }
        }
    }
}

/// `25301` as `25,301`.
fn group(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A window length in words: `400 days`, `36 hours`, or Kusto's `d.hh:mm:ss`.
fn describe_ticks(ticks: i64) -> String {
    let hour = 3_600 * TICKS_PER_SECOND;
    if ticks % TICKS_PER_DAY == 0 || ticks % TICKS_PER_DAY == 1 {
        format!("{} days", group((ticks / TICKS_PER_DAY) as usize))
    } else if ticks % hour <= 1 {
        format!("{} hours", group((ticks / hour) as usize))
    } else {
        crate::value::format_timespan(ticks)
    }
}

#[cfg(test)]
mod tests;
