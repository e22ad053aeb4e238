//! Stack used per level of nesting by each deserializer, measured on the host: each case
//! runs in a thread with a fixed stack, in a child process (an overflow aborts it), and the
//! smallest stack that still works is searched for at two depths; the difference divided by
//! the difference in depth is the cost of one level.
//!
//! Cases, for each of the four serializers:
//! - `handle`: `ServerConnection::feed` and `serve_ready` of an INVOKE whose argument
//!   is a nested list, read by the method as an `f32` (what a firmware object does);
//! - `call`: `CallView::parse_with_limits` of that INVOKE's payload (what checks the whole
//!   payload before anything is read: the format's `skip_value`);
//! - `serde`: `Deserialize` of a recursive type (a list of itself) from the nested list.
//!
//! A second table takes serpent's other ways to nest, on the `handle` path: tuples, dicts,
//! sets, parentheses around one value, signs and `a + bj` around parentheses.
//!
//! Run with `cargo bench -p pyro5-core --bench stack` (release profile). Host numbers are not
//! a microcontroller's, but the ratios between formats and versions carry over.

#[path = "../tests/support/stack.rs"]
mod stack;

use core::fmt;
use std::process::Command;

use pyro5_core::ser::call::CallView;
use pyro5_core::ser::{json, marshal, msgpack, serpent};
use pyro5_core::wire::SerializerId;
use serde::de::{Deserialize, Deserializer, SeqAccess, Visitor};
use stack::{Nest, limits, payload};

const CHILD: &str = "PYRO5_STACK_CHILD";

fn main() {
    if let Ok(spec) = std::env::var(CHILD) {
        child(&spec);
        return;
    }
    let formats = [SerializerId::Serpent, SerializerId::Json, SerializerId::Marshal, SerializerId::Msgpack];
    let (low, high) = depths();
    let profile = if cfg!(debug_assertions) { "unoptimized" } else { "optimized" };
    println!("stack per level of nesting, bytes (depths {low} and {high}, {}, {profile})", std::env::consts::ARCH);
    println!("{:<8} {:>8} {:>8} {:>8}", "format", "handle", "call", "serde");
    for format in formats {
        let cells: Vec<String> = ["handle", "call", "serde"]
            .iter()
            .map(|case| {
                let a = smallest_stack(format, case, low);
                let b = smallest_stack(format, case, high);
                format!("{:.0}", (b as f64 - a as f64) / (high - low) as f64)
            })
            .collect();
        println!("{:<8} {:>8} {:>8} {:>8}", name(format), cells[0], cells[1], cells[2]);
    }
    println!();
    println!("serpent, handle, per shape of nesting");
    for shape in SHAPES {
        let a = smallest_stack_of(SerializerId::Serpent, "handle", shape, low);
        let b = smallest_stack_of(SerializerId::Serpent, "handle", shape, high);
        println!("{:<24} {:>8.0}", shape, (b as f64 - a as f64) / (high - low) as f64);
    }
}

/// serpent's ways to nest: one level's opening and closing text around the innermost value.
const SHAPES: [&str; 6] = ["(x,)", "{1: x}", "{(x,)}", "(x)", "-(x)", "1+(x)"];

/// The two depths compared (deep enough that the 4 KiB granularity of thread stacks is
/// 4 bytes a level).
fn depths() -> (usize, usize) {
    (100, 1100)
}

fn name(format: SerializerId) -> &'static str {
    match format {
        SerializerId::Serpent => "serpent",
        SerializerId::Json => "json",
        SerializerId::Marshal => "marshal",
        _ => "msgpack",
    }
}

/// The smallest thread stack (a whole number of pages) on which `case` at `depth` completes.
fn smallest_stack(format: SerializerId, case: &str, depth: usize) -> usize {
    smallest_stack_of(format, case, "list", depth)
}

/// As [`smallest_stack`], nesting in `shape` (one of [`SHAPES`], or `list`).
fn smallest_stack_of(format: SerializerId, case: &str, shape: &str, depth: usize) -> usize {
    let exe = std::env::current_exe().expect("own path");
    stack::smallest_stack(64 * 1024 * 1024, |size| {
        Command::new(&exe)
            .env(CHILD, format!("{} {case} {depth} {size} {shape}", u8::from(format)))
            .stderr(std::process::Stdio::null())
            .status()
            .expect("child runs")
            .success()
    })
}

fn child(spec: &str) {
    let parts: Vec<&str> = spec.split(' ').collect();
    let format = SerializerId::from(parts[0].parse::<u8>().expect("format id"));
    let case = parts[1].to_owned();
    let depth: usize = parts[2].parse().expect("depth");
    let stack: usize = parts[3].parse().expect("stack size");
    let shape = parts[4..].join(" ");
    let input = Inputs::new(format, depth, &shape);
    let ok = std::thread::Builder::new()
        .stack_size(stack)
        .spawn(move || run(&input, &case))
        .expect("thread starts")
        .join()
        .unwrap_or(false);
    std::process::exit(if ok { 0 } else { 2 });
}

/// The payloads of one case, made before the measured thread starts.
struct Inputs {
    format: SerializerId,
    depth: usize,
    /// CONNECT then INVOKE, as wire frames.
    frames: Vec<u8>,
    /// The INVOKE's payload.
    invoke: Vec<u8>,
    /// The nested list alone.
    value: Vec<u8>,
}

impl Inputs {
    fn new(format: SerializerId, depth: usize, shape: &str) -> Self {
        let invoke = stack::invoke(format, shape, depth);
        let frames = stack::frames(format, &invoke, depth);
        Self { format, depth, frames, invoke, value: payload(format, &Nest(depth)) }
    }
}

fn run(input: &Inputs, case: &str) -> bool {
    match case {
        "handle" => handle(input),
        "call" => call(input),
        _ => serde_path(input),
    }
}

/// `ServerConnection::feed` + `serve_ready`, as an adapter drives them.
fn handle(input: &Inputs) -> bool {
    stack::serve(&input.frames, input.depth)
}

#[inline(never)]
fn call(input: &Inputs) -> bool {
    CallView::parse_with_limits(input.format, &input.invoke, limits(input.depth)).is_ok()
}

#[inline(never)]
fn serde_path(input: &Inputs) -> bool {
    let v = &input.value[..];
    let max = input.depth;
    let depth = match input.format {
        SerializerId::Serpent => {
            let mut de = serpent::Deserializer::new(v).with_max_depth(max);
            Depth::deserialize(&mut de).map(|d| d.0).ok()
        }
        SerializerId::Json => {
            let mut de = json::Deserializer::new(v).with_max_depth(max);
            Depth::deserialize(&mut de).map(|d| d.0).ok()
        }
        SerializerId::Marshal => {
            let mut de = marshal::Deserializer::new(v).with_max_depth(max);
            Depth::deserialize(&mut de).map(|d| d.0).ok()
        }
        _ => {
            let mut de = msgpack::Deserializer::new(v).with_max_depth(max);
            Depth::deserialize(&mut de).map(|d| d.0).ok()
        }
    };
    depth == Some(input.depth)
}

/// How deeply the lists read nest.
struct Depth(usize);

impl<'de> Deserialize<'de> for Depth {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Depth;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("nested lists")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Depth, A::Error> {
                let mut deepest = 0;
                while let Some(Depth(n)) = seq.next_element()? {
                    deepest = deepest.max(n);
                }
                Ok(Depth(deepest + 1))
            }
        }
        d.deserialize_seq(V)
    }
}
