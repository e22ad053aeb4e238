//! `#[expose]` on generic impls, with a class name and a core path given, and on methods
//! with lifetimes of their own.

mod util;

use core::cell::RefCell;

use pyro5_core::ser::value::Value;
use pyro5_core::server::{PyException, PyroObject};
use pyro5_macros::expose;
use serde::Serialize;
use serde::de::DeserializeOwned;
use util::{Daemon, FORMATS, names};

/// A list of `T`, served as class `Store`.
struct Store<T> {
    items: Vec<T>,
}

#[expose(class = "Store")]
impl<T> Store<T>
where
    T: Serialize + DeserializeOwned + Clone + Send + 'static,
{
    fn put(&mut self, item: T) -> usize {
        self.items.push(item);
        self.items.len()
    }

    fn get(&self, index: usize) -> Result<T, PyException<&'static str>> {
        self.items.get(index).cloned().ok_or(PyException::index_error("list index out of range"))
    }

    fn all(&self) -> &[T] {
        &self.items
    }

    fn each(&self) -> impl Iterator<Item = T> {
        self.items.clone().into_iter()
    }
}

/// An object borrowing its configuration, with a lifetime-generic method.
struct Greeter<'a> {
    greeting: &'a str,
}

mod reexport {
    //! A crate that re-exports the core, as `pyro5_std::core` does.
    pub use pyro5_core as core;
}

#[expose(crate = "crate::reexport::core")]
impl<'a> Greeter<'a> {
    fn greet(&self, name: &str) -> String {
        format!("{}, {name}!", self.greeting)
    }

    /// Returns one of its borrowed arguments.
    fn longer<'x>(&self, a: &'x str, b: &'x str) -> &'x str {
        if b.len() > a.len() { b } else { a }
    }
}

mod sensors {
    pub struct Probe;
}

#[expose]
impl sensors::Probe {
    fn kind(&self) -> &'static str {
        "probe"
    }
}

#[test]
fn generic_impls_serve_each_instantiation() {
    for format in FORMATS {
        let numbers = RefCell::new(Store::<i64> { items: vec![] });
        let mut d = Daemon::new(format, "numbers", &numbers);
        assert_eq!(d.call("numbers", "put", vals![5]).ok(), &Value::Int(1), "{format:?}");
        assert_eq!(d.call("numbers", "put", vals![-7]).ok(), &Value::Int(2));
        assert_eq!(d.call("numbers", "get", vals![1]).ok(), &Value::Int(-7));
        assert_eq!(
            d.call("numbers", "get", vals![9]).raised(),
            ("builtins.IndexError".to_owned(), "list index out of range".to_owned())
        );
        assert!(matches!(d.call("numbers", "all", vec![]).ok(), Value::List(items) if items == &vals![5, -7]));
        let stream = d.call("numbers", "each", vec![]).stream_id();
        assert_eq!(d.drain(&stream, 5), vals![5, -7], "{format:?}");
        assert_eq!(
            d.call("numbers", "put", vec![]).raised().1,
            "Store.put() missing 1 required positional argument: 'item'"
        );

        let words = RefCell::new(Store::<String> { items: vec![] });
        let mut d = Daemon::new(format, "words", &words);
        assert_eq!(d.call("words", "put", vals!["hello"]).ok(), &Value::Int(1), "{format:?}");
        assert_eq!(d.call("words", "get", vals![0]).ok(), &Value::from("hello"));
        let meta = d.metadata("words");
        assert_eq!(names(&meta, "methods"), ["all", "each", "get", "put"]);
    }
}

#[test]
fn borrowed_arguments_and_a_reexported_core() {
    let greeting = String::from("Hello");
    for format in FORMATS {
        let greeter = RefCell::new(Greeter { greeting: &greeting });
        let mut d = Daemon::new(format, "greeter", &greeter);
        assert_eq!(d.call("greeter", "greet", vals!["Irmen"]).ok(), &Value::from("Hello, Irmen!"), "{format:?}");
        assert_eq!(d.call("greeter", "longer", vals!["ab", "abc"]).ok(), &Value::from("abc"), "{format:?}");
    }
}

#[test]
fn the_class_name_is_the_last_segment_of_the_type() {
    assert_eq!(sensors::Probe.metadata().class_name, "Probe");
    assert_eq!(Store::<u8> { items: vec![] }.metadata().class_name, "Store");
    let probe = RefCell::new(sensors::Probe);
    let mut d = Daemon::new(pyro5_core::wire::SerializerId::Json, "probe", &probe);
    assert_eq!(d.call("probe", "kind", vec![]).ok(), &Value::from("probe"));
    assert_eq!(d.call("probe", "nope", vec![]).raised().1, "'Probe' object has no attribute 'nope'");
}
