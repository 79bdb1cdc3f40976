//! The link a truncated query result carries to its full table: the table is kept in the
//! server's [`ResultStore`](crate::results::ResultStore) for the caller, and the result gets a
//! `resource_link` to it plus its URI in the text (for clients that predate resource links) and
//! in `structuredContent.full_result`.

use rmcp::model::Resource;

use super::Call;
use crate::results::{Kept, resource::DEFAULT_PAGE_ROWS};

/// What a truncated result says about its full table.
pub(super) struct Link {
    /// The kept table's URI, when it was kept.
    pub uri: Option<String>,
    /// A line for the result's text: where to read the rest, or why it was not kept.
    pub note: Option<String>,
    /// The `resource_link` content, when it was kept.
    pub resource: Option<Resource>,
    /// The kept result, to share with the other replicas.
    pub stored: Option<std::sync::Arc<crate::results::StoredResult>>,
}

/// Keeps `table` (the whole table the backend returned) for the caller; `returned` rows of it
/// were shown.
pub(super) fn keep(
    call: &Call<'_>,
    table: kql::Table,
    warnings: Vec<String>,
    returned: usize,
) -> Link {
    let store = &call.ctx.results;
    let total = table.rows.len();
    match store.keep(call.owner, table, warnings) {
        Kept::Stored(stored) => {
            let uri = stored.uri();
            let kept_for = match store.ttl().as_secs() {
                s if s < 120 => format!("{s} s"),
                s => format!("{} min", s / 60),
            };
            let expires = kql::value::format_datetime(stored.expires_ticks);
            let note = format!(
                "The full result ({total} rows) is kept for you until {expires} ({kept_for}) at {uri}: read the rest with resources/read in pages instead of running the query again, e.g. {uri}?offset={returned}&limit={DEFAULT_PAGE_ROWS}&format=csv (format json or csv)."
            );
            let resource = Resource::new(uri.clone(), format!("query-result-{}", stored.id))
                .with_title(format!("Full query result: {total} rows"))
                .with_description(format!(
                    "All {total} rows of this result ({returned} shown), in pages: ?offset=&limit= (at most {}), format=json|csv. Kept until {expires}.",
                    crate::results::resource::MAX_PAGE_ROWS
                ))
                .with_mime_type("application/json");
            Link {
                uri: Some(uri),
                note: Some(note),
                resource: Some(resource),
                stored: Some(stored),
            }
        }
        Kept::TooLarge { bytes, limit } => Link {
            uri: None,
            note: Some(format!(
                "The full result (about {} MiB) is larger than the server keeps for reading later (SENTINEL_MCP_RESULT_STORE_MB={}), so it was not kept: narrow the query (where, project, summarize) to see more.",
                bytes.div_ceil(1 << 20),
                limit >> 20
            )),
            resource: None,
            stored: None,
        },
        Kept::Off => Link {
            uri: None,
            note: None,
            resource: None,
            stored: None,
        },
    }
}
