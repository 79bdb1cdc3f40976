//! Large results by reference. A tool answer the row or byte cap cut (a query result, an incident
//! or alert list, an investigation's timeline) is kept here whole (the table the tool had in
//! hand) for `SENTINEL_MCP_RESULT_TTL_SECS`, under an unguessable id, for the principal that
//! called the tool only; `resources/read` on `sentinel://results/{id}` pages through it
//! ([`resource`]), so an agent reads more without asking again.
//!
//! The store is bounded in memory (`SENTINEL_MCP_RESULT_STORE_MB`): the oldest results are
//! evicted to make room, and a result larger than the whole bound is not kept. With replicas,
//! the copies shared through Redis are bounded by the same budget across all of them
//! ([`shared`]). Expiry reads the
//! server's [`Clock`]; expired results are dropped whenever the store is used (every keep, read
//! and list) and by a timer every 30 s ([`ResultStore::sweep`]).

pub mod resource;
pub mod shared;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use kql::{Table, Value};

use crate::clock::Clock;

/// The scheme and path every stored result's URI starts with.
pub const URI_PREFIX: &str = "sentinel://results/";

/// The owner of what a call keeps when there is no HTTP request (stdio, one-shot commands).
pub const LOCAL_OWNER: &str = "local";

/// Whether `id` has the shape of an id this server makes (32 hex digits): anything else is
/// unknown without asking Redis.
fn valid_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Ticks (100 ns) in a second.
const TICKS_PER_SEC: i64 = 10_000_000;

/// What a kept table is the whole of: names its resource and says how to ask for less of it.
#[derive(Debug)]
pub struct ResultKind {
    /// The resource's name before its id, e.g. `query-result`.
    pub name: &'static str,
    /// What it is, in a sentence, e.g. `query result`.
    pub noun: &'static str,
    /// What to do to see more when it is too large to keep, e.g. `narrow the query`.
    pub narrow: &'static str,
}

/// A run_kql_query or run_hunting_query result.
pub const QUERY_RESULT: ResultKind = ResultKind {
    name: "query-result",
    noun: "query result",
    narrow: "narrow the query (where, project, summarize)",
};

/// list_incidents' incidents.
pub const INCIDENT_LIST: ResultKind = ResultKind {
    name: "incident-list",
    noun: "incident list",
    narrow: "narrow the filters (status, severity, since) or lower top",
};

/// list_alerts' alerts.
pub const ALERT_LIST: ResultKind = ResultKind {
    name: "alert-list",
    noun: "alert list",
    narrow: "narrow the filters (severity, status, since, incident_id) or lower top",
};

/// investigate_entity's merged timeline: every event it gathered, before `max_events`.
pub const ENTITY_TIMELINE: ResultKind = ResultKind {
    name: "entity-timeline",
    noun: "investigation timeline",
    narrow: "narrow the timespan",
};

/// Full results kept for their owners, bounded in time and memory.
pub struct ResultStore {
    ttl: Duration,
    max_bytes: usize,
    clock: Clock,
    inner: Mutex<Inner>,
    /// Where results are shared with the other replicas (Redis), when there are any.
    shared: OnceLock<Arc<dyn shared::SharedResults>>,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<Box<str>, Arc<StoredResult>>,
    /// Ids, oldest first (every result lives as long, so this is also expiry order).
    order: VecDeque<Box<str>>,
    /// Sum of the kept results' sizes.
    bytes: usize,
}

/// One kept result.
#[derive(Debug)]
pub struct StoredResult {
    pub id: Box<str>,
    /// What it is the whole of.
    pub kind: &'static ResultKind,
    /// Tenant and object id of the principal that ran the query.
    owner: Box<str>,
    pub table: Table,
    /// What the caller was told beside the table (partial data from the service, engine notes).
    pub warnings: Vec<String>,
    /// When it stops being served, in ticks since the Unix epoch.
    pub expires_ticks: i64,
    /// Its estimated size in memory.
    pub bytes: usize,
}

impl StoredResult {
    /// The resource URI it is read at.
    pub fn uri(&self) -> String {
        format!("{URI_PREFIX}{}", self.id)
    }
}

/// What [`ResultStore::keep`] did with a result.
#[derive(Debug)]
pub enum Kept {
    Stored(Arc<StoredResult>),
    /// Larger than the whole store: not kept.
    TooLarge {
        bytes: usize,
        limit: usize,
    },
    /// The store is off (`SENTINEL_MCP_RESULT_STORE_MB=0`).
    Off,
}

