//! Many replicas as one server (`SENTINEL_MCP_REDIS_URL`): every replica registers the sessions
//! it owns in Redis, and a request that lands on a replica that does not hold its session is
//! relayed to the one that does, over Redis pub/sub ([`relay`]). Without the setting none of
//! this exists and nothing is paid.
//!
//! Keys (all under `sentinel-mcp:`): `session:{id}` holds the owner of a session (replica,
//! transport, principal, opened) with a TTL the owner's heartbeat renews, and once the session
//! has ended, for one TTL more, when it ended (so every replica answers 404 for it at once,
//! even right after a Redis restart, when a missing key may be a live session not yet put
//! back); each replica listens
//! on its own channel `replica:{id}` for relayed requests and for the answers to the requests it
//! relayed.

pub mod entra;
pub mod limits;
pub mod relay;
pub mod shared_results;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::Router;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, IntoConnectionInfo, ProtocolVersion};
use serde::{Deserialize, Serialize};
use tokio_util::task::TaskTracker;

use crate::clock::Clock;
use crate::secret::Secret;

/// Every key and channel starts with this.
const PREFIX: &str = "sentinel-mcp";
/// How often a replica renews its sessions' keys.
const HEARTBEAT: Duration = Duration::from_secs(10);
/// How often a replica that lost Redis tries again, so its sessions are back in a restarted
/// (empty) Redis within a second of it.
const HEARTBEAT_WHILE_DOWN: Duration = Duration::from_secs(1);
/// How long a session's key outlives its owner's last heartbeat.
const SESSION_TTL: Duration = Duration::from_secs(30);
/// How long a Redis command may take before the replica counts Redis as down.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);

/// `SENTINEL_MCP_REDIS_*`: where Redis is and how to sign in.
#[derive(Debug, Clone, clap::Args)]
pub struct ReplicaSettings {
    /// Redis that makes replicas one server: `redis://host:6379` or `rediss://host:6380` (TLS, as Azure Cache for Redis and Azure Managed Redis require); a password may be in the URL. Unset: one replica, no Redis.
    #[arg(
        long,
        env = "SENTINEL_MCP_REDIS_URL",
        global = true,
        hide_env_values = true
    )]
    pub redis_url: Option<Secret>,

    /// The Redis password, when it is not in SENTINEL_MCP_REDIS_URL.
    #[arg(
        long,
        env = "SENTINEL_MCP_REDIS_PASSWORD",
        global = true,
        hide_env_values = true
    )]
    pub redis_password: Option<Secret>,

    /// Sign in to Redis with the server's own Entra identity (the Azure identity chain: managed identity, workload identity, client secret or Azure CLI), user name = its object id, token for https://redis.azure.com/ refreshed before expiry; no password then.
    #[arg(long, env = "SENTINEL_MCP_REDIS_ENTRA", default_value_t = false, global = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub redis_entra: bool,

    /// This replica's name in Redis; default: the container's host name and a random suffix.
    #[arg(long, env = "SENTINEL_MCP_REPLICA_ID", global = true)]
    pub replica_id: Option<String>,
}

/// Why Redis could not be used at start.
#[derive(Debug, thiserror::Error)]
pub enum ReplicaError {
    #[error(
        "SENTINEL_MCP_REDIS_URL is not a Redis URL (redis://host:port or rediss://host:port): {0}"
    )]
    Url(String),
    #[error("Redis at {host} did not answer: {reason}")]
    Connect { host: String, reason: String },
    #[error(
        "SENTINEL_MCP_REDIS_ENTRA signs in with the server's identity: remove the password from SENTINEL_MCP_REDIS_URL and SENTINEL_MCP_REDIS_PASSWORD"
    )]
    EntraWithPassword,
    #[error("SENTINEL_MCP_REDIS_ENTRA: {0}")]
    Entra(String),
}

