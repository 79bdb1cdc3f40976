//! The registry of built-in scalar functions: each family file declares its functions once
//! (name, aliases, result type and implementation together, in its `FUNCTIONS` table); the
//! binder looks a name up here once and keeps the `&'static Function`, so evaluating a call
//! is one indirect call, with no name matching per row.

use std::sync::LazyLock;

use crate::value::size::Growth;
use crate::value::{ScalarType, Value};

/// How a function evaluates: its (already evaluated) arguments and its bound result type.
pub(crate) type Eval = fn(&[Value], ScalarType) -> Value;

/// How a function's result type follows from its arguments' types.
#[derive(Clone, Copy)]
pub(crate) enum Returns {
    /// Always this type.
    Fixed(ScalarType),
    /// The type of the first argument (dynamic without one).
    First,
    /// Computed from the argument types.
    Computed(fn(&[ScalarType]) -> ScalarType),
}

/// A built-in scalar function.
pub(crate) struct Function {
    /// Its name, as the registry and the messages know it.
    pub(crate) name: &'static str,
    /// Other names for the same function (same result type, same implementation).
    pub(crate) aliases: &'static [&'static str],
    pub(crate) returns: Returns,
    pub(crate) call: Eval,
    /// How what it builds grows with its arguments' size (`value::size::function_bound`).
    pub(crate) growth: Growth,
    /// What it builds in proportion to the product of its arguments (a count times a text, a
    /// replacement per match), for the few functions that do.
    pub(crate) product: Option<fn(&[Value]) -> usize>,
}

impl std::fmt::Debug for Function {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

impl PartialEq for Function {
    /// The same function: one registry entry (aliases included).
    fn eq(&self, other: &Function) -> bool {
        std::ptr::eq(self, other)
    }
}

impl Function {
    /// A function with aliases or a result type that depends on its arguments.
    pub(crate) const fn new(
        name: &'static str,
        aliases: &'static [&'static str],
        returns: Returns,
        call: Eval,
    ) -> Function {
        Function {
            name,
            aliases,
            returns,
            call,
            growth: Growth::Copies,
            product: None,
        }
    }

    /// This function, building `growth` per byte of its arguments.
    pub(crate) const fn grows(self, growth: Growth) -> Function {
        Function { growth, ..self }
    }

    /// This function, building `product` bytes (of its arguments) besides its growth.
    pub(crate) const fn builds(self, product: fn(&[Value]) -> usize) -> Function {
        Function {
            product: Some(product),
            ..self
        }
    }

    /// The result type of a call with arguments of types `args`.
    pub(crate) fn result_type(&self, args: &[ScalarType]) -> ScalarType {
        match self.returns {
            Returns::Fixed(t) => t,
            Returns::First => args.first().copied().unwrap_or(ScalarType::Dynamic),
            Returns::Computed(f) => f(args),
        }
    }

    /// Evaluates a call on already evaluated arguments (null on bad input).
    ///
    /// A call that could build a large value (large arguments, a large count) is first checked
    /// against the query's memory budget with its worst case; when that does not fit, the query
    /// is stopped (its next check reports the limit) and the call answers null without
    /// building it.
    pub(crate) fn eval(&self, args: &[Value], result: ScalarType) -> Value {
        if let Some(bytes) = crate::value::size::function_bound(self, args)
            && crate::budget::reserve(bytes).is_err()
        {
            return Value::Null;
        }
        (self.call)(args, result)
    }
}

/// A function with a fixed result type and no aliases (to keep the tables short).
pub(crate) const fn fixed(name: &'static str, returns: ScalarType, call: Eval) -> Function {
    Function::new(name, &[], Returns::Fixed(returns), call)
}

/// Every family's table.
fn families() -> [&'static [Function]; 17] {
    use super::*;
    [
        strings::FUNCTIONS,
        dynamic::FUNCTIONS,
        logic::FUNCTIONS,
        numbers::FUNCTIONS,
        datetime::FUNCTIONS,
        codecs::FUNCTIONS,
        series::FUNCTIONS,
        parsing::FUNCTIONS,
        sketches::FUNCTIONS,
        net::FUNCTIONS,
        math::FUNCTIONS,
        units::FUNCTIONS,
        fit::FUNCTIONS,
        geo::cells::FUNCTIONS,
        geo::shapes::FUNCTIONS,
        geo::ops::FUNCTIONS,
        geo::cover::FUNCTIONS,
    ]
}

/// Every name (aliases included) with its function, sorted by name.
static REGISTRY: LazyLock<Vec<(&'static str, &'static Function)>> = LazyLock::new(|| {
    let mut all: Vec<(&'static str, &'static Function)> = families()
        .into_iter()
        .flatten()
        .flat_map(|f| {
            std::iter::once(f.name)
                .chain(f.aliases.iter().copied())
                .map(move |n| (n, f))
        })
        .collect();
    all.sort_unstable_by_key(|(n, _)| *n);
    all
});

/// The built-in scalar function called `name` (an alias finds its function).
pub(crate) fn lookup(name: &str) -> Option<&'static Function> {
    let at = REGISTRY.binary_search_by_key(&name, |(n, _)| *n).ok()?;
    Some(REGISTRY[at].1)
}

/// A function the engine itself calls by name (`todouble` for a tuple's result, …).
pub(crate) fn function(name: &str) -> &'static Function {
    lookup(name).unwrap_or_else(|| panic!("{name} is a built-in function"))
}

/// Every name of a built-in scalar function (aliases included), sorted.
pub(crate) fn names() -> impl Iterator<Item = &'static str> {
    REGISTRY.iter().map(|(n, _)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_is_declared_once() {
        let names: Vec<&str> = names().collect();
        for pair in names.windows(2) {
            assert_ne!(pair[0], pair[1], "{} is declared twice", pair[0]);
        }
    }

    #[test]
    fn a_name_finds_its_function_and_an_alias_the_same_one() {
        assert_eq!(function("iif"), function("iff"));
        assert_eq!(function("iff").name, "iff");
        assert!(lookup("no_such_function").is_none());
        assert!(names().all(|n| lookup(n).is_some()));
    }
}
