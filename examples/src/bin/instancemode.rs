//! Pyro5's `instancemode` example: three classes whose `msg` answers with the identity of
//! the instance that took the call, served in each of Pyro's instance modes — `single` (one
//! instance), `session` (one per connection, which also answers with the correlation id of
//! the call that made it) and `percall` (one per call) — registered by name
//! (`instance.single`, `instance.session`, `instance.percall`) in the name server. An
//! instance's identity is a number given when it is made (Python shows `self.id`).

use pyro5_examples::{Class, serve, uuid};
use pyro5_std::core::server::CallContext;
use pyro5_std::{InstanceMode, expose};

use std::sync::atomic::{AtomicU64, Ordering};

/// The identity of the next instance made.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A new instance's identity, announced as Python's `__init__` does.
fn new_id(class: &str) -> u64 {
    let id = NEXT_ID.fetch_add(1, Ordering::SeqCst);
    println!("created {class} instance with id {id}");
    id
}

struct SingleInstance {
    id: u64,
}

#[expose]
impl SingleInstance {
    fn msg(&self, message: &str) -> u64 {
        println!("[{}] SingleInstance.msg: {message}", self.id);
        self.id
    }
}

struct SessionInstance {
    id: u64,
    /// The correlation id of the call the instance was made for (its first call).
    correlation_id: Option<String>,
}

#[expose]
impl SessionInstance {
    fn msg(&mut self, message: &str, ctx: &CallContext<'_>) -> (u64, Option<String>) {
        let correlation_id = self.correlation_id.get_or_insert_with(|| uuid(ctx.correlation_id)).clone();
        println!("[{}] SessionInstance.msg: {message}", self.id);
        (self.id, Some(correlation_id))
    }
}

struct PercallInstance {
    id: u64,
}

#[expose]
impl PercallInstance {
    fn msg(&self, message: &str) -> u64 {
        println!("[{}] PercallInstance.msg: {message}", self.id);
        self.id
    }
}

fn main() -> pyro5_examples::Result {
    serve(
        vec![
            Class::new(
                "server.SingleInstance",
                InstanceMode::Single,
                || SingleInstance { id: new_id("SingleInstance") },
                "instance.single",
            ),
            Class::new(
                "server.SessionInstance",
                InstanceMode::Session,
                || SessionInstance { id: new_id("SessionInstance"), correlation_id: None },
                "instance.session",
            ),
            Class::new(
                "server.PercallInstance",
                InstanceMode::PerCall,
                || PercallInstance { id: new_id("PercallInstance") },
                "instance.percall",
            ),
        ],
        None,
        true,
    )
}
