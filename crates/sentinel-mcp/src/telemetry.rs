//! Logging: structured lines on stderr (stdout belongs to the stdio transport).

use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, Settings};

/// Installs the global subscriber; `RUST_LOG` overrides the level from `DEBUG`.
pub fn init(settings: &Settings) {
    let default = if settings.debug {
        "debug,hyper=info,h2=info"
    } else {
        // rmcp logs every stateless request and session at info; its warnings are what matter.
        "info,rmcp=warn"
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    let _ = match settings.log_format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
        LogFormat::Text => builder.try_init(),
    };
}
