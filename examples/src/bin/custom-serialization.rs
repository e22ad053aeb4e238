//! Pyro5's `custom-serialization` example: Python's server registers hooks that write its
//! `Thingy` as the dict `{"__class__": "waheeee-custom-thingy", "number-attribute": n}` and
//! read it back, and reads an `OtherThingy` from serpent's default dict for an object
//! (`{"number": n, "__class__": "mycustomclasses.OtherThingy"}`). In Rust those dicts are
//! serde types with the same keys; no hook is needed. Served as `example.customclasses` in
//! the daemon, without a name server; the client asks for the URI.

use std::fmt;

use pyro5_examples::{Class, serve};
use pyro5_std::{InstanceMode, expose};
use serde::{Deserialize, Serialize};

/// `mycustomclasses.Thingy`, as both sides' hooks write it.
#[derive(Serialize, Deserialize)]
struct Thingy {
    #[serde(rename = "__class__")]
    class: String,
    #[serde(rename = "number-attribute")]
    number: i64,
}

impl Thingy {
    fn new(number: i64) -> Self {
        Self { class: "waheeee-custom-thingy".into(), number }
    }
}

/// `mycustomclasses.OtherThingy`, as serpent writes any object: its attributes, then its
/// class.
#[derive(Serialize, Deserialize)]
struct OtherThingy {
    number: i64,
    #[serde(rename = "__class__")]
    class: String,
}

impl OtherThingy {
    fn new(number: i64) -> Self {
        Self { number, class: "mycustomclasses.OtherThingy".into() }
    }
}

impl fmt::Display for Thingy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<Thingy @{:p}, number={}>", self, self.number)
    }
}

impl fmt::Display for OtherThingy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<OtherThingy @{:p}, number={}>", self, self.number)
    }
}

struct Server;

#[expose]
impl Server {
    fn method(&self, arg: Thingy) -> Thingy {
        println!("\nmethod called, arg= {arg}");
        Thingy::new(999)
    }

    fn othermethod(&self, arg: OtherThingy) -> OtherThingy {
        println!("\nothermethod called, arg= {arg}");
        OtherThingy::new(999)
    }
}

fn main() -> pyro5_examples::Result {
    serve(vec![Class::new("__main__.Server", InstanceMode::Session, || Server, "example.customclasses")], None, false)
}
