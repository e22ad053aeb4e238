//! Pyro5's `streaming` example: a `Streamer` per connection whose methods and properties
//! answer with item streams (Pyro's `ITER_STREAMING`), one of them slow, beside a plain
//! list. Served as `example.streamer` in the daemon, without a name server; the client asks
//! for the URI.

use std::thread;
use std::time::Duration;

use pyro5_examples::{Class, serve};
use pyro5_std::{Config, InstanceMode, expose};

struct Streamer;

#[expose]
impl Streamer {
    fn list(&self) -> Vec<i64> {
        (1..10).collect()
    }

    fn iterator(&self) -> impl Iterator<Item = i64> {
        (1..10).collect::<Vec<i64>>().into_iter()
    }

    fn generator(&self) -> impl Iterator<Item = i64> {
        1..10
    }

    /// Half a second per item.
    fn slow_generator(&self) -> impl Iterator<Item = i64> {
        (1..10).inspect(|_| thread::sleep(Duration::from_millis(500)))
    }

    /// The Fibonacci numbers, up to the last below 2^64 (Python's go on for ever).
    fn fibonacci(&self) -> impl Iterator<Item = u64> {
        std::iter::successors(Some((0u64, 1u64)), |&(a, b)| b.checked_add(a).map(|c| (b, c))).map(|(a, _)| a)
    }

    #[getter]
    fn prop_iter(&self) -> impl Iterator<Item = i64> {
        1..11
    }

    #[getter]
    fn prop_generator(&self) -> impl Iterator<Item = i64> {
        0..10
    }
}

fn main() -> pyro5_examples::Result {
    if Config::from_env()?.iter_streaming {
        println!("Note: iter-streaming has been enabled in the Pyro config.");
    } else {
        println!("Note: iter-streaming has not been enabled in the Pyro config (PYRO_ITER_STREAMING).");
    }
    serve(vec![Class::new("__main__.Streamer", InstanceMode::Session, || Streamer, "example.streamer")], None, false)
}
