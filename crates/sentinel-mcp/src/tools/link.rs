//! The link a capped answer carries to its whole table: a query result, a list or a timeline the
//! row or byte cap cut is kept in the server's [`ResultStore`](crate::results::ResultStore) for
//! the caller (and shared with the other replicas), and the answer gets a `resource_link` to it
//! plus its URI in the text (for clients that predate resource links) and in
//! `structuredContent.full_result`. Every tool that drops rows it had in hand answers through
//! [`answer`].

use rmcp::model::{CallToolResult, ContentBlock, Resource};
use serde::Serialize;

use super::{Call, ToolError, success};
use crate::results::{Kept, ResultKind, resource::DEFAULT_PAGE_ROWS};

/// The whole of what a capped answer shows part of.
pub(super) struct Whole {
    pub kind: &'static ResultKind,
    pub table: kql::Table,
    /// What the caller was told beside the table (partial data, engine notes).
    pub warnings: Vec<String>,
    /// Rows of it the answer shows.
    pub shown: usize,
    /// Where the rows the answer did not show start: `shown` when it showed the first rows, 0
    /// when it showed a selection (a timeline's most relevant events).
    pub rest_at: usize,
}

/// What a truncated answer says about its whole table.
#[derive(Default)]
struct Link {
    /// The kept table's URI, when it was kept.
    uri: Option<String>,
    /// A line for the answer's text: where to read the rest, or why it was not kept.
    note: Option<String>,
    /// The `resource_link` content, when it was kept.
    resource: Option<Resource>,
}

/// The answer `text` and `structured` make, and when rows were left out (`whole`), the link to
/// them: its note in the text, its URI in the field `full_result` finds, a `resource_link`.
pub(super) async fn answer<S: Serialize>(
    call: &Call<'_>,
    whole: Option<Whole>,
    mut text: String,
    mut structured: S,
    full_result: fn(&mut S) -> &mut Option<String>,
) -> Result<CallToolResult, ToolError> {
    let link = match whole {
        Some(whole) => keep(call, whole).await,
        None => Link::default(),
    };
    if let Some(note) = link.note {
        text.push_str(&format!("\nNote: {note}\n"));
    }
    *full_result(&mut structured) = link.uri;
    let mut result = success(text, structured)?;
    if let Some(resource) = link.resource {
        result.content.push(ContentBlock::resource_link(resource));
    }
    Ok(result)
}

/// Keeps `whole` for the caller and shares it with the other replicas.
async fn keep(call: &Call<'_>, whole: Whole) -> Link {
    let store = &call.ctx.results;
    let Whole {
        kind,
        table,
        warnings,
        shown,
        rest_at,
    } = whole;
    let total = table.rows.len();
    let noun = kind.noun;
    match store.keep(call.owner, kind, table, warnings) {
        Kept::Stored(stored) => {
            // With replicas, the link answers on any of them: the table is written where they read.
            if !store.publish(&stored).await {
                tracing::warn!(
                    result = &*stored.id,
                    "a kept result could not be shared with the other replicas (Redis unreachable, or larger than SENTINEL_MCP_RESULT_STORE_MB as JSON): its link answers on this replica only"
                );
            }
            let uri = stored.uri();
            let kept_for = match store.ttl().as_secs() {
                s if s < 120 => format!("{s} s"),
                s => format!("{} min", s / 60),
            };
            let expires = kql::value::format_datetime(stored.expires_ticks);
            let note = format!(
                "The full {noun} ({total} rows) is kept for you until {expires} ({kept_for}) at {uri}: read the rest with resources/read in pages instead of asking again, e.g. {uri}?offset={rest_at}&limit={DEFAULT_PAGE_ROWS}&format=csv (format json or csv)."
            );
            let resource = Resource::new(uri.clone(), format!("{}-{}", kind.name, stored.id))
                .with_title(format!("Full {noun}: {total} rows"))
                .with_description(format!(
                    "All {total} rows of this {noun} ({shown} shown), in pages: ?offset=&limit= (at most {}), format=json|csv. Kept until {expires}.",
                    crate::results::resource::MAX_PAGE_ROWS
                ))
                .with_mime_type("application/json");
            Link {
                uri: Some(uri),
                note: Some(note),
                resource: Some(resource),
            }
        }
        Kept::TooLarge { bytes, limit } => Link {
            note: Some(format!(
                "The full {noun} (about {} MiB) is larger than the server keeps for reading later (SENTINEL_MCP_RESULT_STORE_MB={}), so it was not kept: {} to see more.",
                bytes.div_ceil(1 << 20),
                limit >> 20,
                kind.narrow
            )),
            ..Link::default()
        },
        Kept::Off => Link::default(),
    }
}
