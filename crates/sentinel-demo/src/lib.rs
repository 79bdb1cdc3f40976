//! A generated Microsoft Sentinel workspace for sentinel-mcp's demo mode: every Sentinel and
//! Defender XDR table that real hunting queries name, with its complete documented schema (from
//! [`kql::catalog::schemas`], the schemas the file loader types exports with), benign activity of
//! a fictional organisation (contoso.com) and one attack story woven through every table it would
//! touch. See [`story()`] for the story and docs/demo-workspace.md for the tables.
//!
//! The product's data, not the language's: it lives apart from the `kql` crate and uses only its
//! public API (a [`Catalog`] of tables made on first use, [`Value`]s, the schemas).
//!
//! Each table is generated when a query first needs it (an idle server holds none of them) and is
//! then kept as Arrow batches (as rows in a build without DataFusion). Generation is
//! deterministic for a given `(seed, total_rows, now_ticks)`, and one table's rows do not depend
//! on which tables were made before it: each table is made from the story and the noise units
//! that write it, each unit from its own random stream. The seed varies the noise only: the story
//! rows are the same for every seed and every `total_rows`, so the story's description and its
//! queries hold for every demo workspace.

mod noise;
mod org;
mod rows;
mod sentinel;
mod story;

use std::collections::HashMap;
use std::sync::Arc;

use kql::catalog::{Catalog, schemas};
use kql::table::{Column, Table};
use kql::value::{ScalarType, TICKS_PER_SECOND, Value};

use noise::UNITS;
use org::Org;

/// The seed the server uses for its demo workspace unless told otherwise.
pub const SEED: u64 = 0x5E57_1DE1_2026;

/// The row count the server asks for by default.
pub const DEFAULT_ROWS: usize = 120_000;

/// The demo workspace: ~`total_rows` rows over every documented table, every timestamp within
/// the 14 days before `now_ticks` (100 ns ticks since the Unix epoch). Tables are made on first
/// use.
pub fn workspace(seed: u64, total_rows: usize, now_ticks: i64) -> Catalog {
    let plan = Arc::new(Plan::new(seed, total_rows, now_ticks));
    let mut catalog = Catalog::new();
    for schema in schemas::tables() {
        let plan = Arc::clone(&plan);
        let name = schema.name;
        catalog.insert_lazy(
            name,
            schema.engine_columns(),
            Arc::new(move || plan.table(name)),
        );
    }
    catalog
}

/// A short markdown description of the attack story in the demo workspace.
pub fn story() -> &'static str {
    story::DESCRIPTION
}

// The tests count allocations as the server does, so query budgets are enforced in them too.
#[cfg(test)]
#[global_allocator]
static ALLOCATOR: kql::budget::CountingAllocator =
    kql::budget::CountingAllocator(std::alloc::System);

const SECOND: i64 = TICKS_PER_SECOND;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
/// How far back the workspace's data reaches.
const SPAN: i64 = 14 * DAY;

/// A piece of benign activity: the tables it writes, its share of the noise rows, and the
/// function that writes `n` of its events.
struct Unit {
    name: &'static str,
    tables: &'static [&'static str],
    /// Share of the noise budget, in events (one event may write rows to several tables).
    share: f64,
    run: fn(&mut Gen, &Org, &mut Rng, usize),
}

/// What one demo workspace is made of: its seed, size and clock.
struct Plan {
    seed: u64,
    now: i64,
    /// Noise events per unit, in the order of [`UNITS`].
    events: Vec<usize>,
}

impl Plan {
    fn new(seed: u64, total_rows: usize, now: i64) -> Plan {
        // The story and the units of a fixed size (inventories) come first; noise fills the rest.
        let org = Org::new();
        let mut count = Gen::new(now, Keep::Count);
        story::write(&mut count, &org);
        for unit in UNITS.iter().filter(|u| u.share == 0.0) {
            (unit.run)(&mut count, &org, &mut Rng::new(seed ^ fnv(unit.name)), 0);
        }
        let budget = total_rows.saturating_sub(count.counted) as f64;
        let events = UNITS
            .iter()
            .map(|u| (budget * u.share).round() as usize)
            .collect();
        Plan { seed, now, events }
    }

