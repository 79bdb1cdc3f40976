//! A generated security workspace: twelve Sentinel tables with the real Log Analytics column names
//! and types, benign noise from a fictional organisation (contoso.com) and one attack story woven
//! through them. See [`demo_story`] for the story.
//!
//! Generation is deterministic for a given `(seed, total_rows, now_ticks)`. The seed varies the
//! noise only: the story rows are the same for every seed and every `total_rows >= 1000`, so the
//! story's description and its queries hold for every demo workspace.

mod noise;
mod org;
mod rows;
mod schema;
mod sentinel;
mod story;

use std::collections::HashMap;

use crate::catalog::Catalog;
use crate::table::{Column, Table};
use crate::value::{ScalarType, TICKS_PER_SECOND, Value};

use org::Org;
use schema::Schema;

/// The seed the server uses for its demo workspace unless told otherwise.
pub const DEMO_SEED: u64 = 0x5E57_1DE1_2026;

/// The row count the server asks for by default.
pub const DEMO_DEFAULT_ROWS: usize = 120_000;

/// Builds the demo workspace: ~`total_rows` rows over twelve tables, every timestamp within the
/// 14 days before `now_ticks` (100 ns ticks since the Unix epoch).
pub fn demo_workspace(seed: u64, total_rows: usize, now_ticks: i64) -> Catalog {
    let org = Org::new();
    let mut work = Gen::new(now_ticks);
    story::write(&mut work, &org);
    let budget = total_rows.saturating_sub(work.row_count());
    noise::write(&mut work, &org, &mut Rng::new(seed), budget);
    work.finish()
}

/// A short markdown description of the attack story in the demo workspace.
pub fn demo_story() -> &'static str {
    story::DESCRIPTION
}

/// The type of a column of one of the demo's Sentinel tables, when the table and column are known.
pub(crate) fn known_column_type(table: &str, column: &str) -> Option<ScalarType> {
    let (_, columns) = schema::ALL.iter().find(|(name, _)| *name == table)?;
    columns
        .iter()
        .find(|(name, _)| *name == column)
        .map(|&(_, ty)| ty)
}

const SECOND: i64 = TICKS_PER_SECOND;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
/// How far back the workspace's data reaches.
const SPAN: i64 = 14 * DAY;

/// The demo tables, in the order of [`schema::ALL`].
#[derive(Debug, Clone, Copy)]
enum Tbl {
    Incident,
    Alert,
    Signin,
    Audit,
    Process,
    Network,
    Logon,
    File,
    Email,
    Office,
    Firewall,
    Heartbeat,
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
    fn new((name, cols): Schema) -> TableBuilder {
        let empty = Value::str("");
        let tenant = Value::str(org::TENANT_ID);
        let template = cols
            .iter()
            .map(|&(col, ty)| match (col, ty) {
                ("Type", _) => Value::str(name),
                ("TenantId", _) => tenant.clone(),
                // Kusto strings are never null: an absent string is empty.
                (_, ScalarType::String) => empty.clone(),
                _ => Value::Null,
            })
            .collect();
        let index: HashMap<&'static str, usize> = cols
            .iter()
            .enumerate()
            .map(|(i, &(col, _))| (col, i))
            .collect();
        TableBuilder {
            name,
            columns: cols.iter().map(|&(col, ty)| Column::new(col, ty)).collect(),
            time_generated: index.get("TimeGenerated").copied(),
            timestamp: index.get("Timestamp").copied(),
            index,
            template,
            rows: Vec::new(),
        }
    }

