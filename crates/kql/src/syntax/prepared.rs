//! A query lexed and parsed once: the guard checks it, the engine runs it without parsing again.

use super::ast::Script;
use super::lexer::Token;
use super::parser::on_deep_stack;

/// A query text with its tokens and syntax tree, made by the guard ([`crate::QueryGuard::check`])
/// and run by [`crate::execute_prepared`].
#[derive(Debug, PartialEq)]
pub struct Prepared {
    pub(crate) text: String,
    pub(crate) tokens: Vec<Token>,
    pub(crate) script: Script,
}

impl Prepared {
    /// The query text.
    pub fn text(&self) -> &str {
        &self.text
    }
}

impl Drop for Prepared {
    /// The tree is dropped on a deep stack, as it was parsed: a long chain (`1+1+…+1`) nests as
    /// deep as it is long.
    fn drop(&mut self) {
        let script = std::mem::replace(
            &mut self.script,
            Script {
                statements: Vec::new(),
            },
        );
        let _ = on_deep_stack(move || {
            drop(script);
            Ok(())
        });
    }
}
