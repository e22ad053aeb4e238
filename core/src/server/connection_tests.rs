//! The connection's buffers, timers and calls, driven as an adapter drives them.

extern crate std;

use core::cell::RefCell;
use std::vec::Vec;

use super::*;
use crate::limits::Limits;
use crate::ser::envelope::CallEnvelope;
use crate::ser::{marshal_str, serpent};
use crate::server::{Metadata, ObjectTable, PyroObject, Qualname, Streams};
use crate::wire::{self, HEADER_LEN, Header, OutgoingMessage, SerializerId};

struct Echo {
    notes: usize,
}

impl PyroObject for Echo {
    fn metadata(&self) -> Metadata<'static> {
        Metadata { class_name: "Echo", methods: &["echo", "note"], oneway: &["note"], attrs: &[] }
    }
    fn invoke(&mut self, inv: &Invocation<'_>, reply: Reply<'_, '_>) -> Replied {
        let f = Qualname { class_name: "Echo", method: inv.method };
        if inv.method == "note" {
            self.notes += 1;
        }
        match inv.args.required::<&str>(f, 0, "message") {
            Ok(m) => reply.ok(m),
            Err(e) => reply.raise(&e),
        }
    }
}

type Conn = ServerConnection<[u8; 4096], [u8; 4096]>;

/// A daemon with `Echo` as "echo" and Pyro's settings plus these timeouts.
fn with_daemon(idle: Option<u64>, send: Option<u64>, f: impl FnOnce(&Server<'_>, &RefCell<Echo>)) {
    let echo = RefCell::new(Echo { notes: 0 });
    let mut objects = ObjectTable::<1>::new();
    objects.register("echo", &echo).unwrap();
    let streams = RefCell::new(Streams::<1>::new());
    let config = ServerConfig { idle_timeout_ms: idle, send_timeout_ms: send, ..ServerConfig::default() };
    f(&Server::new(&objects, &streams, &config), &echo);
}

/// A new connection; each with its own seed, as from real entropy.
fn conn(server: &Server<'_>) -> Conn {
    static SEEDS: core::sync::atomic::AtomicU8 = core::sync::atomic::AtomicU8::new(0);
    let seed = [SEEDS.fetch_add(1, core::sync::atomic::Ordering::Relaxed); 32];
    ServerConnection::new(ConnectionId(1), None, [0; 4096], [0; 4096], server.config, 0, seed)
}

fn frame(kind: MessageKind, flags: Flags, seq: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = std::vec![0u8; payload.len() + 128];
    let msg = OutgoingMessage { flags, ..OutgoingMessage::new(kind, SerializerId::Serpent, seq) };
    let len = wire::encode(&msg, payload, &mut out, Limits::default()).unwrap();
    out.truncate(len);
    out
}

fn connect_frame() -> Vec<u8> {
    #[derive(serde::Serialize)]
    struct Connect<'a> {
        handshake: &'a str,
        object: &'a str,
    }
    let mut payload = [0u8; 128];
    let n = serpent::to_slice(&Connect { handshake: "hello", object: "echo" }, &mut payload).unwrap();
    frame(MessageKind::Connect, Flags::empty(), 0, &payload[..n])
}

fn call_frame(seq: u16, method: &str, message: &str, flags: Flags) -> Vec<u8> {
    call_frame_with(seq, method, message, flags, Some(&std::collections::BTreeMap::<&str, i32>::new()))
}

fn call_frame_with(
    seq: u16,
    method: &str,
    message: &str,
    flags: Flags,
    kwargs: Option<&std::collections::BTreeMap<&str, i32>>,
) -> Vec<u8> {
    let call = CallEnvelope { format: SerializerId::Serpent, object: "echo", method, args: &(message,), kwargs };
    let mut payload = std::vec![0u8; message.len() + 256];
    let n = serpent::to_slice(&call, &mut payload).unwrap();
    frame(MessageKind::Invoke, flags, seq, &payload[..n])
}

fn header(bytes: &[u8]) -> Header {
    Header::parse_bytes(bytes[..HEADER_LEN].try_into().unwrap()).unwrap()
}

/// Take everything pending, as a socket that takes it all.
fn take(conn: &mut Conn, now: u64) -> Vec<u8> {
    let out = conn.tx_pending().to_vec();
    conn.tx_advance(out.len(), now);
    out
}

/// A connection past its handshake.
fn connected(server: &Server<'_>) -> Conn {
    let mut c = conn(server);
    let hello = connect_frame();
    assert_eq!(c.feed(&hello, 0), hello.len());
    c.serve_ready(server);
    assert_eq!(header(&take(&mut c, 0)).kind, MessageKind::ConnectOk);
    c
}

