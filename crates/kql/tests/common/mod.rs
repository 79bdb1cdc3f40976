//! What the integration tests share: the KQL corpus, committed under `testdata/kql-corpus`.

use std::path::PathBuf;

/// A corpus file's text, from `KQL_CORPUS_DIR` when it is set, else from the repository's
/// `testdata/kql-corpus`. A missing file fails the test, naming where it looked.
pub fn corpus_text(name: &str) -> String {
    let dir = std::env::var("KQL_CORPUS_DIR").map_or_else(
        |_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/kql-corpus"),
        PathBuf::from,
    );
    let path = dir.join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the KQL corpus file {} cannot be read ({e}); it is committed under testdata/kql-corpus, or set KQL_CORPUS_DIR",
            path.display()
        )
    })
}