    /// One table: the story's rows and the rows of every noise unit that writes it.
    fn table(&self, name: &'static str) -> Table {
        let org = Org::new();
        let mut g = Gen::new(self.now, Keep::Table(TableBuilder::new(name)));
        story::write(&mut g, &org);
        for (unit, &n) in UNITS.iter().zip(&self.events) {
            if unit.tables.contains(&name) {
                g.begin_unit(unit);
                (unit.run)(&mut g, &org, &mut Rng::new(self.seed ^ fnv(unit.name)), n);
            }
        }
        g.finish()
    }
}

/// Which rows a [`Gen`] keeps.
enum Keep {
    /// Only counts the rows (to size the noise around the story).
    Count,
    /// Keeps the rows of one table.
    Table(TableBuilder),
}

/// One table under construction: columns by name, and a template row of defaults.
struct TableBuilder {
    name: &'static str,
    columns: Vec<Column>,
    index: HashMap<&'static str, usize>,
    template: Vec<Value>,
    rows: Vec<Vec<Value>>,
    time_generated: Option<usize>,
    timestamp: Option<usize>,
}

impl TableBuilder {
    fn new(name: &'static str) -> TableBuilder {
        let cols: &[(&'static str, ScalarType)] =
            schemas::table(name).map_or(&[], |s| s.columns.as_slice());
        let empty = Value::str("");
        let template = cols
            .iter()
            .map(|&(col, ty)| match col {
                "Type" => Value::str(name),
                "TenantId" => Value::str(org::TENANT_ID),
                "_IsBillable" => Value::str("True"),
                // Kusto strings are never null: an absent string is empty.
                _ if ty == ScalarType::String => empty.clone(),
                _ => Value::Null,
            })
            .collect();
        let index: HashMap<&'static str, usize> = cols
            .iter()
            .enumerate()
            .map(|(i, &(col, _))| (col, i))
            .collect();
        let datetime = |col: &str| {
            cols.iter()
                .position(|&(c, ty)| c == col && ty == ScalarType::DateTime)
        };
        TableBuilder {
            name,
            columns: cols.iter().map(|&(col, ty)| Column::new(col, ty)).collect(),
            time_generated: datetime("TimeGenerated"),
            timestamp: datetime("Timestamp"),
            index,
            template,
            rows: Vec::new(),
        }
    }

    /// Adds a row; every field must name a column of the table (`lenient`: fields naming other
    /// columns are skipped, for the process columns only some Defender tables have).
    fn push<'a>(&mut self, fields: impl IntoIterator<Item = (&'a str, Value)>, lenient: bool) {
        let mut row = self.template.clone();
        for (col, value) in fields {
            match self.index.get(col) {
                Some(&i) => row[i] = typed(value, self.columns[i].ty),
                None => debug_assert!(lenient, "{} has no column {col}", self.name),
            }
        }
        // Sentinel's copies of Defender XDR tables carry the event time in both columns.
        if let (Some(tg), Some(ts)) = (self.time_generated, self.timestamp) {
            if row[tg].is_null() {
                row[tg] = row[ts].clone();
            } else if row[ts].is_null() {
                row[ts] = row[tg].clone();
            }
        }
        self.rows.push(row);
    }

    fn finish(mut self) -> Table {
        if let Some(t) = self.time_generated.or(self.timestamp) {
            self.rows.sort_by_key(|r| match r[t] {
                Value::DateTime(t) => t,
                _ => i64::MIN,
            });
        }
        Table {
            columns: self.columns,
            rows: self.rows,
        }
    }
}

/// A generated value in its column's type: the generators write guids as text, as the services
/// send them, and a guid column holds guids (the Arrow form restores them; the row form, which
/// a build without DataFusion keeps, must hold them too).
fn typed(value: Value, ty: ScalarType) -> Value {
    match (ty, value) {
        (ScalarType::Guid, Value::String(text)) => {
            uuid::Uuid::parse_str(&text).map_or_else(|_| Value::String(text), Value::Guid)
        }
        (_, value) => value,
    }
}