#[test]
fn an_idle_client_in_its_handshake_gets_pyros_connectfail_then_the_end() {
    with_daemon(Some(3_000), None, |server, _| {
        let mut c = conn(server);
        assert_eq!(c.poll_timeout(), Some(3_000));
        c.handle_timeout(2_999, server);
        assert!(c.tx_pending().is_empty() && !c.is_closed());
        c.handle_timeout(3_000, server);
        let reply = take(&mut c, 3_000);
        assert_eq!(header(&reply).kind, MessageKind::ConnectFail);
        assert_eq!(marshal_str::read(&reply[HEADER_LEN..]), Some("receiving: timeout"));
        assert!(c.is_closed());
        assert!(matches!(c.poll_event(server), Some(ServerEvent::Closed(CloseReason::IdleTimeout))));
        assert!(c.poll_event(server).is_none(), "the end is reported once");
        assert_eq!(c.poll_timeout(), None);
    });
}

#[test]
fn an_idle_client_after_its_handshake_is_closed_without_a_word() {
    with_daemon(Some(1_000), None, |server, _| {
        let mut c = connected(server);
        // The idle clock runs from the last reply out.
        assert_eq!(c.poll_timeout(), Some(1_000));
        let half = call_frame(1, "echo", "hi", Flags::empty());
        c.feed(&half[..10], 600);
        assert_eq!(c.poll_timeout(), Some(1_600), "bytes received restart it");
        c.handle_timeout(1_600, server);
        assert!(c.tx_pending().is_empty());
        assert_eq!(c.close_reason(), Some(CloseReason::IdleTimeout));
        assert!(c.is_closed() && c.read_buf().is_empty());
    });
}

#[test]
fn a_reply_the_client_does_not_take_ends_the_connection_after_the_send_timeout() {
    with_daemon(None, Some(500), |server, _| {
        let mut c = connected(server);
        c.feed(&call_frame(1, "echo", &"x".repeat(1000), Flags::empty()), 0);
        c.serve_ready(server);
        let pending = c.tx_pending().len();
        assert!(pending > 1000);
        assert!(c.read_buf().is_empty(), "no request is read while a reply waits");
        assert_eq!(c.poll_timeout(), Some(500));
        c.tx_advance(100, 400);
        assert_eq!(c.poll_timeout(), Some(900), "progress restarts the clock");
        c.handle_timeout(899, server);
        assert_eq!(c.tx_pending().len(), pending - 100);
        c.handle_timeout(900, server);
        assert_eq!(c.close_reason(), Some(CloseReason::SendTimeout));
        assert!(c.tx_pending().is_empty() && c.is_closed());
    });
}

#[test]
fn pipelined_requests_are_answered_one_by_one_in_order() {
    with_daemon(None, None, |server, _| {
        let mut c = connected(server);
        let mut wire_in = Vec::new();
        for seq in 1..=3u16 {
            wire_in.extend(call_frame(seq, "echo", &std::format!("m{seq}"), Flags::empty()));
        }
        // One read takes all three; each is answered once the reply before it is out.
        assert_eq!(c.feed(&wire_in, 0), wire_in.len());
        assert_eq!(c.feed(b"PYRO", 0), 0, "nothing more is read while requests wait");
        let mut seqs = Vec::new();
        for _ in 0..3 {
            c.serve_ready(server);
            let reply = take(&mut c, 0);
            let h = header(&reply);
            assert_eq!(h.kind, MessageKind::Result);
            seqs.push(h.seq);
            assert_eq!(&reply[HEADER_LEN..], std::format!("# serpent utf-8 python3.2\n'm{}'", h.seq).as_bytes());
        }
        c.serve_ready(server);
        assert!(c.tx_pending().is_empty() && !c.read_buf().is_empty());
        assert_eq!(seqs, [1, 2, 3]);
    });
}

