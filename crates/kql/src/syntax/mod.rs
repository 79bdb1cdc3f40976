//! KQL text to syntax tree: the lexer, the recursive-descent parser and the AST it builds.

pub mod ast;
pub mod lexer;
pub mod parser;
pub mod prepared;
