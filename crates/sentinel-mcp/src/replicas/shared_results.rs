//! Kept results in Redis ([`SharedResults`]), so a result's link answers on every replica:
//! `sentinel-mcp:result:{id}` holds its header and `sentinel-mcp:result:{id}:{n}` its chunks,
//! each with the result's TTL.
//!
//! What they take is bounded cluster-wide by `SENTINEL_MCP_RESULT_STORE_MB`, like each replica's
//! memory: `sentinel-mcp:results:index` lists the shared results by when they were written
//! (Redis's clock), `sentinel-mcp:results:bytes` counts their header's and chunks' bytes, and
//! `sentinel-mcp:results:sizes` holds each one's bytes and chunk count. A result is written by
//! one Lua script that first forgets the results whose keys have expired, then deletes the
//! oldest until the new one fits, so replicas writing at once never pass the bound together.
//! A link to a deleted result then answers like an expired one (except on the replica that
//! still holds it in memory).

use std::ops::Range;
use std::sync::LazyLock;
use std::time::Duration;

use redis::{AsyncCommands, Script};

use super::{COMMAND_TIMEOUT, PREFIX, Replicas};
use crate::results::shared::{Pending, SharedResults};

/// How long writing a result may take: its chunks can be megabytes.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

fn header_key(id: &str) -> String {
    format!("{PREFIX}:result:{id}")
}

fn chunk_key(id: &str, n: usize) -> String {
    format!("{PREFIX}:result:{id}:{n}")
}

/// The shared results' index, byte count and sizes (`KEYS[1..3]` of both scripts).
fn accounting_keys() -> [String; 3] {
    [
        format!("{PREFIX}:results:index"),
        format!("{PREFIX}:results:bytes"),
        format!("{PREFIX}:results:sizes"),
    ]
}

/// What both scripts share: `forget` drops a result from the accounting and deletes its keys,
/// `sweep` forgets the oldest results whose header has expired. `ARGV[1]` is the keys' prefix.
const ACCOUNTING: &str = r"
local prefix = ARGV[1]
local function forget(id)
  local size = redis.call('HGET', KEYS[3], id)
  redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', KEYS[3], id)
  if size then
    local bytes, chunks = string.match(size, '^(%d+):(%d+)$')
    redis.call('DECRBY', KEYS[2], tonumber(bytes))
    redis.call('DEL', prefix .. id)
    for n = 0, tonumber(chunks) - 1 do
      redis.call('DEL', prefix .. id .. ':' .. n)
    end
  end
end
local function sweep()
  for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, 63)) do
    if redis.call('EXISTS', prefix .. id) == 0 then
      forget(id)
    end
  end
  if redis.call('ZCARD', KEYS[1]) == 0 then
    redis.call('DEL', KEYS[2], KEYS[3])
  end
end
";

/// Writes result `ARGV[2]` (header `ARGV[5]`, chunks `ARGV[6..]`) for `ARGV[3]` seconds within
/// `ARGV[4]` bytes in all, deleting the oldest results to make room; 0 when it alone is larger.
const PUT: &str = r"
local id = ARGV[2]
local ttl = tonumber(ARGV[3])
local budget = tonumber(ARGV[4])
local size = 0
for i = 5, #ARGV do
  size = size + #ARGV[i]
end
if size > budget then
  return 0
end
sweep()
while tonumber(redis.call('GET', KEYS[2]) or '0') + size > budget do
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0)[1]
  if not oldest then
    -- Nothing left to delete: the count had drifted (a key lost by hand), so start it again.
    redis.call('SET', KEYS[2], 0)
    break
  end
  forget(oldest)
end
-- The chunks first: a replica that finds the header finds its chunks.
for i = 6, #ARGV do
  redis.call('SET', prefix .. id .. ':' .. (i - 6), ARGV[i], 'EX', ttl)
end
redis.call('SET', prefix .. id, ARGV[5], 'EX', ttl)
local t = redis.call('TIME')
redis.call('ZADD', KEYS[1], tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000), id)
redis.call('HSET', KEYS[3], id, size .. ':' .. (#ARGV - 5))
redis.call('INCRBY', KEYS[2], size)
return 1
";

/// The scripts, loaded once (`EVALSHA`, and `EVAL` when Redis lost them).
static PUT_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(&format!("{ACCOUNTING}{PUT}")));
static SWEEP_SCRIPT: LazyLock<Script> =
    LazyLock::new(|| Script::new(&format!("{ACCOUNTING}sweep()\nreturn 1\n")));

impl SharedResults for Replicas {
    fn put<'a>(
        &'a self,
        id: &'a str,
        header: String,
        chunks: Vec<String>,
        ttl: Duration,
        budget: usize,
    ) -> Pending<'a, bool> {
        Box::pin(async move {
            let mut call = PUT_SCRIPT.prepare_invoke();
            for key in accounting_keys() {
                call.key(key);
            }
            call.arg(header_key(""))
                .arg(id)
                .arg(ttl.as_secs().max(1))
                .arg(budget)
                .arg(header);
            for chunk in &chunks {
                call.arg(chunk);
            }
            let mut redis = self.redis.clone();
            let sent = call.invoke_async::<i64>(&mut redis);
            self.noted(tokio::time::timeout(WRITE_TIMEOUT, sent).await) == Some(1)
        })
    }

    fn sweep(&self) -> Pending<'_, ()> {
        Box::pin(async move {
            let mut call = SWEEP_SCRIPT.prepare_invoke();
            for key in accounting_keys() {
                call.key(key);
            }
            call.arg(header_key(""));
            let mut redis = self.redis.clone();
            let swept = call.invoke_async::<i64>(&mut redis);
            self.noted(tokio::time::timeout(COMMAND_TIMEOUT, swept).await);
        })
    }

    fn header<'a>(&'a self, id: &'a str) -> Pending<'a, Option<String>> {
        Box::pin(async move {
            let mut redis = self.redis.clone();
            let get = redis.get::<_, Option<String>>(header_key(id));
            self.noted(tokio::time::timeout(COMMAND_TIMEOUT, get).await)
                .flatten()
        })
    }

    fn chunks<'a>(&'a self, id: &'a str, range: Range<usize>) -> Pending<'a, Option<Vec<String>>> {
        Box::pin(async move {
            let keys: Vec<String> = range.map(|n| chunk_key(id, n)).collect();
            let mut redis = self.redis.clone();
            let get = redis.mget::<_, Vec<Option<String>>>(keys);
            let found = self.noted(tokio::time::timeout(WRITE_TIMEOUT, get).await)?;
            found.into_iter().collect()
        })
    }
}