#[test]
fn a_call_answered_later_holds_the_connection_and_keeps_its_place() {
    with_daemon(Some(1_000), None, |server, _| {
        let mut c = connected(server);
        c.feed(&call_frame(7, "echo", "later", Flags::empty()), 10);
        let Some(ServerEvent::Call(call)) = c.poll_event(server) else { panic!("a call") };
        assert!(!call.is_oneway());
        assert_eq!(c.with_call(&call, |inv| (inv.method.len(), inv.context.seq)), Some((4, 7)));
        let arg = c.with_call(&call, |inv| {
            let f = Qualname { class_name: "Echo", method: inv.method };
            inv.args.required::<&str>(f, 0, "message").map(|s| s.len()).ok()
        });
        assert_eq!(arg, Some(Some(5)));
        // Unanswered: nothing is read, nothing times out, nothing more comes out.
        assert!(c.read_buf().is_empty());
        assert_eq!(c.poll_timeout(), None);
        c.handle_timeout(60_000, server);
        assert!(c.close_reason().is_none());
        assert!(c.poll_event(server).is_none());
        // Another connection's handle does not answer it.
        let mut other = connected(server);
        other.feed(&call_frame(1, "echo", "x", Flags::empty()), 0);
        let Some(ServerEvent::Call(foreign)) = other.poll_event(server) else { panic!() };
        assert!(c.message(&foreign).is_none() && c.with_call(&foreign, |_| ()).is_none());
        assert_eq!(c.run(foreign, server), Err(StaleCall));
        assert!(c.close_reason().is_none());
        // Answered with a value computed elsewhere.
        c.reply(call, server, |inv, reply| reply.ok(&std::format!("{} done", inv.method))).unwrap();
        let reply = take(&mut c, 61_000);
        assert_eq!((header(&reply).kind, header(&reply).seq), (MessageKind::Result, 7));
        assert_eq!(&reply[HEADER_LEN..], b"# serpent utf-8 python3.2\n'echo done'");
        assert_eq!(c.poll_timeout(), Some(62_000), "idle again from the reply out");
        assert!(!c.read_buf().is_empty());
    });
}

#[test]
fn a_oneway_call_handed_off_runs_elsewhere_and_the_connection_goes_on() {
    with_daemon(None, None, |server, echo| {
        let mut c = connected(server);
        let note = call_frame(2, "note", "n", Flags::ONEWAY);
        c.feed(&note, 0);
        let Some(ServerEvent::Call(call)) = c.poll_event(server) else { panic!() };
        assert!(call.is_oneway());
        let copy = c.message(&call).unwrap().to_vec();
        assert_eq!(copy, note);
        c.hand_off(call).unwrap();
        assert!(c.tx_pending().is_empty() && !c.read_buf().is_empty());
        let mut elsewhere: Conn =
            ServerConnection::after_handshake(ConnectionId(1), None, [0; 4096], [0; 4096], server.config, 0, [1; 32]);
        elsewhere.feed(&copy, 0);
        elsewhere.serve_ready(server);
        assert!(elsewhere.tx_pending().is_empty(), "oneway: no answer");
        assert_eq!(echo.borrow().notes, 1);
        // A call that is not oneway cannot be handed off.
        c.feed(&call_frame(3, "echo", "e", Flags::empty()), 0);
        let Some(ServerEvent::Call(call)) = c.poll_event(server) else { panic!() };
        assert!(c.message(&call).is_some());
        c.run(call, server).unwrap();
        assert_eq!(header(&take(&mut c, 0)).seq, 3);
    });
}

#[test]
fn a_refused_client_is_told_why_and_a_broken_stream_closes() {
    with_daemon(None, None, |server, _| {
        let mut c = conn(server);
        c.refuse("no free workers, increase server threadpool size");
        c.feed(&connect_frame(), 0);
        c.serve_ready(server);
        let reply = take(&mut c, 0);
        assert_eq!(header(&reply).kind, MessageKind::ConnectFail);
        assert_eq!(marshal_str::read(&reply[HEADER_LEN..]), Some("no free workers, increase server threadpool size"));
        assert_eq!(c.close_reason(), Some(CloseReason::Refused));

        // Garbage during the handshake: CONNECTFAIL with Pyro's text; afterwards: closed.
        let mut c = conn(server);
        c.feed(b"GET / HTTP/1.0\r\n", 0);
        c.serve_ready(server);
        assert_eq!(header(&take(&mut c, 0)).kind, MessageKind::ConnectFail);
        assert!(c.is_closed());
        let mut c = connected(server);
        c.feed(b"PYRO\x00\x00", 0);
        c.serve_ready(server);
        assert!(c.tx_pending().is_empty());
        assert_eq!(c.close_reason(), Some(CloseReason::BadMessage));
        // The peer going away ends it too; close() is idempotent.
        let mut c = connected(server);
        c.commit(0, 5);
        assert_eq!(c.close_reason(), Some(CloseReason::PeerClosed));
        c.close(server);
        c.close(server);
        assert!(c.is_closed());
    });
}

#[test]
fn a_method_call_with_kwargs_none_fails_as_in_pythons_daemon() {
    with_daemon(None, None, |server, _| {
        let mut c = connected(server);
        c.feed(&call_frame_with(4, "echo", "x", Flags::empty(), None), 0);
        c.serve_ready(server);
        let reply = take(&mut c, 0);
        let h = header(&reply);
        assert!(h.flags.contains(Flags::EXCEPTION));
        let text = core::str::from_utf8(&reply[HEADER_LEN..]).unwrap();
        assert!(text.contains("'builtins.TypeError'"), "{text}");
        assert!(text.contains("Echo.echo() argument after ** must be a mapping, not NoneType"), "{text}");
    });
}