    fn push<'a>(&mut self, fields: impl IntoIterator<Item = (&'a str, Value)>) {
        let mut row = self.template.clone();
        for (col, value) in fields {
            match self.index.get(col) {
                Some(&i) => row[i] = value,
                None => debug_assert!(false, "{} has no column {col}", self.name),
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
        if let Some(tg) = self.time_generated {
            self.rows.sort_by_key(|r| match r[tg] {
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

/// The workspace under construction.
struct Gen {
    now: i64,
    tables: Vec<TableBuilder>,
    next_report_id: i64,
}

impl Gen {
    fn new(now: i64) -> Gen {
        Gen {
            now,
            tables: schema::ALL.iter().map(|&s| TableBuilder::new(s)).collect(),
            next_report_id: 1000,
        }
    }

    fn push<'a>(&mut self, t: Tbl, fields: impl IntoIterator<Item = (&'a str, Value)>) {
        self.tables[t as usize].push(fields);
    }

    fn len(&self, t: Tbl) -> usize {
        self.tables[t as usize].rows.len()
    }

    fn row_count(&self) -> usize {
        self.tables.iter().map(|t| t.rows.len()).sum()
    }

    /// A fresh Defender `ReportId`.
    fn report_id(&mut self) -> Value {
        self.next_report_id += 1;
        Value::Long(self.next_report_id)
    }

    fn finish(self) -> Catalog {
        let mut catalog = Catalog::new();
        for t in self.tables {
            catalog.insert(t.name, t.finish());
        }
        catalog
    }
}

/// A small, fast, seedable generator (splitmix64); its output never changes across releases.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// Uniform in `lo..hi` (`lo` when the range is empty).
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            lo
        } else {
            lo + (self.next_u64() % (hi - lo) as u64) as i64
        }
    }

    fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }

    fn guid(&mut self) -> uuid::Uuid {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        bytes[8..].copy_from_slice(&self.next_u64().to_le_bytes());
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }

    fn guid_string(&mut self) -> String {
        self.guid().to_string()
    }

    fn hex(&mut self, len: usize) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        (0..len).map(|_| DIGITS[self.below(16)] as char).collect()
    }
}