/// The workspace under construction: the rows of the table being made.
pub(crate) struct Gen {
    now: i64,
    keep: Keep,
    counted: usize,
    next_report_id: i64,
    /// The tables the running noise unit declared (rows for others are a bug in the unit).
    unit_tables: Option<&'static [&'static str]>,
}

impl Gen {
    fn new(now: i64, keep: Keep) -> Gen {
        Gen {
            now,
            keep,
            counted: 0,
            next_report_id: 1000,
            unit_tables: None,
        }
    }

    /// Starts a noise unit: its report ids start at a value of its own, so a table's rows do not
    /// depend on which units ran before.
    fn begin_unit(&mut self, unit: &Unit) {
        self.unit_tables = Some(unit.tables);
        self.next_report_id = 1_000_000 + (fnv(unit.name) % 1_000_000) as i64 * 1_000;
    }

    /// Whether rows for `table` are kept (callers may skip building them otherwise).
    pub fn wants(&self, table: &str) -> bool {
        match &self.keep {
            Keep::Count => true,
            Keep::Table(t) => t.name == table,
        }
    }

    /// Adds a row to `table`; every field must name one of its columns.
    pub fn push<'a>(&mut self, table: &str, fields: impl IntoIterator<Item = (&'a str, Value)>) {
        self.add(table, fields, false);
    }

    /// Adds a row to `table`, skipping fields that name columns it does not have.
    pub fn push_known<'a>(
        &mut self,
        table: &str,
        fields: impl IntoIterator<Item = (&'a str, Value)>,
    ) {
        self.add(table, fields, true);
    }

    fn add<'a>(
        &mut self,
        table: &str,
        fields: impl IntoIterator<Item = (&'a str, Value)>,
        lenient: bool,
    ) {
        debug_assert!(
            schemas::table(table).is_some(),
            "{table} is not a documented table"
        );
        debug_assert!(
            self.unit_tables.is_none_or(|ts| ts.contains(&table)),
            "a noise unit wrote {table} without declaring it"
        );
        match &mut self.keep {
            Keep::Count => self.counted += 1,
            Keep::Table(t) if t.name == table => t.push(fields, lenient),
            Keep::Table(_) => {}
        }
    }

    /// A fresh Defender `ReportId`.
    pub fn report_id(&mut self) -> Value {
        self.next_report_id += 1;
        Value::Long(self.next_report_id)
    }

    fn finish(self) -> Table {
        match self.keep {
            Keep::Table(t) => t.finish(),
            Keep::Count => Table {
                columns: Vec::new(),
                rows: Vec::new(),
            },
        }
    }
}

/// FNV-1a of a name: the seed of a unit's random stream and of a file's hashes.
fn fnv(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A small, fast, seedable generator (splitmix64); its output never changes across releases.
pub(crate) struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// Uniform in `lo..hi` (`lo` when the range is empty).
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            lo
        } else {
            lo + (self.next_u64() % (hi - lo) as u64) as i64
        }
    }

    pub fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }

    pub fn guid(&mut self) -> uuid::Uuid {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        bytes[8..].copy_from_slice(&self.next_u64().to_le_bytes());
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }

    pub fn guid_string(&mut self) -> String {
        self.guid().to_string()
    }

    pub fn hex(&mut self, len: usize) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        (0..len).map(|_| DIGITS[self.below(16)] as char).collect()
    }
}

/// Deterministic hashes for a file name, so one binary has one SHA1, SHA256 and MD5 everywhere.
fn file_hashes(name: &str) -> (String, String, String) {
    let mut rng = Rng::new(fnv(name));
    (rng.hex(40), rng.hex(64), rng.hex(32))
}

fn s(text: impl AsRef<str>) -> Value {
    Value::str(text)
}

fn dt(ticks: i64) -> Value {
    Value::DateTime(ticks)
}

fn long(n: i64) -> Value {
    Value::Long(n)
}

fn int(n: i32) -> Value {
    Value::Int(n)
}

fn real(x: f64) -> Value {
    Value::Real(x)
}

fn boolean(b: bool) -> Value {
    Value::Bool(b)
}

