//! Pyro5's `attributes` example: a `Thingy` per client connection (the session instance
//! mode Python gives a registered class) with a method, a `__dunder__` method and two
//! properties, one of them writable; its other fields are not exposed. Served as
//! `example.attributes` in the daemon, without a name server; the client asks for the URI.

use std::collections::BTreeMap;

use pyro5_examples::{Class, serve};
use pyro5_std::{InstanceMode, expose};

struct Thingy {
    sub: BTreeMap<String, String>,
    value: i64,
}

impl Thingy {
    fn new() -> Self {
        Self { sub: BTreeMap::from([("name".to_string(), "value".to_string())]), value: 42 }
    }
}

#[expose]
impl Thingy {
    #[pyro5(name = "__dunder__")]
    fn dunder(&self) -> &'static str {
        "yep"
    }

    #[pyro5(name = "getValue")]
    fn get_value(&self) -> i64 {
        self.value
    }

    #[getter]
    fn prop_value(&self) -> i64 {
        self.value
    }

    #[setter(name = "prop_value")]
    fn set_prop_value(&mut self, value: i64) {
        self.value = value;
    }

    #[getter]
    fn prop_sub(&self) -> BTreeMap<String, String> {
        self.sub.clone()
    }
}

fn main() -> pyro5_examples::Result {
    serve(vec![Class::new("__main__.Thingy", InstanceMode::Session, Thingy::new, "example.attributes")], None, false)
}