/// Who owns a session, as kept in Redis.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Ownership {
    /// The replica that holds the session.
    pub replica: String,
    /// `sse` or `streamable`.
    pub transport: String,
    /// The principal that opened it (tenant and object id, or the client address).
    pub owner: String,
    /// Unix seconds, on the server's [`Clock`].
    pub opened: i64,
}

/// What Redis holds for a session id.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Record {
    /// The session is live on this replica.
    Owned(Ownership),
    /// The session ended (closed, deleted, expired, or its replica stopped) at these Unix
    /// seconds, on the server's [`Clock`].
    Ended { ended: i64 },
}

/// This replica's link to the others.
pub struct Replicas {
    id: String,
    redis: ConnectionManager,
    /// The sessions this replica owns, renewed by the heartbeat (a restarted Redis gets them back).
    owned: Mutex<HashMap<String, Ownership>>,
    /// Whether Redis answered the last command.
    healthy: AtomicBool,
    /// The server's own router, which relayed requests are served by.
    router: OnceLock<Router>,
    relays: relay::Relays,
    scripts: limits::Scripts,
    /// The session places this replica holds in principals' counts (slot id to key), renewed by
    /// the heartbeat.
    slots: Mutex<HashMap<String, String>>,
    /// Redis clean-ups under way in the background (an ended session's key, a session's place
    /// in its principal's count), waited for by [`Replicas::leave`].
    cleanups: TaskTracker,
    /// The server's clock, which stamps when a session opened and ended. (Keys and places
    /// expire on Redis's own clock, by TTL; the heartbeat and resend intervals are tokio's.)
    clock: Clock,
}

impl Replicas {
    /// Connects to Redis and starts listening for relayed requests; `None` when Redis is not
    /// configured. `identity` is the server's token chain, asked for only with `SENTINEL_MCP_REDIS_ENTRA`;
    /// `clock` is the server's.
    pub async fn connect(
        settings: &ReplicaSettings,
        identity: impl FnOnce() -> Result<Arc<crate::azure::token::TokenCredential>, String>,
        clock: Clock,
    ) -> Result<Option<Arc<Replicas>>, ReplicaError> {
        let Some(url) = &settings.redis_url else {
            return Ok(None);
        };
        let mut info = url
            .expose()
            .into_connection_info()
            .map_err(|e| ReplicaError::Url(e.to_string()))?;
        let host = info.addr().to_string();
        let mut redis_info = info.redis_settings().clone();
        if let Some(password) = &settings.redis_password {
            redis_info = redis_info.set_password(password.expose());
        }
        // Subscriptions ride on the same multiplexed connection as commands (RESP3 pushes), and
        // are renewed by the connection manager when it reconnects.
        redis_info = redis_info.set_protocol(ProtocolVersion::RESP3);
        info = info.set_redis_settings(redis_info);
        if url.expose().starts_with("rediss://") {
            install_tls_provider();
        }
        if settings.redis_entra
            && (info.redis_settings().password().is_some() || settings.redis_password.is_some())
        {
            return Err(ReplicaError::EntraWithPassword);
        }
        let client = redis::Client::open(info).map_err(|e| ReplicaError::Url(e.to_string()))?;
        let (push_tx, push_rx) = tokio::sync::mpsc::unbounded_channel();
        let mut config = ConnectionManagerConfig::new();
        if settings.redis_entra {
            let credential = identity().map_err(ReplicaError::Entra)?;
            let credentials = entra::EntraCredentials::start(credential)
                .await
                .map_err(ReplicaError::Entra)?;
            config = config.set_credentials_provider(credentials);
        }
        let config = config
            .set_push_sender(push_tx)
            .set_automatic_resubscription()
            .set_connection_timeout(Some(COMMAND_TIMEOUT))
            .set_response_timeout(Some(COMMAND_TIMEOUT))
            .set_max_delay(Duration::from_secs(2));
        let mut redis = client
            .get_connection_manager_with_config(config)
            .await
            .map_err(|e| ReplicaError::Connect {
                host: host.clone(),
                reason: e.to_string(),
            })?;
        let id = settings.replica_id.clone().unwrap_or_else(default_id);
        redis
            .subscribe(channel(&id))
            .await
            .map_err(|e| ReplicaError::Connect {
                host,
                reason: e.to_string(),
            })?;
        let replicas = Arc::new(Replicas {
            id,
            redis,
            owned: Mutex::default(),
            healthy: AtomicBool::new(true),
            router: OnceLock::new(),
            relays: relay::Relays::default(),
            scripts: limits::Scripts::default(),
            slots: Mutex::default(),
            cleanups: TaskTracker::new(),
            clock,
        });
        tokio::spawn(relay::listen(Arc::downgrade(&replicas), push_rx));
        tokio::spawn(heartbeat(Arc::downgrade(&replicas)));
        tracing::info!(
            replica = replicas.id,
            "replicas: sessions shared through Redis"
        );
        Ok(Some(replicas))
    }

