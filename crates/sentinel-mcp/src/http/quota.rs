//! `SENTINEL_MCP_MAX_SESSIONS_PER_PRINCIPAL`: how many sessions, legacy SSE and Streamable HTTP
//! together, each client key (`RequestMeta::limit_key`) holds. A slot is taken before a session
//! opens and given back when the session's last trace goes (stream dropped, DELETE, expiry).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Open sessions by client key.
pub struct SessionQuota {
    max: usize,
    held: Mutex<HashMap<Arc<str>, usize>>,
}

/// One session's place in its key's quota; dropping it frees the place.
pub struct SessionSlot {
    quota: Arc<SessionQuota>,
    /// Shared with the map entry and the key's other slots: no allocation per session.
    key: Arc<str>,
    /// Its place in the key's count across replicas (`SENTINEL_MCP_REDIS_URL`).
    #[cfg(feature = "redis")]
    pub(crate) shared: Option<crate::replicas::limits::SharedSlot>,
}

impl std::fmt::Debug for SessionSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("SessionSlot").field(&self.key).finish()
    }
}

/// The key already holds the most sessions allowed.
#[derive(Debug)]
pub struct QuotaFull {
    pub max: usize,
}

impl SessionQuota {
    /// At most `max` sessions per key; 0 is no limit.
    pub fn new(max: usize) -> Arc<SessionQuota> {
        Arc::new(SessionQuota {
            max,
            held: Mutex::default(),
        })
    }

    /// A slot for one more session of `key`, `Ok(None)` when there is no limit.
    pub fn acquire(self: &Arc<Self>, key: &str) -> Result<Option<SessionSlot>, QuotaFull> {
        if self.max == 0 {
            return Ok(None);
        }
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        let key = match held.get_key_value(key) {
            Some((_, &n)) if n >= self.max => return Err(QuotaFull { max: self.max }),
            Some((k, _)) => k.clone(),
            None => Arc::from(key),
        };
        *held.entry(key.clone()).or_insert(0) += 1;
        Ok(Some(SessionSlot {
            quota: self.clone(),
            key,
            #[cfg(feature = "redis")]
            shared: None,
        }))
    }

    /// The most sessions a key may hold; 0 is no limit.
    pub fn max(&self) -> usize {
        self.max
    }

    /// Sessions `key` holds now.
    pub fn held_by(&self, key: &str) -> usize {
        let held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        held.get(key).copied().unwrap_or(0)
    }
}

impl Drop for SessionSlot {
    fn drop(&mut self) {
        let mut held = self.quota.held.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = held.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                held.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_counted_per_key_and_freed_on_drop() {
        let quota = SessionQuota::new(2);
        let a1 = quota.acquire("a").unwrap();
        let _a2 = quota.acquire("a").unwrap();
        assert_eq!(quota.acquire("a").unwrap_err().max, 2);
        let _b = quota.acquire("b").unwrap();
        drop(a1);
        assert_eq!(quota.held_by("a"), 1);
        assert!(quota.acquire("a").unwrap().is_some());
        assert_eq!(quota.held_by("a"), 1, "the unheld slot was freed");
    }

    #[test]
    fn zero_is_no_limit_and_keeps_nothing() {
        let quota = SessionQuota::new(0);
        let slots: Vec<_> = (0..100).map(|_| quota.acquire("a").unwrap()).collect();
        assert!(slots.iter().all(Option::is_none));
        assert_eq!(quota.held_by("a"), 0);
    }
}
