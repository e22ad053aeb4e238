//! Pyro5's `thirdpartylib` example: a library's class that cannot be changed, served two
//! ways. `server.py` (no argument) exposes every public method of the class as it is
//! (Python's `expose(AwesomeClass)`): `private` too, and `weird`, whose result is an object
//! of the library's own class that no client can deserialize. `server2.py` (`--adapter`)
//! serves an adapter that exposes only `method` and `weird`, turning the odd result into a
//! string. Either is registered as `example.thirdpartylib` in the daemon, without a name
//! server; the client asks for the URI.

use std::collections::BTreeMap;

use pyro5_examples::daemon;
use pyro5_std::{InstanceMode, expose};

/// The library's own result type, which Pyro cannot send as anything a client knows.
struct WeirdReturnType {
    value: &'static str,
}

/// The library's class, without anything of Pyro.
struct AwesomeClass;

impl AwesomeClass {
    fn method(&self, arg: &str) -> &'static str {
        println!("Awesome object is called with:  {arg}");
        "awesome"
    }

    fn private(&self) -> &'static str {
        println!("This should be a private method...");
        "boo"
    }

    fn weird(&self) -> WeirdReturnType {
        println!("Weird!");
        WeirdReturnType { value: "awesome" }
    }
}

/// The library's class with every public method exposed (`server.py`).
struct ExposedClass(AwesomeClass);

#[expose(class = "awesome_thirdparty_library.AwesomeClass")]
impl ExposedClass {
    fn method(&self, arg: &str) -> &'static str {
        self.0.method(arg)
    }

    fn private(&self) -> &'static str {
        self.0.private()
    }

    /// The library's object as Python's serializers send one of a class they do not know:
    /// its class name and attributes, which the client refuses to deserialize.
    fn weird(&self) -> BTreeMap<&'static str, &'static str> {
        let result = self.0.weird();
        BTreeMap::from([("__class__", "awesome_thirdparty_library.WeirdReturnType"), ("value", result.value)])
    }
}

/// An adapter exposing what should be reachable, in terms clients understand (`server2.py`).
struct AwesomeAdapterClass(AwesomeClass);

#[expose(class = "__main__.AwesomeAdapterClass")]
impl AwesomeAdapterClass {
    fn method(&self, arg: &str) -> &'static str {
        println!("Adapter class is called...");
        self.0.method(arg)
    }

    fn weird(&self) -> String {
        format!("weird {}", self.0.weird().value)
    }
}

fn main() -> pyro5_examples::Result {
    let daemon = daemon()?;
    if std::env::args().nth(1).as_deref() == Some("--adapter") {
        let uri = daemon.register_class(
            InstanceMode::Session,
            || AwesomeAdapterClass(AwesomeClass),
            Some("example.thirdpartylib"),
        )?;
        println!("adapter class registered, uri:  {uri}");
    } else {
        let uri = daemon.register_class(
            InstanceMode::Session,
            || ExposedClass(AwesomeClass),
            Some("example.thirdpartylib"),
        )?;
        println!("wrapped class registered, uri:  {uri}");
    }
    daemon.request_loop()?;
    Ok(())
}
