//! Progress of a long tool call, for a client that sent a `progressToken` in the request's
//! `_meta`: while the call runs, a `notifications/progress` every half second with the seconds
//! it has run and what it is waiting on (the local workspace, or the Azure service the tool
//! reaches). Each transport says how a notification reaches the client; a call done within the
//! first half second sends none.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use rmcp::model::{JsonObject, ProgressNotificationParam, ProgressToken};

use crate::model::DataKind;

/// How often a call in progress says so: twice a second (the client asked to hear, not to be
/// flooded).
pub const PERIOD: Duration = Duration::from_millis(500);

/// Sends one notification to the client; a client gone is not the call's problem.
pub type Send = Box<
    dyn Fn(ProgressNotificationParam) -> Pin<Box<dyn Future<Output = ()> + std::marker::Send>>
        + std::marker::Send
        + Sync,
>;

/// Where a call's progress goes: the client's token and the transport's way to it.
pub struct Progress {
    token: ProgressToken,
    send: Send,
}

impl Progress {
    /// The progress of a call whose `_meta` holds a `progressToken`; `None` without one.
    pub fn requested(
        call_meta: Option<&JsonObject>,
        send: impl FnOnce() -> Send,
    ) -> Option<Progress> {
        let token = call_meta?.get("progressToken")?.clone();
        let token = serde_json::from_value(token).ok()?;
        Some(Progress {
            token,
            send: send(),
        })
    }
}

/// What a call of a tool of `kind` waits on, as its progress message says.
pub fn waiting_on(kind: Option<DataKind>, backend: &str) -> &'static str {
    match (backend, kind) {
        ("local", _) | (_, None) => "working on the local workspace",
        (_, Some(DataKind::Logs)) => "waiting on Log Analytics",
        (_, Some(DataKind::Hunting | DataKind::Alerts)) => "waiting on Microsoft Graph security",
        (_, Some(DataKind::Incidents | DataKind::IncidentChanges)) => {
            "waiting on Microsoft Sentinel"
        }
    }
}

/// Runs `call`, reporting its progress every [`PERIOD`] while it runs. Notifications are sent
/// from the call's own future, so every one goes out before the call's answer.
pub async fn report<F: Future>(call: F, progress: Option<Progress>, what: &str) -> F::Output {
    let Some(progress) = progress else {
        return call.await;
    };
    let started = Instant::now();
    let mut call = std::pin::pin!(call);
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + PERIOD, PERIOD);
    loop {
        tokio::select! {
            biased;
            out = &mut call => return out,
            _ = ticks.tick() => {
                let seconds = started.elapsed().as_secs_f64();
                let notification = ProgressNotificationParam::new(progress.token.clone(), (seconds * 10.0).round() / 10.0)
                    .with_message(format!("{what}: {seconds:.0} s"));
                (progress.send)(notification).await;
            }
        }
    }
}
