//! Progress of a long tool call, for a client that sent a `progressToken` in the request's
//! `_meta`: while the call runs, at most one `notifications/progress` every half second. On the
//! local backend it counts rows: the rows the engine has read of the workspace's tables out of
//! those the query reads (`kql::ScanProgress`, reached by the backend through a task-local), and
//! a tick where no row moved sends nothing, since each notification's progress must be higher
//! than the last. On Azure it counts the seconds the call has waited on the service the tool
//! reaches. Each transport says how a notification reaches the client; a call done within the
//! first half second sends none.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kql::ScanProgress;
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

/// What a call waits on, which decides what its progress counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waiting {
    /// The local engine: rows read of the workspace's tables.
    LocalWorkspace,
    /// An Azure service (named as the message says it): the seconds waited.
    Azure(&'static str),
}

/// What a call of a tool of `kind` waits on, on the `backend` the server runs.
pub fn waiting_on(kind: Option<DataKind>, backend: &str) -> Waiting {
    match (backend, kind) {
        ("local", _) | (_, None) => Waiting::LocalWorkspace,
        (_, Some(DataKind::Logs)) => Waiting::Azure("waiting on Log Analytics"),
        (_, Some(DataKind::Hunting | DataKind::Alerts)) => {
            Waiting::Azure("waiting on Microsoft Graph security")
        }
        (_, Some(DataKind::Incidents | DataKind::IncidentChanges)) => {
            Waiting::Azure("waiting on Microsoft Sentinel")
        }
    }
}

tokio::task_local! {
    /// The rows the local engine reads for the call that runs in this task, when its client
    /// asked for progress.
    static ROWS: Arc<ScanProgress>;
}

/// Where the local engine counts the rows it reads for the current call: `Some` only inside a
/// call whose client asked for progress (queries the call runs add up in it).
pub fn scan_progress() -> Option<Arc<ScanProgress>> {
    ROWS.try_with(Arc::clone).ok()
}

/// Runs `call`, reporting its progress every [`PERIOD`] while it runs. Notifications are sent
/// from the call's own future, so every one goes out before the call's answer.
pub async fn report<F: Future>(call: F, progress: Option<Progress>, waiting: Waiting) -> F::Output {
    let Some(progress) = progress else {
        return call.await;
    };
    let rows = Arc::new(ScanProgress::new());
    let started = Instant::now();
    // Only the local engine counts rows: Azure's calls need no task-local.
    let call = match waiting {
        Waiting::LocalWorkspace => {
            futures::future::Either::Left(ROWS.scope(Arc::clone(&rows), call))
        }
        Waiting::Azure(_) => futures::future::Either::Right(call),
    };
    let mut call = std::pin::pin!(call);
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + PERIOD, PERIOD);
    // The progress last sent: each notification's must be higher.
    let mut sent = 0.0;
    loop {
        tokio::select! {
            biased;
            out = &mut call => return out,
            _ = ticks.tick() => {
                let notification = match waiting {
                    Waiting::LocalWorkspace => rows_read(&progress.token, &rows, sent),
                    Waiting::Azure(what) => Some(seconds_waited(&progress.token, started, what)),
                };
                if let Some(notification) = notification {
                    sent = notification.progress;
                    (progress.send)(notification).await;
                }
            }
        }
    }
}

/// The local engine's progress: rows read out of the rows in all where known; `None` when no
/// row was read since the notification of progress `sent`.
fn rows_read(
    token: &ProgressToken,
    rows: &ScanProgress,
    sent: f64,
) -> Option<ProgressNotificationParam> {
    let total = rows.rows_total();
    // A scan can stop short of its table (a `take`) but never read past what was announced;
    // should it, the progress stays within the total.
    let read = total.map_or(rows.rows_read(), |t| rows.rows_read().min(t));
    if read as f64 <= sent {
        return None;
    }
    let notification = ProgressNotificationParam::new(token.clone(), read as f64);
    Some(match total {
        Some(total) => notification.with_total(total as f64).with_message(format!(
            "read {} of {} rows of the local workspace",
            grouped(read),
            grouped(total)
        )),
        None => notification.with_message(format!(
            "read {} rows of the local workspace",
            grouped(read)
        )),
    })
}

/// An Azure call's progress: the seconds it has waited, to a tenth.
fn seconds_waited(
    token: &ProgressToken,
    started: Instant,
    what: &str,
) -> ProgressNotificationParam {
    let seconds = started.elapsed().as_secs_f64();
    ProgressNotificationParam::new(token.clone(), (seconds * 10.0).round() / 10.0)
        .with_message(format!("{what}: {seconds:.0} s"))
}

/// `n` with its thousands grouped by commas: 1,234,567.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> ProgressToken {
        serde_json::from_value(serde_json::json!("t")).unwrap()
    }

    #[test]
    fn thousands_are_grouped() {
        let cases = [
            (0, "0"),
            (999, "999"),
            (1_000, "1,000"),
            (1_234_567, "1,234,567"),
        ];
        for (n, text) in cases {
            assert_eq!(grouped(n), text);
        }
    }

    #[test]
    fn rows_read_rise_within_the_total_or_send_nothing() {
        let rows = ScanProgress::new();
        assert!(
            rows_read(&token(), &rows, 0.0).is_none(),
            "nothing read yet"
        );
        // The engine counts: a query reads a table of 1,500 rows.
        let progress = std::sync::Arc::new(ScanProgress::new());
        let catalog = {
            let mut c = kql::Catalog::new();
            c.insert(
                "T",
                kql::Table {
                    columns: vec![kql::Column::new("n", kql::ScalarType::Long)],
                    rows: (0..1_500).map(|i| vec![kql::Value::Long(i)]).collect(),
                },
            );
            c
        };
        let opts = kql::ExecOptions {
            progress: Some(Arc::clone(&progress)),
            ..Default::default()
        };
        kql::execute_on(kql::Executor::Rows, &catalog, "T | count", &opts).unwrap();
        let n = rows_read(&token(), &progress, 0.0).expect("rows read");
        assert_eq!((n.progress, n.total), (1_500.0, Some(1_500.0)));
        assert_eq!(
            n.message.as_deref(),
            Some("read 1,500 of 1,500 rows of the local workspace")
        );
        assert!(
            rows_read(&token(), &progress, n.progress).is_none(),
            "no row moved"
        );
    }
}
