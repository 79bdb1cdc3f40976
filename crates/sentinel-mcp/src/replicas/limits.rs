//! The per-principal limits counted across replicas: the session cap
//! (`SENTINEL_MCP_MAX_SESSIONS_PER_PRINCIPAL`) and the `tools/call` rate limit
//! (`SENTINEL_MCP_RATE_LIMIT_PER_MINUTE`/`_BURST`). Each check is one Lua script, so one round
//! trip, run atomically by Redis on its own clock. When Redis cannot be reached the replica
//! falls back to its own count (a principal may then get up to one allowance per replica until
//! Redis is back): refusing every call would be worse.

use std::sync::Arc;

use redis::Script;

use super::{COMMAND_TIMEOUT, PREFIX, Replicas, SESSION_TTL};

/// A principal's open sessions: a sorted set of slot ids scored by when they expire (renewed by
/// their replica's heartbeat, so a dead replica's slots lapse on their own).
const ADMIT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], now + ttl, ARGV[3])
redis.call('PEXPIRE', KEYS[1], ttl)
return 1
";

/// Renews a slot's expiry, if it is still held.
const RENEW: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[1])
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], 'XX', now + ttl, ARGV[i + 1])
  redis.call('PEXPIRE', KEYS[i], ttl)
end
return #KEYS
";

/// A token bucket: `ARGV[1]` tokens a millisecond, `ARGV[2]` at most; answers 0 (a token was
/// taken) or the milliseconds until the next one.
const TAKE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(b[1]) or burst
local at = tonumber(b[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
if tokens < 1 then
  return math.ceil((1 - tokens) / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens - 1), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate) + 1000)
return 0
";

/// The scripts, loaded once (`EVALSHA`, and `EVAL` when Redis lost them).
pub(super) struct Scripts {
    admit: Script,
    renew: Script,
    take: Script,
}

impl Default for Scripts {
    fn default() -> Scripts {
        Scripts {
            admit: Script::new(ADMIT),
            renew: Script::new(RENEW),
            take: Script::new(TAKE),
        }
    }
}

/// One session's place in its principal's count across replicas; dropping it frees the place.
pub struct SharedSlot {
    replicas: Arc<Replicas>,
    key: String,
    member: String,
}

impl std::fmt::Debug for SharedSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("SharedSlot").field(&self.member).finish()
    }
}

impl Drop for SharedSlot {
    fn drop(&mut self) {
        let replicas = self.replicas.clone();
        if replicas.lock_slots().remove(&self.member).is_none() {
            // Given back already, when the replica left Redis.
            return;
        }
        let held = [(
            std::mem::take(&mut self.key),
            std::mem::take(&mut self.member),
        )];
        self.replicas
            .cleanups
            .spawn(async move { replicas.remove_slots(&held).await });
    }
}

/// What the shared count said about a new session.
pub enum Admission {
    /// A place was taken: it goes with the session.
    Admitted(SharedSlot),
    /// The principal holds `max` sessions across replicas.
    Full,
    /// Redis could not be asked: the replica's own count decides.
    Unknown,
}

/// What the shared bucket said about a call.
pub enum Verdict {
    Allowed,
    /// Over the limit: a token is back in this many milliseconds.
    Limited(u64),
    /// Redis could not be asked: the replica's own bucket decides.
    Unknown,
}

fn sessions_key(principal: &str) -> String {
    format!("{PREFIX}:sessions-of:{principal}")
}

fn bucket_key(principal: &str) -> String {
    format!("{PREFIX}:calls-of:{principal}")
}

impl Replicas {
    /// Takes a place for a new session of `principal` if it holds fewer than `max` across
    /// replicas.
    pub async fn admit(self: &Arc<Self>, principal: &str, max: usize) -> Admission {
        let key = sessions_key(principal);
        let member = uuid::Uuid::new_v4().simple().to_string();
        let mut redis = self.redis.clone();
        let mut call = self.scripts.admit.key(&key);
        call.arg(SESSION_TTL.as_millis() as u64)
            .arg(max)
            .arg(&member);
        let admitted = call.invoke_async::<i64>(&mut redis);
        match self.noted(tokio::time::timeout(COMMAND_TIMEOUT, admitted).await) {
            None => Admission::Unknown,
            Some(0) => Admission::Full,
            Some(_) => {
                self.lock_slots().insert(member.clone(), key.clone());
                Admission::Admitted(SharedSlot {
                    replicas: self.clone(),
                    key,
                    member,
                })
            }
        }
    }

    /// Takes a token from `principal`'s bucket across replicas: `per_second` tokens a second,
    /// `burst` at most.
    pub async fn take_token(&self, principal: &str, per_second: f64, burst: f64) -> Verdict {
        let mut redis = self.redis.clone();
        let mut call = self.scripts.take.key(bucket_key(principal));
        call.arg(per_second / 1000.0).arg(burst);
        let taken = call.invoke_async::<i64>(&mut redis);
        match self.noted(tokio::time::timeout(COMMAND_TIMEOUT, taken).await) {
            None => Verdict::Unknown,
            Some(0) => Verdict::Allowed,
            Some(wait_ms) => Verdict::Limited(wait_ms.max(1) as u64),
        }
    }

    /// Renews the expiry of every session place this replica holds.
    pub(super) async fn renew_slots(&self) {
        let held: Vec<(String, String)> = self
            .lock_slots()
            .iter()
            .map(|(member, key)| (key.clone(), member.clone()))
            .collect();
        if held.is_empty() {
            return;
        }
        let mut call = self.scripts.renew.prepare_invoke();
        call.arg(SESSION_TTL.as_millis() as u64);
        for (key, member) in &held {
            call.key(key).arg(member);
        }
        let mut redis = self.redis.clone();
        let renewed = call.invoke_async::<i64>(&mut redis);
        self.noted(tokio::time::timeout(COMMAND_TIMEOUT, renewed).await);
    }

    /// Gives back every session place this replica holds (it is leaving).
    pub(super) async fn release_slots(&self) {
        let held: Vec<(String, String)> = self
            .lock_slots()
            .drain()
            .map(|(member, key)| (key, member))
            .collect();
        if !held.is_empty() {
            self.remove_slots(&held).await;
        }
    }

    /// Removes session places (key, member) from their principals' counts.
    async fn remove_slots(&self, held: &[(String, String)]) {
        let mut pipe = redis::pipe();
        for (key, member) in held {
            pipe.zrem(key, member).ignore();
        }
        let mut redis = self.redis.clone();
        let removed = pipe.query_async::<()>(&mut redis);
        self.noted(tokio::time::timeout(COMMAND_TIMEOUT, removed).await);
    }
}
