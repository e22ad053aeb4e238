//! Pyro5's `batchedcalls` example: a `Thingy` per connection with a few arithmetic methods,
//! called one by one and in batches (Pyro's `BatchProxy`, oneway batches too; a batch stops
//! at its first error). Served as `example.batched` in the daemon, without a name server;
//! the client asks for the URI.

use std::thread;
use std::time::Duration;

use pyro5_examples::{Class, serve};
use pyro5_std::core::server::{PyException, ZERO_DIVISION_ERROR};
use pyro5_std::{InstanceMode, expose};

type Raised = PyException<&'static str>;

/// Python's `a // b` on integers: the quotient rounded towards minus infinity.
fn floor_div(a: i64, b: i64) -> Result<i64, Raised> {
    if b == 0 {
        return Err(PyException::new(ZERO_DIVISION_ERROR, "integer division or modulo by zero"));
    }
    let (q, r) = (a.wrapping_div(b), a.wrapping_rem(b));
    Ok(if r != 0 && ((r < 0) != (b < 0)) { q - 1 } else { q })
}

struct Thingy;

#[expose]
impl Thingy {
    fn multiply(&self, a: i64, b: i64) -> i64 {
        a.wrapping_mul(b)
    }

    fn add(&self, a: i64, b: i64) -> i64 {
        a.wrapping_add(b)
    }

    fn divide(&self, a: i64, b: i64) -> Result<i64, Raised> {
        floor_div(a, b)
    }

    fn error(&self) -> Result<i64, Raised> {
        floor_div(1, 0)
    }

    fn delay(&self, seconds: f64) -> f64 {
        thread::sleep(Duration::try_from_secs_f64(seconds).unwrap_or_default());
        seconds
    }

    fn printmessage(&self, message: &str) -> i64 {
        println!("{message}");
        0
    }
}

fn main() -> pyro5_examples::Result {
    serve(vec![Class::new("__main__.Thingy", InstanceMode::Session, || Thingy, "example.batched")], None, false)
}

#[cfg(test)]
mod tests {
    use super::floor_div;

    #[test]
    fn floor_division_rounds_down_as_python() {
        let cases = [(100, 3, 33), (100, -3, -34), (-100, 3, -34), (-100, -3, 33), (100, 1, 100), (6, -2, -3)];
        for (a, b, q) in cases {
            assert_eq!(floor_div(a, b), Ok(q), "{a} // {b}");
        }
        assert_eq!(floor_div(1, 0).unwrap_err().message, "integer division or modulo by zero");
    }
}