fn dy(v: serde_json::Value) -> Value {
    Value::dynamic(v)
}

fn iso(ticks: i64) -> String {
    kql::value::format_datetime(ticks)
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use super::*;

    const NOW: i64 = 17_640_000_000 * TICKS_PER_SECOND / 10; // 2025-11-24T16:00:00Z

    fn col(t: &Table, name: &str) -> usize {
        t.column_index(name)
            .unwrap_or_else(|| panic!("no column {name}"))
    }

    fn text(v: &Value) -> String {
        v.to_string()
    }

    fn values(cat: &Catalog, table: &str, column: &str) -> Vec<String> {
        let t = cat.get(table).unwrap_or_else(|| panic!("no table {table}"));
        let c = col(t, column);
        t.rows.iter().map(|r| text(&r[c])).collect()
    }

    #[test]
    fn same_inputs_give_the_same_workspace_whatever_order_tables_are_made_in() {
        let a = workspace(7, 5_000, NOW);
        let b = workspace(7, 5_000, NOW);
        let c = workspace(8, 5_000, NOW);
        // b makes its tables in reverse order.
        let names: Vec<&str> = b.names().collect();
        for name in names.iter().rev() {
            b.get(name);
        }
        assert!(
            a.iter()
                .zip(b.iter())
                .all(|((n1, t1), (n2, t2))| n1 == n2 && t1 == t2)
        );
        assert!(a.iter().zip(c.iter()).any(|((_, t1), (_, t2))| t1 != t2));
    }

    /// A table's rows must not depend on which table is being made: helpers skip building rows
    /// for other tables, but must draw the same random numbers either way.
    #[test]
    fn random_streams_do_not_depend_on_the_table_being_made() {
        let org = Org::new();
        let expected = story::write(&mut Gen::new(NOW, Keep::Count), &org);
        for schema in schemas::tables() {
            let mut g = Gen::new(NOW, Keep::Table(TableBuilder::new(schema.name)));
            assert_eq!(
                story::write(&mut g, &org),
                expected,
                "story for {}",
                schema.name
            );
        }
        for unit in UNITS {
            let end = |keep: Keep| {
                let mut g = Gen::new(NOW, keep);
                g.begin_unit(unit);
                let mut rng = Rng::new(fnv(unit.name));
                (unit.run)(&mut g, &org, &mut rng, 300);
                (rng.next_u64(), g.next_report_id)
            };
            let counted = end(Keep::Count);
            for table in unit.tables {
                assert_eq!(
                    end(Keep::Table(TableBuilder::new(table))),
                    counted,
                    "unit {} making {table}",
                    unit.name
                );
            }
        }
    }

    #[test]
    fn every_documented_table_has_rows_of_its_documented_types_within_the_last_14_days() {
        let cat = workspace(SEED, 10_000, NOW);
        let names: Vec<&str> = cat.names().collect();
        assert_eq!(names.len(), schemas::tables().len(), "{names:?}");
        for (name, table) in cat.iter() {
            assert!(!table.is_empty(), "{name} is empty");
            let schema = schemas::table(name).expect("a documented table");
            assert_eq!(table.columns, schema.engine_columns(), "{name}");
            if let Some(t) = table.column_index("Type") {
                assert_eq!(text(&table.rows[0][t]), name);
            }
            let time = ["TimeGenerated", "Timestamp"].iter().find_map(|c| {
                table
                    .column_index(c)
                    .filter(|&i| table.columns[i].ty == ScalarType::DateTime)
            });
            for row in &table.rows {
                assert_eq!(row.len(), table.columns.len());
                for (v, c) in row.iter().zip(&table.columns) {
                    assert!(
                        v.is_null() || v.scalar_type() == Some(c.ty),
                        "{name}.{} holds {v:?}",
                        c.name
                    );
                }
                if let Some(i) = time {
                    match row[i] {
                        Value::DateTime(t) => {
                            assert!((NOW - SPAN..=NOW).contains(&t), "{name} at {t}")
                        }
                        ref v => panic!("{name}.{} is {v:?}", table.columns[i].name),
                    }
                }
            }
        }
    }

    #[test]
    fn row_count_is_within_ten_percent_of_the_request() {
        for total in [10_000usize, 120_000] {
            // Counted in the form each table is made in, not converted to rows.
            let catalog = workspace(SEED, total, NOW);
            let n: usize = catalog.names().filter_map(|t| catalog.row_count(t)).sum();
            let (lo, hi) = (total * 9 / 10, total * 11 / 10);
            assert!((lo..=hi).contains(&n), "asked {total}, got {n}");
        }
    }

    #[test]
    fn story_rows_are_the_same_for_any_size_and_seed() {
        let story_of = |cat: &Catalog| -> Vec<Vec<Value>> {
            let t = cat.get("SecurityAlert").expect("alerts");
            let ids: Vec<String> = story::alert_ids();
            let id = col(t, "SystemAlertId");
            t.rows
                .iter()
                .filter(|r| ids.contains(&text(&r[id])))
                .cloned()
                .collect()
        };
        let small = workspace(1, 1_000, NOW);
        let large = workspace(2, 30_000, NOW);
        assert_eq!(story_of(&small), story_of(&large));
        assert_eq!(story_of(&small).len(), story::alert_ids().len());
    }

    #[test]
    fn password_spray_then_victim_sign_in_from_the_attacker_ip() {
        let cat = workspace(SEED, 1_000, NOW);
        let t = cat.get("SigninLogs").expect("SigninLogs");
        let (ip, rt, upn) = (
            col(t, "IPAddress"),
            col(t, "ResultType"),
            col(t, "UserPrincipalName"),
        );
        let from_attacker = |r: &&Vec<Value>| text(&r[ip]) == story::ATTACKER_IP;
        let failures = t
            .rows
            .iter()
            .filter(from_attacker)
            .filter(|r| text(&r[rt]) == "50126")
            .count();
        assert!(failures >= 20, "{failures} spray failures");
        let users: HashSet<String> = t
            .rows
            .iter()
            .filter(from_attacker)
            .map(|r| text(&r[upn]))
            .collect();
        assert!(users.len() >= 20, "{} users sprayed", users.len());
        assert!(
            t.rows
                .iter()
                .filter(from_attacker)
                .any(|r| text(&r[rt]) == "0" && text(&r[upn]) == story::VICTIM_UPN),
            "no successful victim sign-in"
        );
        // The same spray in Defender's copies of the sign-ins.
        let beta = cat.get("AADSignInEventsBeta").expect("AADSignInEventsBeta");
        let (ip, code) = (col(beta, "IPAddress"), col(beta, "ErrorCode"));
        assert!(
            beta.rows
                .iter()
                .filter(|r| text(&r[ip]) == story::ATTACKER_IP && r[code] == Value::Int(50126))
                .count()
                >= 20
        );
        let logons = cat.get("IdentityLogonEvents").expect("IdentityLogonEvents");
        let (ip, action) = (col(logons, "IPAddress"), col(logons, "ActionType"));
        assert!(
            logons
                .rows
                .iter()
                .filter(|r| text(&r[ip]) == story::ATTACKER_IP && text(&r[action]) == "LogonFailed")
                .count()
                >= 20
        );
    }

    #[test]
    fn alerts_incidents_evidence_and_mail_refer_to_each_other() {
        let cat = workspace(SEED, 4_000, NOW);
        let known: HashSet<String> = values(&cat, "SecurityAlert", "SystemAlertId")
            .into_iter()
            .collect();
        let inc = cat.get("SecurityIncident").expect("incidents");
        let (num, sev, ids) = (
            col(inc, "IncidentNumber"),
            col(inc, "Severity"),
            col(inc, "AlertIds"),
        );
        let story_rows: Vec<&Vec<Value>> = inc
            .rows
            .iter()
            .filter(|r| r[num] == Value::Int(story::INCIDENT_NUMBER))
            .collect();
        assert!(
            story_rows.len() >= 3,
            "incident versions: {}",
            story_rows.len()
        );
        let last = story_rows.last().expect("a row");
        assert_eq!(text(&last[sev]), "High");
        for r in &inc.rows {
            let Value::Dynamic(list) = &r[ids] else {
                panic!("AlertIds is not dynamic")
            };
            for id in list.as_array().expect("array") {
                assert!(
                    known.contains(id.as_str().expect("string id")),
                    "unknown alert {id}"
                );
            }
        }
        let alerts = cat.get("SecurityAlert").expect("alerts");
        let ent = col(alerts, "Entities");
        for r in &alerts.rows {
            let parsed: serde_json::Value =
                serde_json::from_str(&text(&r[ent])).expect("Entities JSON");
            assert!(parsed.as_array().is_some_and(|a| !a.is_empty()));
        }
        let mut versions: HashMap<String, usize> = HashMap::new();
        for r in &inc.rows {
            *versions.entry(text(&r[num])).or_default() += 1;
        }
        assert!(versions.values().filter(|&&n| n > 1).count() >= 3);
        // Every alert in AlertInfo, with its evidence; every attachment and URL with its message.
        let info: HashSet<String> = values(&cat, "AlertInfo", "AlertId").into_iter().collect();
        assert_eq!(info.len(), known.len());
        let evidence: HashSet<String> = values(&cat, "AlertEvidence", "AlertId")
            .into_iter()
            .collect();
        assert_eq!(evidence, info);
        let messages: HashSet<String> = values(&cat, "EmailEvents", "NetworkMessageId")
            .into_iter()
            .collect();
        for table in [
            "EmailAttachmentInfo",
            "EmailUrlInfo",
            "EmailPostDeliveryEvents",
        ] {
            for id in values(&cat, table, "NetworkMessageId") {
                assert!(messages.contains(&id), "{table} names message {id}");
            }
        }
    }

    #[test]
    fn the_documented_queries_find_each_stage() {
        let cat = workspace(SEED, 20_000, NOW);
        let opts = kql::ExecOptions {
            now: NOW,
            ..Default::default()
        };
        let block = story()
            .split("```kql")
            .nth(1)
            .and_then(|b| b.split("```").next());
        let queries: Vec<&str> = block
            .expect("a kql block")
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect();
        // What the first row of each query's answer names.
        let expected: [&[&str]; 20] = [
            &[story::ATTACKER_IP],
            &[story::VICTIM_UPN],
            &["wks-014.contoso.com", "mbrown"],
            &["wks-014.contoso.com", story::DROPPED_BINARY],
            &["mbrown", "srv-fs01.contoso.com", "wks-014.contoso.com"],
            &[story::EXFIL_IP],
            &[story::VICTIM_UPN, story::ATTACKER_IP],
            &["1042", "High", "Active"],
            &[story::ATTACKER_IP],
            &["Megan Brown", story::ATTACKER_IP],
            &[
                "wks-014.contoso.com",
                "WinUpdateHelper",
                story::DROPPED_BINARY,
            ],
            &["wks-014.contoso.com", "mbrown"],
            &["srv-fs01.contoso.com", "mbrown", "10.10.1.14"],
            &[story::EXFIL_IP, "C2"],
            &["wks-014.contoso.com"],
            &[story::ATTACKER_IP],
            &["srv-fs01.contoso.com", "system", "lsass"],
            &["srv-sql01.contoso.com", story::DROPPED_BINARY],
            &["srv-sql01.contoso.com", "svc.bat"],
            &["srv-sql01.contoso.com", "sqlupd.exe", "Ransom:"],
        ];
        assert_eq!(queries.len(), expected.len());
        for (query, needles) in queries.iter().zip(expected) {
            let result =
                kql::execute(&cat, query, &opts).unwrap_or_else(|e| panic!("{query}: {e}"));
            let first = result
                .table
                .rows
                .first()
                .unwrap_or_else(|| panic!("{query}: no rows"));
            let text: Vec<String> = first.iter().map(text).collect();
            for needle in needles {
                assert!(
                    text.iter().any(|t| t.contains(needle)),
                    "{query}: first row {text:?} lacks {needle}"
                );
            }
        }
    }

    #[test]
    fn every_stage_leaves_rows_in_the_tables_it_touches() {
        let cat = workspace(SEED, 1_000, NOW);
        let has = |table: &str, column: &str, needle: &str| {
            values(&cat, table, column)
                .iter()
                .any(|v| v.contains(needle))
        };
        for (table, column, needle) in [
            ("EmailEvents", "RecipientEmailAddress", story::VICTIM_UPN),
            ("EmailUrlInfo", "UrlDomain", story::PHISH_DOMAIN),
            ("UrlClickEvents", "AccountUpn", story::VICTIM_UPN),
            ("EmailPostDeliveryEvents", "ActionType", "Phish ZAP"),
            ("EmailAttachmentInfo", "FileName", "Invoice_4471.docm"),
            (
                "AADNonInteractiveUserSignInLogs",
                "IPAddress",
                story::ATTACKER_IP,
            ),
            ("AADUserRiskEvents", "IpAddress", story::ATTACKER_IP),
            ("AADRiskyUsers", "UserPrincipalName", story::VICTIM_UPN),
            ("BehaviorAnalytics", "SourceIPAddress", story::ATTACKER_IP),
            (
                "AuditLogs",
                "OperationName",
                "User registered security info",
            ),
            (
                "CloudAppEvents",
                "ActionType",
                "User registered security info.",
            ),
            (
                "MicrosoftGraphActivityLogs",
                "IPAddress",
                story::ATTACKER_IP,
            ),
            ("GraphAPIAuditEvents", "IPAddress", story::ATTACKER_IP),
            ("OfficeActivity", "Operation", "New-InboxRule"),
            ("CloudAppEvents", "ActionType", "New-InboxRule"),
            ("DeviceProcessEvents", "ProcessCommandLine", "-enc "),
            ("DeviceEvents", "ActionType", "AsrOfficeChildProcessAudited"),
            ("DeviceEvents", "ActionType", "ScheduledTaskCreated"),
            ("DeviceImageLoadEvents", "FileName", "VBE7.DLL"),
            (
                "DeviceRegistryEvents",
                "RegistryValueName",
                "WinUpdateHelper",
            ),
            ("DeviceFileEvents", "FileName", story::DROPPED_BINARY),
            ("SecurityEvent", "CommandLine", "-enc "),
            ("IdentityQueryEvents", "QueryTarget", "Domain Admins"),
            ("DnsEvents", "Name", story::C2_DOMAIN),
            ("DeviceLogonEvents", "LogonType", "RemoteInteractive"),
            ("IdentityDirectoryEvents", "ActionType", "SMB file copy"),
            ("DeviceNetworkEvents", "RemoteIP", story::EXFIL_IP),
            ("CommonSecurityLog", "DestinationIP", story::EXFIL_IP),
            ("CloudAppEvents", "IPAddress", story::ATTACKER_IP),
            (
                "ThreatIntelligenceIndicator",
                "NetworkIP",
                story::ATTACKER_IP,
            ),
            ("AlertInfo", "Title", "Suspicious PowerShell command line"),
            ("AlertEvidence", "RemoteIP", story::C2_IP),
            ("Heartbeat", "Computer", story::VICTIM_HOST),
        ] {
            assert!(
                has(table, column, needle),
                "{table}.{column} lacks {needle}"
            );
        }
        let events = cat.get("SecurityEvent").expect("SecurityEvent");
        let (id, logon_type, computer) = (
            col(events, "EventID"),
            col(events, "LogonType"),
            col(events, "Computer"),
        );
        let on = |row: &Vec<Value>, host: &str| text(&row[computer]).starts_with(host);
        assert!(
            events
                .rows
                .iter()
                .any(|r| r[id] == Value::Int(4688) && on(r, "wks-014"))
        );
        assert!(
            events
                .rows
                .iter()
                .any(|r| r[id] == Value::Int(4698) && on(r, "wks-014"))
        );
        assert!(events.rows.iter().any(|r| r[id] == Value::Int(4624)
            && r[logon_type] == Value::Int(10)
            && on(r, "srv-fs01")));
        assert!(story().contains(story::ATTACKER_IP));
        assert!(story().contains(story::VICTIM_UPN));
    }
}
