//! A peer chooses how deeply a payload nests (up to `Limits::max_nesting`), and a daemon
//! reads it on whatever stack it has: each level must cost little. This measures the stack a
//! level costs on the way a call is served (`Decoder::feed` and `ServerConnection::handle`
//! of an INVOKE whose argument nests, read as an `f32` as a firmware object would) and holds
//! it to a budget per serializer.
//!
//! Each measurement runs in a child process (a stack overflow aborts the process) in a
//! thread with a fixed stack; the smallest stack that works is searched for at two depths,
//! and the difference divided by the difference in depth is the cost of a level.

use core::cell::RefCell;
use std::process::{Command, Stdio};

use pyro5_core::limits::Limits;
use pyro5_core::ser::envelope::CallEnvelope;
use pyro5_core::ser::{SliceOutput, to_output};
use pyro5_core::server::{
    Action, ConnectionId, Env, Invocation, Metadata, ObjectTable, PyroObject, Qualname, Replied, Reply, Server,
    ServerConfig, ServerConnection, Streams,
};
use pyro5_core::wire::{self, Decoder, MessageKind, OutgoingMessage, Progress, SerializerId};
use serde::ser::{Serialize, SerializeSeq, Serializer};

const CHILD: &str = "PYRO5_STACK_PER_LEVEL_CHILD";
const TEST: &str = "serving_a_call_costs_little_stack_per_level_of_nesting";
const PAGE: usize = 4096;
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
    for (format, shape, budget) in CASES {
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
    let works = |stack: usize| {
        Command::new(&exe)
            .args([TEST, "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD, format!("{} {depth} {stack} {shape}", u8::from(format)))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("the child runs")
            .success()
    };
    let (mut lo, mut hi) = (4 * PAGE, 32 * 1024 * 1024);
    assert!(works(hi), "{format:?} {shape} at depth {depth} fails even on a {hi}-byte stack");
    while hi - lo > PAGE {
        let mid = (lo + hi) / 2 / PAGE * PAGE;
        if works(mid) { hi = mid } else { lo = mid }
    }
    hi
}

/// Serves the call described by `spec` on a thread with the stack it names; exits with
/// success if the daemon answered.
fn child(spec: &str) -> ! {
    let mut parts = spec.splitn(4, ' ');
    let mut next = || parts.next().expect("a complete spec");
    let format = SerializerId::from(next().parse::<u8>().expect("a serializer id"));
    let depth: usize = next().parse().expect("a depth");
    let stack: usize = next().parse().expect("a stack size");
    let shape = next().to_owned();
    // Writing the payload recurses too: on a stack of its own.
    let frames = std::thread::Builder::new()
        .stack_size(256 * 1024 * 1024)
        .spawn(move || frames(format, &shape, depth))
        .expect("the thread starts")
        .join()
        .expect("the payload is written");
    let served = std::thread::Builder::new()
        .stack_size(stack)
        .spawn(move || serve(&frames, depth))
        .expect("the thread starts")
        .join()
        .unwrap_or(false);
    std::process::exit(if served { 0 } else { 2 })
}

/// The limits of the daemon: room for the argument, the call and its arguments.
fn limits(depth: usize) -> Limits {
    Limits { max_nesting: depth + 2, ..Limits::DEFAULT }
}

/// CONNECT, then INVOKE `take(<depth levels>)`.
fn frames(format: SerializerId, shape: &str, depth: usize) -> Vec<u8> {
    let mut frames = vec![0u8; 64 * 1024];
    let mut len = 0;
    #[derive(serde::Serialize)]
    struct Connect<'a> {
        handshake: &'a str,
        object: &'a str,
    }
    let connect = payload(format, &Connect { handshake: "hello", object: "obj" });
    let msg = OutgoingMessage::new(MessageKind::Connect, format, 0);
    len += wire::encode(&msg, &connect, &mut frames[len..], limits(depth)).unwrap();
    let invoke = match shape.split_once('x') {
        None => {
            let call =
                CallEnvelope { format, object: "obj", method: "take", args: &(Nest(depth),), kwargs: None::<&()> };
            payload(format, &call)
        }
        Some((open, close)) => {
            let value = format!("{}1{}", open.repeat(depth), close.repeat(depth));
            format!("# serpent utf-8 python3.2\n('obj', 'take', ({value},), {{}})").into_bytes()
        }
    };
    let msg = OutgoingMessage::new(MessageKind::Invoke, format, 1);
    len += wire::encode(&msg, &invoke, &mut frames[len..], limits(depth)).unwrap();
    frames.truncate(len);
    frames
}

fn payload<T: Serialize>(format: SerializerId, value: &T) -> Vec<u8> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut out = SliceOutput::new(&mut buf);
    to_output(format, value, &mut out).unwrap();
    let len = out.len();
    buf.truncate(len);
    buf
}

/// `Decoder::feed` and `ServerConnection::handle` of each frame, as a driver does: whether
/// both were answered.
fn serve(frames: &[u8], depth: usize) -> bool {
    let object = RefCell::new(Taker);
    let mut objects = ObjectTable::<1>::new();
    objects.register("obj", &object).unwrap();
    let streams = RefCell::new(Streams::<1>::new());
    let config = ServerConfig { limits: limits(depth), ..ServerConfig::default() };
    let server = Server { registry: &objects, streams: &streams, config: &config, handshake: None };
    let (mut rx, mut tx) = (vec![0u8; 64 * 1024], vec![0u8; 4096]);
    let mut decoder = Decoder::new(&mut rx[..], config.limits);
    let mut connection = ServerConnection::new(ConnectionId(1), None);
    let mut rest = frames;
    let mut answered = 0;
    while let Ok(Progress::Complete { consumed }) = decoder.feed(rest) {
        let env = Env { now_ms: 0, random: [7; 32] };
        let Some(msg) = decoder.message() else { return false };
        if !matches!(connection.handle(&msg, &server, &env, &mut &mut tx[..]), Action::Send { .. }) {
            return false;
        }
        answered += 1;
        rest = &rest[consumed..];
    }
    answered == 2
}

/// Reads its one argument as an `f32`, as a firmware setter does.
struct Taker;

impl PyroObject for Taker {
    fn metadata(&self) -> Metadata<'static> {
        Metadata { class_name: "Taker", methods: &["take"], ..Metadata::default() }
    }

    fn invoke(&mut self, inv: &Invocation<'_>, reply: Reply<'_, '_>) -> Replied {
        let f = Qualname { class_name: "Taker", method: inv.method };
        match inv.args.check(f, &["value"]).and_then(|()| inv.args.required::<f32>(f, 0, "value")) {
            Ok(v) => reply.ok(&v),
            Err(e) => reply.raise(&e),
        }
    }
}

/// Lists nested `n` levels deep: `[[[]]]` for 3.
struct Nest(usize);

impl Serialize for Nest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let inner = self.0.checked_sub(1).filter(|&n| n > 0);
        let mut seq = s.serialize_seq(Some(usize::from(inner.is_some())))?;
        if let Some(n) = inner {
            seq.serialize_element(&Nest(n))?;
        }
        seq.end()
    }
}
