//! A peer chooses how deeply a payload nests (up to `Limits::max_nesting`), and a daemon
//! reads it on whatever stack it has: each level must cost little. This measures the stack a
//! level costs on the way a call is served (`ServerConnection::feed` and `serve_ready`
//! of an INVOKE whose argument nests, read as an `f32` as a firmware object would) and holds
//! it to a budget per serializer (each serializer of the build).
//!
//! Each measurement runs in a child process (a stack overflow aborts the process) in a
//! thread with a fixed stack; the smallest stack that works is searched for at two depths,
//! and the difference divided by the difference in depth is the cost of a level.

#[path = "support/stack.rs"]
mod stack;

use std::process::{Command, Stdio};

use pyro5_core::wire::SerializerId;

const CHILD: &str = "PYRO5_STACK_PER_LEVEL_CHILD";
const TEST: &str = "serving_a_call_costs_little_stack_per_level_of_nesting";
/// The two depths compared: 1000 levels apart, so a page is 4 bytes a level.
const DEPTHS: (usize, usize) = (100, 1100);

/// What is measured: a serializer, and how its payload nests (`list`, or a serpent shape
/// with `x` where the next level goes).
const CASES: [(SerializerId, &str, Budget); 6] = [
    (SerializerId::Serpent, "list", Budget { release: 160, debug: 1700 }),
    (SerializerId::Serpent, "{1: x}", Budget { release: 160, debug: 1700 }),
    (SerializerId::Serpent, "-(x)", Budget { release: 160, debug: 1700 }),
    (SerializerId::Json, "list", Budget { release: 16, debug: 100 }),
    (SerializerId::Marshal, "list", Budget { release: 64, debug: 240 }),
    (SerializerId::Msgpack, "list", Budget { release: 32, debug: 260 }),
];

/// Bytes of stack a level may cost, optimized or not.
struct Budget {
    release: usize,
    debug: usize,
}

#[test]
fn serving_a_call_costs_little_stack_per_level_of_nesting() {
    if let Ok(spec) = std::env::var(CHILD) {
        child(&spec);
    }
    let mut report = String::new();
    let mut over = Vec::new();
    for (format, shape, budget) in CASES.into_iter().filter(|(format, ..)| format.is_enabled()) {
        let budget = if cfg!(debug_assertions) { budget.debug } else { budget.release };
        let low = smallest_stack(format, shape, DEPTHS.0);
        let high = smallest_stack(format, shape, DEPTHS.1);
        let per_level = high.saturating_sub(low) / (DEPTHS.1 - DEPTHS.0);
        report += &format!("{format:?} {shape}: {per_level} bytes a level (budget {budget})\n");
        if per_level > budget {
            over.push(format!("{format:?} {shape}"));
        }
    }
    println!("{report}");
    assert!(over.is_empty(), "over budget: {over:?}\n{report}");
}

/// The smallest thread stack, in whole pages, on which serving the call works.
fn smallest_stack(format: SerializerId, shape: &str, depth: usize) -> usize {
    let exe = std::env::current_exe().expect("the test's own path");
    stack::smallest_stack(32 * 1024 * 1024, |size| {
        Command::new(&exe)
            .args([TEST, "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD, format!("{} {depth} {size} {shape}", u8::from(format)))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("the child runs")
            .success()
    })
}

/// Serves the call described by `spec` on a thread with the stack it names; exits with
/// success if the daemon answered.
fn child(spec: &str) -> ! {
    let mut parts = spec.splitn(4, ' ');
    let mut next = || parts.next().expect("a complete spec");
    let format = SerializerId::from(next().parse::<u8>().expect("a serializer id"));
    let depth: usize = next().parse().expect("a depth");
    let size: usize = next().parse().expect("a stack size");
    let shape = next().to_owned();
    // Writing the payload recurses too: on a stack of its own.
    let frames = std::thread::Builder::new()
        .stack_size(256 * 1024 * 1024)
        .spawn(move || stack::frames(format, &stack::invoke(format, &shape, depth), depth))
        .expect("the thread starts")
        .join()
        .expect("the payload is written");
    let served = std::thread::Builder::new()
        .stack_size(size)
        .spawn(move || stack::serve(&frames, depth))
        .expect("the thread starts")
        .join()
        .unwrap_or(false);
    std::process::exit(if served { 0 } else { 2 })
}
