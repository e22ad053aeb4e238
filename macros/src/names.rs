//! Pyro's rule for names it never exposes, at compile time.
//!
//! A copy of `pyro5_core::server::is_private_name` (the macro cannot call the core while it
//! expands); the unit test below checks the two agree.

/// Names Pyro never exposes although they look like dunders (Python's
/// `_private_dunder_methods`).
const PRIVATE_DUNDERS: &[&str] = &[
    "__init__",
    "__init_subclass__",
    "__class__",
    "__module__",
    "__weakref__",
    "__call__",
    "__new__",
    "__del__",
    "__repr__",
    "__str__",
    "__format__",
    "__nonzero__",
    "__bool__",
    "__coerce__",
    "__cmp__",
    "__eq__",
    "__ne__",
    "__hash__",
    "__ge__",
    "__gt__",
    "__le__",
    "__lt__",
    "__dir__",
    "__enter__",
    "__exit__",
    "__copy__",
    "__deepcopy__",
    "__sizeof__",
    "__getattr__",
    "__setattr__",
    "__hasattr__",
    "__getattribute__",
    "__delattr__",
    "__instancecheck__",
    "__subclasscheck__",
    "__getinitargs__",
    "__getnewargs__",
    "__getstate__",
    "__setstate__",
    "__reduce__",
    "__reduce_ex__",
    "__subclasshook__",
];

/// Whether Pyro refuses to expose `name`: a leading underscore, except `__dunder__` names
/// longer than 4 characters that are not on Python's list of special methods.
pub(crate) fn is_private_name(name: &str) -> bool {
    if PRIVATE_DUNDERS.contains(&name) {
        return true;
    }
    if !name.starts_with('_') {
        return false;
    }
    !(name.len() > 4 && name.starts_with("__") && name.ends_with("__"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_names_agree_with_the_core() {
        let others =
            ["", "_", "__", "___", "____", "_____", "_x", "__x", "x__", "__x__", "__len__", "echo", "set_x", "_set"];
        for name in PRIVATE_DUNDERS.iter().chain(others.iter()) {
            assert_eq!(is_private_name(name), pyro5_core::server::is_private_name(name), "{name:?}");
        }
    }
}