/// Deterministic hashes for a file name, so one binary has one SHA256 everywhere.
fn file_hashes(name: &str) -> (String, String, String) {
    let seed = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let mut rng = Rng::new(seed);
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

fn dy(v: serde_json::Value) -> Value {
    Value::dynamic(v)
}

fn iso(ticks: i64) -> String {
    crate::value::format_datetime(ticks)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 17_640_000_000 * TICKS_PER_SECOND / 10; // 2025-11-24T16:00:00Z

    fn col(t: &Table, name: &str) -> usize {
        t.column_index(name)
            .unwrap_or_else(|| panic!("no column {name}"))
    }

    fn text(v: &Value) -> String {
        v.to_string()
    }

    #[test]
    fn same_inputs_give_the_same_workspace() {
        let a = demo_workspace(7, 5_000, NOW);
        let b = demo_workspace(7, 5_000, NOW);
        let c = demo_workspace(8, 5_000, NOW);
        assert!(
            a.iter()
                .zip(b.iter())
                .all(|((n1, t1), (n2, t2))| n1 == n2 && t1 == t2)
        );
        assert!(a.iter().zip(c.iter()).any(|((_, t1), (_, t2))| t1 != t2));
    }

    #[test]
    fn all_twelve_tables_have_typed_values_and_timestamps_in_the_last_14_days() {
        let cat = demo_workspace(DEMO_SEED, 10_000, NOW);
        let names: Vec<&str> = cat.names().collect();
        assert_eq!(names.len(), 12, "{names:?}");
        for (name, table) in cat.iter() {
            assert!(!table.is_empty(), "{name} is empty");
            let tg = col(table, "TimeGenerated");
            assert_eq!(table.columns[tg].ty, ScalarType::DateTime);
            assert_eq!(text(&table.rows[0][col(table, "Type")]), name);
            for row in &table.rows {
                assert_eq!(row.len(), table.columns.len());
                for (v, c) in row.iter().zip(&table.columns) {
                    assert!(
                        v.is_null() || v.scalar_type() == Some(c.ty),
                        "{name}.{} holds {v:?}",
                        c.name
                    );
                }
                match row[tg] {
                    Value::DateTime(t) => assert!((NOW - SPAN..=NOW).contains(&t), "{name} at {t}"),
                    ref v => panic!("{name}.TimeGenerated is {v:?}"),
                }
            }
        }
    }

    #[test]
    fn row_count_is_within_ten_percent_of_the_request() {
        for total in [10_000usize, 120_000] {
            let n: usize = demo_workspace(DEMO_SEED, total, NOW)
                .iter()
                .map(|(_, t)| t.len())
                .sum();
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
        let small = demo_workspace(1, 1_000, NOW);
        let large = demo_workspace(2, 30_000, NOW);
        assert_eq!(story_of(&small), story_of(&large));
        assert_eq!(story_of(&small).len(), story::alert_ids().len());
    }

    #[test]
    fn password_spray_then_victim_sign_in_from_the_attacker_ip() {
        let cat = demo_workspace(DEMO_SEED, 1_000, NOW);
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
        let users: std::collections::HashSet<String> = t
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
    }

    #[test]
    fn high_severity_incident_references_existing_alerts_and_has_versions() {
        let cat = demo_workspace(DEMO_SEED, 2_000, NOW);
        let alerts = cat.get("SecurityAlert").expect("alerts");
        let sid = col(alerts, "SystemAlertId");
        let known: std::collections::HashSet<String> =
            alerts.rows.iter().map(|r| text(&r[sid])).collect();
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
        let Value::Dynamic(list) = &last[ids] else {
            panic!("AlertIds is not dynamic")
        };
        let list = list.as_array().expect("array");
        assert!(list.len() >= 5);
        for id in list {
            assert!(
                known.contains(id.as_str().expect("string id")),
                "unknown alert {id}"
            );
        }
        // Every incident's alerts exist, and alert entities are JSON arrays.
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
        let ent = col(alerts, "Entities");
        for r in &alerts.rows {
            let parsed: serde_json::Value =
                serde_json::from_str(&text(&r[ent])).expect("Entities JSON");
            assert!(parsed.as_array().is_some_and(|a| !a.is_empty()));
        }
        // More than one incident number has several versions.
        let mut versions: HashMap<String, usize> = HashMap::new();
        for r in &inc.rows {
            *versions.entry(text(&r[num])).or_default() += 1;
        }
        assert!(versions.values().filter(|&&n| n > 1).count() >= 3);
    }

    #[test]
    fn the_documented_queries_find_each_stage() {
        let cat = demo_workspace(DEMO_SEED, 20_000, NOW);
        let opts = crate::ExecOptions {
            now: NOW,
            ..Default::default()
        };
        let block = demo_story()
            .split("```kql")
            .nth(1)
            .and_then(|b| b.split("```").next());
        let queries: Vec<&str> = block
            .expect("a kql block")
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect();
        // What the first row of each query's answer names.
        let expected: [&[&str]; 8] = [
            &[story::ATTACKER_IP],
            &[story::VICTIM_UPN],
            &["wks-014.contoso.com", "mbrown"],
            &["wks-014.contoso.com", story::DROPPED_BINARY],
            &["mbrown", "srv-fs01.contoso.com", "wks-014.contoso.com"],
            &[story::EXFIL_IP],
            &[story::VICTIM_UPN, story::ATTACKER_IP],
            &["1042", "High", "Active"],
        ];
        assert_eq!(queries.len(), expected.len());
        for (query, needles) in queries.iter().zip(expected) {
            let result =
                crate::execute(&cat, query, &opts).unwrap_or_else(|e| panic!("{query}: {e}"));
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
    fn every_stage_leaves_rows_in_its_table() {
        let cat = demo_workspace(DEMO_SEED, 1_000, NOW);
        let has = |table: &str, column: &str, needle: &str| {
            let t = cat.get(table).expect(table);
            let c = col(t, column);
            t.rows.iter().any(|r| text(&r[c]).contains(needle))
        };
        assert!(has(
            "EmailEvents",
            "RecipientEmailAddress",
            story::VICTIM_UPN
        ));
        assert!(has(
            "AuditLogs",
            "OperationName",
            "User registered security info"
        ));
        assert!(has("OfficeActivity", "Operation", "New-InboxRule"));
        assert!(has("DeviceProcessEvents", "ProcessCommandLine", "-enc "));
        assert!(has("DeviceFileEvents", "FileName", story::DROPPED_BINARY));
        assert!(has("DeviceLogonEvents", "LogonType", "RemoteInteractive"));
        assert!(has("DeviceNetworkEvents", "RemoteIP", story::EXFIL_IP));
        assert!(has("CommonSecurityLog", "DestinationIP", story::EXFIL_IP));
        assert!(has("Heartbeat", "Computer", story::VICTIM_HOST));
        assert!(demo_story().contains(story::ATTACKER_IP));
        assert!(demo_story().contains(story::VICTIM_UPN));
    }
}