/// Calls answered by a future (an async method), as the async adapters run them.
#[cfg(feature = "alloc")]
mod later {
    use std::boxed::Box;
    use std::string::String;

    use super::*;
    use crate::server::{AsyncAnswer, Later};

    /// "echo" answers with a future; "note" is a oneway async method.
    struct Deferring;

    impl PyroObject for Deferring {
        fn metadata(&self) -> Metadata<'static> {
            Metadata { class_name: "Deferring", methods: &["echo", "note"], oneway: &["note"], attrs: &[] }
        }
        fn invoke(&mut self, inv: &Invocation<'_>, reply: Reply<'_, '_>) -> Replied {
            let f = Qualname { class_name: "Deferring", method: inv.method };
            let message: String = match inv.args.required::<&str>(f, 0, "message") {
                Ok(m) => m.into(),
                Err(e) => return reply.raise(&e),
            };
            reply.later(Box::pin(async move {
                let answer: AsyncAnswer = Box::new(move |reply| reply.ok(&std::format!("{message} later")));
                answer
            }))
        }
        fn has_async_methods(&self) -> bool {
            true
        }
    }

    fn with_deferring(f: impl FnOnce(&Server<'_>)) {
        let object = RefCell::new(Deferring);
        let mut objects = ObjectTable::<1>::new();
        objects.register("echo", &object).unwrap();
        let streams = RefCell::new(Streams::<1>::new());
        let config = ServerConfig { idle_timeout_ms: Some(1_000), ..ServerConfig::default() };
        f(&Server::new(&objects, &streams, &config));
    }

    /// Run a future that does not wait for anything.
    fn ready(later: Later) -> AsyncAnswer {
        let mut future = later.future;
        let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
        match future.as_mut().poll(&mut cx) {
            core::task::Poll::Ready(answer) => answer,
            core::task::Poll::Pending => panic!("the future waits for nothing"),
        }
    }

    #[test]
    fn an_async_methods_call_is_held_until_its_future_answers() {
        with_deferring(|server| {
            let mut c = connected(server);
            let mut two = call_frame(3, "echo", "first", Flags::empty());
            two.extend(call_frame(4, "echo", "second", Flags::empty()));
            c.feed(&two, 10);
            let Some(ServerEvent::Call(call)) = c.poll_event(server) else { panic!("a call") };
            let later = c.start(call, server).unwrap().expect("answered later");
            assert!(later.call.is_some());
            // Held: no reply, no next call, no idle timeout.
            assert!(c.tx_pending().is_empty() && c.poll_event(server).is_none());
            assert_eq!(c.poll_timeout(), None);
            let Later { call, future } = later;
            let answer = ready(Later { call: None, future });
            c.finish(call.unwrap(), answer, server).unwrap();
            let reply = take(&mut c, 20);
            assert_eq!((header(&reply).kind, header(&reply).seq), (MessageKind::Result, 3));
            assert_eq!(&reply[HEADER_LEN..], b"# serpent utf-8 python3.2\n'first later'");
            // The pipelined request is next, in its turn.
            let Some(ServerEvent::Call(next)) = c.poll_event(server) else { panic!("the second call") };
            let later = c.start(next, server).unwrap().unwrap();
            let Later { call, future } = later;
            c.finish(call.unwrap(), ready(Later { call: None, future }), server).unwrap();
            assert_eq!(&take(&mut c, 30)[HEADER_LEN..], b"# serpent utf-8 python3.2\n'second later'");
        });
    }

    #[test]
    fn a_daemon_that_runs_no_futures_answers_with_pyros_error() {
        with_deferring(|server| {
            let mut c = connected(server);
            c.feed(&call_frame(5, "echo", "x", Flags::empty()), 10);
            c.serve_ready(server);
            let reply = take(&mut c, 20);
            assert!(header(&reply).flags.contains(Flags::EXCEPTION));
            let text = String::from_utf8_lossy(&reply[HEADER_LEN..]).into_owned();
            assert!(text.contains("Pyro5.errors.PyroError"), "{text}");
            assert!(
                text.contains("Deferring.echo() is an async method, and this daemon runs no async methods"),
                "{text}"
            );
            assert!(!c.read_buf().is_empty(), "the connection goes on");
        });
    }

    #[test]
    fn a_oneway_async_call_lets_the_connection_go_on() {
        with_deferring(|server| {
            let mut c = connected(server);
            c.feed(&call_frame(6, "note", "n", Flags::ONEWAY), 10);
            let Some(ServerEvent::Call(call)) = c.poll_event(server) else { panic!("a call") };
            let later = c.start(call, server).unwrap().expect("a future to run");
            assert!(later.call.is_none());
            assert!(c.tx_pending().is_empty() && !c.read_buf().is_empty());
            let _ = ready(later);
        });
    }
}