impl ResultStore {
    /// A store keeping results `ttl`, at most `max_bytes` in all (0: keeps nothing).
    pub fn new(clock: Clock, ttl: Duration, max_bytes: usize) -> ResultStore {
        ResultStore {
            ttl,
            max_bytes,
            clock,
            inner: Mutex::new(Inner::default()),
            shared: OnceLock::new(),
        }
    }

    /// Shares kept results with the other replicas through `shared` from now on.
    pub fn share_with(&self, shared: Arc<dyn shared::SharedResults>) {
        let _ = self.shared.set(shared);
    }

    /// Writes a kept result where the other replicas read it, if there are any; false when that
    /// failed (the result is then readable on this replica only).
    pub async fn publish(&self, stored: &StoredResult) -> bool {
        let Some(shared) = self.shared.get() else {
            return true;
        };
        let (header, chunks) = shared::encode(stored);
        shared
            .put(&stored.id, header, chunks, self.ttl, self.max_bytes)
            .await
    }

    /// Forgets the expired shared results, so what the replicas share counts only live ones.
    pub async fn sweep_shared(&self) {
        if let Some(shared) = self.shared.get() {
            shared.sweep().await;
        }
    }

    /// Rows `rows` of `owner`'s result `id` as another replica shared it: the header and those
    /// rows (clipped to the result), or `None` when there is no such live result of theirs.
    pub async fn fetch_shared(
        &self,
        owner: &str,
        id: &str,
        rows: std::ops::Range<usize>,
    ) -> Option<(shared::Header, Table, usize)> {
        let shared = self.shared.get()?;
        if !valid_id(id) {
            return None;
        }
        let header: shared::Header = serde_json::from_str(&shared.header(id).await?).ok()?;
        if header.owner != owner || header.expires_ticks <= self.clock.now_ticks() {
            return None;
        }
        let rows = rows.start.min(header.total)..rows.end.min(header.total);
        let chunks = shared::chunk_range(rows.clone());
        let first = chunks.start * shared::CHUNK_ROWS;
        let texts = match chunks.is_empty() {
            true => Vec::new(),
            false => shared.chunks(id, chunks).await?,
        };
        let table = shared::decode(shared::columns(&header), &texts)?;
        Some((header, table, first))
    }

    /// How long a result is kept.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The most memory all kept results may take.
    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// Keeps `table`, the whole of a `kind`, for `owner`, evicting the oldest results until it
    /// fits.
    pub fn keep(
        &self,
        owner: &str,
        kind: &'static ResultKind,
        table: Table,
        warnings: Vec<String>,
    ) -> Kept {
        if self.max_bytes == 0 {
            return Kept::Off;
        }
        let mut table = table;
        // A table collected row by row has up to twice the row slots it needs.
        table.rows.shrink_to_fit();
        let bytes = table_bytes(&table) + warnings.iter().map(String::len).sum::<usize>();
        if bytes > self.max_bytes {
            return Kept::TooLarge {
                bytes,
                limit: self.max_bytes,
            };
        }
        let now = self.clock.now_ticks();
        let ttl_ticks = i64::try_from(self.ttl.as_secs())
            .unwrap_or(i64::MAX / TICKS_PER_SEC)
            .saturating_mul(TICKS_PER_SEC);
        let stored = Arc::new(StoredResult {
            id: uuid::Uuid::new_v4().simple().to_string().into(),
            kind,
            owner: owner.into(),
            table,
            warnings,
            expires_ticks: now.saturating_add(ttl_ticks),
            bytes,
        });
        // What is evicted is freed after the lock is let go: freeing a large table takes a while.
        let mut evicted = Vec::new();
        {
            let Ok(mut inner) = self.inner.lock() else {
                return Kept::Off;
            };
            evicted.extend(inner.drop_expired(now));
            while inner.bytes + bytes > self.max_bytes {
                match inner.evict_oldest() {
                    Some(old) => evicted.push(old),
                    None => break,
                }
            }
            inner.bytes += bytes;
            inner.order.push_back(stored.id.clone());
            inner.entries.insert(stored.id.clone(), stored.clone());
            inner.report();
        }
        drop(evicted);
        Kept::Stored(stored)
    }

    /// The result `id` if it is live and `owner`'s: another principal's is as unknown as one
    /// that never existed.
    pub fn get(&self, owner: &str, id: &str) -> Option<Arc<StoredResult>> {
        let now = self.clock.now_ticks();
        let (found, _expired) = {
            let mut inner = self.inner.lock().ok()?;
            let expired = inner.drop_expired(now);
            let found = inner
                .entries
                .get(id)
                .filter(|r| *r.owner == *owner)
                .cloned();
            (found, expired)
        };
        found
    }

