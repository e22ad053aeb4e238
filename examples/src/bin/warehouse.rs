//! Pyro5's `warehouse` example, phase 3: one `Warehouse` for everyone (the `single` instance
//! mode) holding a list of things, which visitors list, store into and take from. Registered
//! by name (`example.warehouse`) in the name server. Taking a thing that is not there raises
//! Python's `ValueError` for `list.remove`.

use pyro5_examples::{Class, serve};
use pyro5_std::core::server::{PyException, VALUE_ERROR};
use pyro5_std::{InstanceMode, expose};

struct Warehouse {
    contents: Vec<String>,
}

impl Warehouse {
    fn new() -> Self {
        Self { contents: ["chair", "bike", "flashlight", "laptop", "couch"].map(String::from).to_vec() }
    }
}

#[expose]
impl Warehouse {
    fn list_contents(&self) -> Vec<String> {
        self.contents.clone()
    }

    fn take(&mut self, name: &str, item: &str) -> Result<(), PyException<&'static str>> {
        let Some(at) = self.contents.iter().position(|thing| thing == item) else {
            return Err(PyException::new(VALUE_ERROR, "list.remove(x): x not in list"));
        };
        self.contents.remove(at);
        println!("{name} took the {item}.");
        Ok(())
    }

    fn store(&mut self, name: &str, item: &str) {
        self.contents.push(item.to_string());
        println!("{name} stored the {item}.");
    }
}

fn main() -> pyro5_examples::Result {
    serve(vec![Class::new("__main__.Warehouse", InstanceMode::Single, Warehouse::new, "example.warehouse")], None, true)
}