    /// This replica's name.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Serves relayed requests with `router` (the server's own, set once it is built).
    pub fn serve_with(&self, router: Router) {
        let _ = self.router.set(router);
    }

    /// Whether Redis answered the last command.
    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    /// A command's outcome, noting whether Redis is reachable.
    fn noted<T>(
        &self,
        outcome: Result<redis::RedisResult<T>, tokio::time::error::Elapsed>,
    ) -> Option<T> {
        let value = match outcome {
            Ok(Ok(v)) => Some(v),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "replicas: Redis command failed");
                None
            }
            Err(_) => {
                tracing::warn!("replicas: Redis did not answer within 2 s");
                None
            }
        };
        let was = self.healthy.swap(value.is_some(), Ordering::Relaxed);
        if was != value.is_some() {
            match value.is_some() {
                true => tracing::info!("replicas: Redis is back"),
                false => tracing::warn!(
                    "replicas: Redis is unreachable; sessions on other replicas cannot be reached until it is back"
                ),
            }
        }
        value
    }

    /// Registers a session this replica now owns; waits for Redis so a request for it that
    /// lands elsewhere right after finds it.
    pub async fn register(&self, session: &str, transport: &str, owner: &str) {
        let ownership = Ownership {
            replica: self.id.clone(),
            transport: transport.to_string(),
            owner: owner.to_string(),
            opened: self.clock.now_secs(),
        };
        let value = serde_json::to_string(&ownership).unwrap_or_default();
        self.lock_owned().insert(session.to_string(), ownership);
        let mut redis = self.redis.clone();
        let key = session_key(session);
        let ttl = SESSION_TTL.as_secs();
        let set = redis.set_ex::<_, _, ()>(key, value, ttl);
        self.noted(tokio::time::timeout(COMMAND_TIMEOUT, set).await);
    }

    /// Forgets a session that ended here, and marks it ended in Redis (in the background:
    /// called from drops).
    pub fn deregister(self: &Arc<Self>, session: &str) {
        if self.lock_owned().remove(session).is_none() {
            return;
        }
        let this = self.clone();
        let session = session.to_string();
        self.cleanups
            .spawn(async move { this.mark_ended(&[session]).await });
    }

    /// Marks `sessions` ended in Redis, for one TTL.
    async fn mark_ended(&self, sessions: &[String]) {
        let ended = serde_json::to_string(&Record::Ended {
            ended: self.clock.now_secs(),
        })
        .unwrap_or_default();
        let mut pipe = redis::pipe();
        for session in sessions {
            pipe.set_ex(session_key(session), &ended, SESSION_TTL.as_secs())
                .ignore();
        }
        let mut redis = self.redis.clone();
        let sent = pipe.query_async::<()>(&mut redis);
        self.noted(tokio::time::timeout(COMMAND_TIMEOUT, sent).await);
    }

    /// What Redis holds for `session`; `Err` when Redis cannot be reached.
    pub async fn record_of(&self, session: &str) -> Result<Option<Record>, ()> {
        let mut redis = self.redis.clone();
        let get = redis.get::<_, Option<String>>(session_key(session));
        let found = self
            .noted(tokio::time::timeout(COMMAND_TIMEOUT, get).await)
            .ok_or(())?;
        Ok(found.and_then(|v| serde_json::from_str(&v).ok()))
    }

    /// On a graceful stop, once the server has closed its streams: waits (a command's timeout at
    /// most) for the clean-ups under way, then marks ended every session this replica still
    /// holds and gives back their places, so no other replica relays to it once it is gone.
    pub async fn leave(&self) {
        self.cleanups.close();
        let _ = tokio::time::timeout(COMMAND_TIMEOUT, self.cleanups.wait()).await;
        let sessions: Vec<String> = self.lock_owned().drain().map(|(id, _)| id).collect();
        if !sessions.is_empty() {
            self.mark_ended(&sessions).await;
        }
        self.release_slots().await;
        tracing::info!(
            replica = self.id,
            sessions = sessions.len(),
            "replicas: left Redis"
        );
    }

    /// Whether Redis started less than a session's TTL ago: it may not hold every live session
    /// yet (each replica puts its own back within a second of reaching it again).
    async fn restarted_lately(&self) -> bool {
        let mut redis = self.redis.clone();
        let mut info = redis::cmd("INFO");
        info.arg("server");
        let text = info.query_async::<String>(&mut redis);
        let Some(text) = self.noted(tokio::time::timeout(COMMAND_TIMEOUT, text).await) else {
            return true;
        };
        text.lines()
            .find_map(|l| l.strip_prefix("uptime_in_seconds:"))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .is_some_and(|up| up < SESSION_TTL.as_secs())
    }

    /// Marks ended a session whose owner no longer answers.
    async fn forget(&self, session: &str) {
        self.mark_ended(&[session.to_string()]).await;
    }

    /// Whether this replica owns `session` now.
    pub fn owns(&self, session: &str) -> bool {
        self.lock_owned().contains_key(session)
    }

    fn lock_owned(&self) -> std::sync::MutexGuard<'_, HashMap<String, Ownership>> {
        self.owned.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lock_slots(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Renews every owned session's key (re-creating it if Redis restarted empty).
    async fn renew(&self) {
        let owned: Vec<(String, String)> = self
            .lock_owned()
            .iter()
            .map(|(id, o)| {
                (
                    session_key(id),
                    serde_json::to_string(o).unwrap_or_default(),
                )
            })
            .collect();
        let mut pipe = redis::pipe();
        // A PING keeps the health flag current when there is nothing to renew.
        pipe.cmd("PING").ignore();
        for (key, value) in &owned {
            pipe.set_ex(key, value, SESSION_TTL.as_secs()).ignore();
        }
        let mut redis = self.redis.clone();
        let sent = pipe.query_async::<()>(&mut redis);
        self.noted(tokio::time::timeout(COMMAND_TIMEOUT, sent).await);
    }
}

/// Renews this replica's sessions until the replica is gone: every 10 s, and every second
/// while Redis is unreachable (the first renewal that gets through puts them all back).
async fn heartbeat(replicas: std::sync::Weak<Replicas>) {
    loop {
        let Some(r) = replicas.upgrade() else { return };
        let wait = if r.is_healthy() {
            HEARTBEAT
        } else {
            HEARTBEAT_WHILE_DOWN
        };
        drop(r);
        tokio::time::sleep(wait).await;
        let Some(r) = replicas.upgrade() else { return };
        r.renew().await;
        r.renew_slots().await;
    }
}

fn session_key(session: &str) -> String {
    format!("{PREFIX}:session:{session}")
}

fn channel(replica: &str) -> String {
    format!("{PREFIX}:replica:{replica}")
}

/// The container's host name (Container Apps names each replica) and a random suffix, so a
/// restarted replica is never taken for its predecessor.
fn default_id() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "replica".into());
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}-{}", &suffix[..8])
}

/// rustls needs one process-wide crypto provider; the HTTP client's is ring.
fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
