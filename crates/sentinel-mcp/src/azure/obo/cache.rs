//! Downstream tokens by (tenant, caller, resource): bounded, the least recently used dropped
//! first; each key a slot whose async lock makes the exchange single-flight per key.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::CallerToken;
use crate::azure::token::AccessToken;

/// Whose token for what.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct Key {
    tenant: String,
    object_id: String,
    resource: String,
}

impl Key {
    pub(super) fn new(caller: &CallerToken, resource: &str) -> Key {
        Key {
            tenant: caller.tenant_id.clone(),
            object_id: caller.object_id.clone(),
            resource: resource.trim_end_matches('/').to_string(),
        }
    }
}

/// A kept downstream token and until when it may serve.
pub(super) struct Cached {
    pub(super) token: AccessToken,
    /// Five minutes before the token expires, and never past the caller's own token.
    pub(super) usable_until: i64,
}

/// One key's token; holding its lock is being the one exchange in flight for the key.
pub(super) type Slot = Arc<tokio::sync::Mutex<Option<Cached>>>;

struct Entry {
    slot: Slot,
    last_used: u64,
}

/// At most `capacity` keys.
pub(super) struct TokenCache {
    capacity: usize,
    uses: AtomicU64,
    entries: Mutex<HashMap<Key, Entry>>,
}

impl TokenCache {
    pub(super) fn new(capacity: usize) -> TokenCache {
        TokenCache {
            capacity: capacity.max(1),
            uses: AtomicU64::new(0),
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Entry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The key's slot, made if new; a new key beyond the capacity drops the least recently used.
    pub(super) fn slot(&self, key: &Key) -> Slot {
        let now = self.uses.fetch_add(1, Ordering::Relaxed);
        let mut entries = self.entries();
        if let Some(entry) = entries.get_mut(key) {
            entry.last_used = now;
            return entry.slot.clone();
        }
        if entries.len() >= self.capacity
            && let Some(oldest) = entries
                .iter()
                .min_by_key(|(_, e)| e.last_used)
                .map(|(k, _)| k.clone())
        {
            entries.remove(&oldest);
        }
        let slot = Slot::default();
        entries.insert(
            key.clone(),
            Entry {
                slot: slot.clone(),
                last_used: now,
            },
        );
        slot
    }

    pub(super) fn remove(&self, key: &Key) {
        self.entries().remove(key);
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.entries().len()
    }

    #[cfg(test)]
    pub(super) fn contains(&self, key: &Key) -> bool {
        self.entries().contains_key(key)
    }
}
