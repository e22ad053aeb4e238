//! What the stack measurements share (`tests/stack_per_level.rs` and `benches/stack.rs`):
//! the nested payloads, a daemon serving them, and the search for the smallest stack.

use core::cell::RefCell;

use pyro5_core::limits::Limits;
use pyro5_core::ser::envelope::CallEnvelope;
use pyro5_core::ser::{SliceOutput, to_output};
use pyro5_core::server::{
    ConnectionId, Invocation, Metadata, ObjectTable, PyroObject, Qualname, Replied, Reply, Server, ServerConfig,
    ServerConnection, Streams,
};
use pyro5_core::wire::{self, MessageKind, OutgoingMessage, SerializerId};
use serde::ser::{Serialize, SerializeSeq, Serializer};

/// Thread stacks come in pages.
pub const PAGE: usize = 4096;

/// The limits of the measured daemon: room for `depth` levels, the call and its arguments.
pub fn limits(depth: usize) -> Limits {
    Limits { max_nesting: depth + 2, ..Limits::DEFAULT }
}

/// The smallest stack, a whole number of pages between 4 pages and `max`, for which
/// `works` holds (it must hold for `max`).
pub fn smallest_stack(max: usize, mut works: impl FnMut(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (4 * PAGE, max);
    assert!(works(hi), "fails even on a {hi}-byte stack");
    while hi - lo > PAGE {
        let mid = (lo + hi) / 2 / PAGE * PAGE;
        if works(mid) { hi = mid } else { lo = mid }
    }
    hi
}

/// `depth` levels of a serpent `shape` (`x` marks where the next level goes) around
/// `inner`.
pub fn nested(shape: &str, depth: usize, inner: &str) -> String {
    let (open, close) = shape.split_once('x').expect("a shape has an x");
    format!("{}{inner}{}", open.repeat(depth), close.repeat(depth))
}

/// The INVOKE payload of `take(<depth levels>)`: lists in `format` for shape `list`, else
/// serpent text in that shape.
pub fn invoke(format: SerializerId, shape: &str, depth: usize) -> Vec<u8> {
    if shape == "list" {
        let call = CallEnvelope {
            format,
            object: "obj",
            method: "take",
            args: &(Nest(depth),),
            kwargs: Some(&std::collections::BTreeMap::<&str, ()>::new()),
        };
        return payload(format, &call);
    }
    // `1+(x)` needs a complex number inside to stay a literal.
    let inner = if shape.starts_with('1') { "2j" } else { "1" };
    format!("# serpent utf-8 python3.2\n('obj', 'take', ({},), {{}})", nested(shape, depth, inner)).into_bytes()
}

/// CONNECT, then INVOKE with `invoke` as payload, as wire frames.
pub fn frames(format: SerializerId, invoke: &[u8], depth: usize) -> Vec<u8> {
    #[derive(serde::Serialize)]
    struct Connect<'a> {
        handshake: &'a str,
        object: &'a str,
    }
    let mut frames = vec![0u8; 64 * 1024];
    let connect = payload(format, &Connect { handshake: "hello", object: "obj" });
    let msg = OutgoingMessage::new(MessageKind::Connect, format, 0);
    let mut len = wire::encode(&msg, &connect, &mut frames, limits(depth)).unwrap();
    let msg = OutgoingMessage::new(MessageKind::Invoke, format, 1);
    len += wire::encode(&msg, invoke, &mut frames[len..], limits(depth)).unwrap();
    frames.truncate(len);
    frames
}

/// `value` in `format`.
pub fn payload<T: Serialize>(format: SerializerId, value: &T) -> Vec<u8> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut out = SliceOutput::new(&mut buf);
    to_output(format, value, &mut out).unwrap();
    let len = out.len();
    buf.truncate(len);
    buf
}

/// `ServerConnection::feed` and `serve_ready` of each frame, as an adapter drives them:
/// whether both were answered.
#[inline(never)]
pub fn serve(frames: &[u8], depth: usize) -> bool {
    let object = RefCell::new(Taker);
    let mut objects = ObjectTable::<1>::new();
    objects.register("obj", &object).unwrap();
    let streams = RefCell::new(Streams::<1>::new());
    let config = ServerConfig { limits: limits(depth), ..ServerConfig::default() };
    let server = Server { registry: &objects, streams: &streams, config: &config, handshake: None, tap: None };
    let (mut rx, mut tx) = (vec![0u8; 64 * 1024], vec![0u8; 4096]);
    let mut connection = ServerConnection::new(ConnectionId(1), None, &mut rx[..], &mut tx[..], &config, 0, [7; 32]);
    let mut rest = frames;
    let mut answered = 0;
    while answered < 2 {
        let taken = connection.feed(rest, 0);
        rest = &rest[taken..];
        connection.serve_ready(&server);
        if connection.close_reason().is_some() {
            return false;
        }
        let sent = connection.tx_pending().len();
        if sent == 0 {
            if rest.is_empty() {
                return false;
            }
            continue;
        }
        connection.tx_advance(sent, 0);
        answered += 1;
    }
    answered == 2
}

/// Reads its one argument as an `f32`, as a firmware setter does.
pub struct Taker;

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
pub struct Nest(pub usize);

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