    /// `owner`'s live results, oldest first.
    pub fn list(&self, owner: &str) -> Vec<Arc<StoredResult>> {
        let now = self.clock.now_ticks();
        let (mine, _expired) = {
            let Ok(mut inner) = self.inner.lock() else {
                return Vec::new();
            };
            let expired = inner.drop_expired(now);
            let mine = inner
                .order
                .iter()
                .filter_map(|id| inner.entries.get(id))
                .filter(|r| *r.owner == *owner)
                .cloned()
                .collect();
            (mine, expired)
        };
        mine
    }

    /// Drops the expired results now (a timer calls it, so an idle server gives their memory
    /// back too).
    pub fn sweep(&self) {
        let now = self.clock.now_ticks();
        let expired = match self.inner.lock() {
            Ok(mut inner) => inner.drop_expired(now),
            Err(_) => return,
        };
        drop(expired);
    }

    /// Results kept and the memory they take.
    pub fn usage(&self) -> (usize, usize) {
        self.inner
            .lock()
            .map_or((0, 0), |i| (i.entries.len(), i.bytes))
    }

    /// Milliseconds `result` is still served for.
    pub fn remaining_ms(&self, result: &StoredResult) -> u64 {
        self.remaining_ms_until(result.expires_ticks)
    }

    /// Milliseconds until `expires_ticks` (0 once past).
    pub fn remaining_ms_until(&self, expires_ticks: i64) -> u64 {
        let left = expires_ticks - self.clock.now_ticks();
        u64::try_from(left / 10_000).unwrap_or(0)
    }
}

impl Inner {
    /// Drops the expired results from the index; they are freed when the caller drops them.
    fn drop_expired(&mut self, now: i64) -> Vec<Arc<StoredResult>> {
        let mut expired = Vec::new();
        while let Some(id) = self.order.front() {
            if self.entries.get(id).is_some_and(|r| r.expires_ticks > now) {
                break;
            }
            expired.extend(self.evict_oldest());
        }
        expired
    }

    /// Takes the oldest result out; `None` when there is none.
    fn evict_oldest(&mut self) -> Option<Arc<StoredResult>> {
        let id = self.order.pop_front()?;
        let evicted = self.entries.remove(&id);
        if let Some(r) = &evicted {
            self.bytes = self.bytes.saturating_sub(r.bytes);
        }
        self.report();
        evicted
    }

    /// The store's size on /metrics.
    fn report(&self) {
        let m = crate::metrics::metrics();
        m.result_store_results
            .set(i64::try_from(self.entries.len()).unwrap_or(i64::MAX));
        m.result_store_bytes
            .set(i64::try_from(self.bytes).unwrap_or(i64::MAX));
    }
}

/// A table's size in memory, estimated from its values as the allocator holds them: every
/// row's cells in one allocation, a string's text behind its `Arc`'s counts, a dynamic value's
/// tree, each allocation with the C allocator's header and rounding (`allocation`). Shared text
/// (a string the workspace holds too) is counted whole. Measured against the process's
/// resident memory in docs/operations.md.
pub fn table_bytes(table: &Table) -> usize {
    const ROW: usize = std::mem::size_of::<Vec<Value>>();
    const CELL: usize = std::mem::size_of::<Value>();
    table
        .rows
        .iter()
        .map(|row| ROW + allocation(row.len() * CELL) + row.iter().map(value_heap).sum::<usize>())
        .sum::<usize>()
        + table
            .columns
            .iter()
            .map(|c| 64 + c.name.len())
            .sum::<usize>()
}

/// What an allocation of `n` bytes takes, estimated as glibc's malloc does it: an 8-byte header,
/// rounded up to 16 bytes, at least 32 (nothing for an empty `Vec`). mimalloc, the server's
/// allocator, has no header and rounds a larger size up to its size class (at most 12.5 % more),
/// so the estimate stays within about an eighth of what it takes.
fn allocation(n: usize) -> usize {
    match n {
        0 => 0,
        n => (n + 8).div_ceil(16).max(2) * 16,
    }
}

/// Bytes a value holds beyond its cell: a string's or dynamic value's `Arc` (its two counts
/// and the data).
fn value_heap(v: &Value) -> usize {
    match v {
        Value::String(s) => allocation(16 + s.len()),
        Value::Dynamic(d) => {
            allocation(16 + std::mem::size_of::<serde_json::Value>()) + json_heap(d)
        }
        _ => 0,
    }
}

