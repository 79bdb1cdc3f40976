//! Kept query results in Redis ([`SharedResults`]), so a result's link answers on every replica:
//! `sentinel-mcp:result:{id}` holds its header and `sentinel-mcp:result:{id}:{n}` its chunks,
//! each with the result's TTL.

use std::ops::Range;
use std::time::Duration;

use redis::AsyncCommands;

use super::{COMMAND_TIMEOUT, Replicas};
use crate::results::shared::{Pending, SharedResults};

/// How long writing a result may take: its chunks can be megabytes.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

fn header_key(id: &str) -> String {
    format!("sentinel-mcp:result:{id}")
}

fn chunk_key(id: &str, n: usize) -> String {
    format!("sentinel-mcp:result:{id}:{n}")
}

impl SharedResults for Replicas {
    fn put<'a>(
        &'a self,
        id: &'a str,
        header: String,
        chunks: Vec<String>,
        ttl: Duration,
    ) -> Pending<'a, bool> {
        Box::pin(async move {
            let ttl = ttl.as_secs().max(1);
            let mut pipe = redis::pipe();
            // The chunks first: a replica that finds the header finds its chunks.
            for (n, chunk) in chunks.iter().enumerate() {
                pipe.set_ex(chunk_key(id, n), chunk, ttl).ignore();
            }
            pipe.set_ex(header_key(id), header, ttl).ignore();
            let mut redis = self.redis.clone();
            let sent = pipe.query_async::<()>(&mut redis);
            self.noted(tokio::time::timeout(WRITE_TIMEOUT, sent).await)
                .is_some()
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