/// Bytes a JSON tree holds beyond its root node: strings' text, arrays' and objects' nodes and
/// keys.
fn json_heap(j: &serde_json::Value) -> usize {
    const NODE: usize = std::mem::size_of::<serde_json::Value>();
    match j {
        serde_json::Value::String(s) => allocation(s.len()),
        serde_json::Value::Array(a) => {
            allocation(a.len() * NODE) + a.iter().map(json_heap).sum::<usize>()
        }
        // A B-tree map: about a node's worth of slack per entry, its key's text, its value.
        serde_json::Value::Object(o) => o
            .iter()
            .map(|(k, v)| 48 + NODE + allocation(k.len()) + json_heap(v))
            .sum(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use kql::{Column, ScalarType};

    fn table(rows: usize, width: usize) -> Table {
        Table {
            columns: vec![Column::new("x", ScalarType::String)],
            rows: (0..rows)
                .map(|i| vec![Value::str(format!("{i:0width$}"))])
                .collect(),
        }
    }

    fn stored(kept: Kept) -> Arc<StoredResult> {
        match kept {
            Kept::Stored(r) => r,
            other => panic!("not stored: {other:?}"),
        }
    }

    #[test]
    fn a_result_is_read_back_by_its_owner_only() {
        let store = ResultStore::new(Clock::system(), Duration::from_secs(600), 1 << 20);
        let r = stored(store.keep("t/a", &QUERY_RESULT, table(10, 4), vec![]));
        assert_eq!(r.id.len(), 32, "a v4 uuid's 122 random bits");
        assert!(r.uri().starts_with("sentinel://results/"));
        assert_eq!(store.get("t/a", &r.id).unwrap().table.rows.len(), 10);
        assert!(store.get("t/b", &r.id).is_none());
        assert!(store.get("t/a", "nope").is_none());
        assert_eq!(store.list("t/a").len(), 1);
        assert!(store.list("t/b").is_empty());
    }

    #[test]
    fn a_result_expires_after_the_ttl_by_the_servers_clock() {
        let clock = ManualClock::new();
        let store = ResultStore::new(clock.clock(), Duration::from_secs(600), 1 << 20);
        let r = stored(store.keep("o", &QUERY_RESULT, table(3, 4), vec![]));
        clock.advance(Duration::from_secs(599));
        assert!(store.get("o", &r.id).is_some());
        assert_eq!(store.remaining_ms(&r), 1_000);
        clock.advance(Duration::from_secs(1));
        assert!(store.get("o", &r.id).is_none());
        assert_eq!(
            store.usage(),
            (0, 0),
            "the expired result's memory is given back"
        );
    }

    #[test]
    fn the_oldest_results_are_evicted_to_stay_within_the_bound() {
        let one = table_bytes(&table(1000, 100));
        let store = ResultStore::new(Clock::system(), Duration::from_secs(600), one * 3 + one / 2);
        let ids: Vec<_> = (0..5)
            .map(|_| {
                stored(store.keep("o", &QUERY_RESULT, table(1000, 100), vec![]))
                    .id
                    .clone()
            })
            .collect();
        let (count, bytes) = store.usage();
        assert_eq!(count, 3);
        assert!(
            bytes <= store.max_bytes(),
            "{bytes} > {}",
            store.max_bytes()
        );
        assert!(store.get("o", &ids[0]).is_none());
        assert!(store.get("o", &ids[1]).is_none());
        for id in &ids[2..] {
            assert!(store.get("o", id).is_some());
        }
    }

    #[test]
    fn a_result_larger_than_the_whole_store_is_not_kept() {
        let store = ResultStore::new(Clock::system(), Duration::from_secs(600), 10_000);
        let kept = stored(store.keep("o", &QUERY_RESULT, table(10, 4), vec![]));
        match store.keep("o", &QUERY_RESULT, table(1000, 100), vec![]) {
            Kept::TooLarge { bytes, limit } => assert!(bytes > limit && limit == 10_000),
            other => panic!("{other:?}"),
        }
        assert!(store.get("o", &kept.id).is_some(), "nothing evicted for it");
        let off = ResultStore::new(Clock::system(), Duration::from_secs(600), 0);
        assert!(matches!(
            off.keep("o", &QUERY_RESULT, table(1, 1), vec![]),
            Kept::Off
        ));
    }

    #[test]
    fn the_size_estimate_counts_the_text() {
        let small = table_bytes(&table(100, 1));
        let wide = table_bytes(&table(100, 1001));
        assert!(wide - small >= 100 * 999);
    }
}
