//! The owning client connection against a daemon connection in memory: handshake and
//! metadata, pipelined calls, deadlines and late replies, streams with prefetch, batches,
//! the daemon going away.

extern crate std;

use core::cell::RefCell;
use std::collections::BTreeSet;
use std::string::String;
use std::vec::Vec;

use super::*;
use crate::ser::value::Value;
use crate::server::{
    ConnectionId, Invocation, Metadata, ObjectTable, PyException, PyroObject, Qualname, Replied, Reply as ServerReply,
    Server, ServerConfig, ServerConnection, StreamCursor, StreamStore, Streams,
};

struct Counter;

impl PyroObject for Counter {
    fn metadata(&self) -> Metadata<'static> {
        Metadata {
            class_name: "Counter",
            methods: &["echo", "fail", "count", "note"],
            oneway: &["note"],
            attrs: &["size"],
        }
    }
    fn invoke(&mut self, inv: &Invocation<'_>, reply: ServerReply<'_, '_>) -> Replied {
        let f = Qualname { class_name: "Counter", method: inv.method };
        match inv.method {
            "echo" => match inv.args.required::<Value>(f, 0, "message") {
                Ok(v) => reply.ok(&v),
                Err(e) => reply.raise(&e),
            },
            "fail" => reply.raise(&PyException::value_error("no good")),
            "note" => reply.ok(&()),
            _ => reply.stream(0),
        }
    }
    fn get_attr(&mut self, _: &str, _: &Invocation<'_>, reply: ServerReply<'_, '_>) -> Replied {
        reply.ok(&42)
    }
    fn next_item(&mut self, _: &str, cursor: &mut StreamCursor, reply: ServerReply<'_, '_>) -> Replied {
        *cursor += 1;
        if *cursor > 5 { reply.stop() } else { reply.ok(cursor) }
    }
}

type Client = ClientConnection<Vec<u8>, Vec<u8>>;
type Daemon = ServerConnection<Vec<u8>, Vec<u8>>;

/// Move every pending byte both ways until neither side has more to say; the client's events.
fn pump(client: &mut Client, daemon: &mut Daemon, server: &Server<'_>, now: u64) -> Vec<ClientEvent> {
    let mut events = Vec::new();
    pump_with(client, daemon, server, now, &mut |client, event| {
        if let ClientEvent::Reply { seq } = event {
            assert!(client.reply().is_some(), "reply {seq} shown");
        }
        events.push(event);
    });
    events
}

/// [`pump`], handing each event to `on_event` while what it is about is shown.
fn pump_with(
    client: &mut Client,
    daemon: &mut Daemon,
    server: &Server<'_>,
    now: u64,
    on_event: &mut dyn FnMut(&mut Client, ClientEvent),
) {
    loop {
        let out = client.tx_pending().to_vec();
        client.tx_advance(out.len());
        let mut input = &out[..];
        let mut replies = Vec::new();
        loop {
            let n = daemon.feed(input, now);
            input = &input[n..];
            daemon.serve_ready(server);
            replies.extend_from_slice(daemon.tx_pending());
            let sent = daemon.tx_pending().len();
            daemon.tx_advance(sent, now);
            if input.is_empty() && daemon.tx_pending().is_empty() && n == 0 {
                break;
            }
        }
        let mut back = &replies[..];
        loop {
            let n = client.feed(back, now);
            back = &back[n..];
            while let Some(event) = client.poll_event() {
                on_event(client, event);
            }
            if back.is_empty() {
                break;
            }
        }
        if out.is_empty() && replies.is_empty() {
            return;
        }
    }
}

struct Setup {
    objects: ObjectTable<'static, 1>,
    streams: RefCell<Streams<2>>,
    config: ServerConfig<'static>,
}

fn setup(counter: &'static RefCell<Counter>) -> Setup {
    let mut objects = ObjectTable::<1>::new();
    objects.register("counter", counter).unwrap();
    Setup { objects, streams: RefCell::new(Streams::new()), config: ServerConfig::default() }
}

fn connected(format: SerializerId, setup: &Setup) -> (Client, Daemon, ObjectMetadata<BTreeSet<String>>) {
    let server = Server::new(&setup.objects, &setup.streams, &setup.config);
    let mut daemon = ServerConnection::new(ConnectionId(1), None, Vec::new(), Vec::new(), &setup.config, 0, [1; 32]);
    let mut client = ClientConnection::new(format, Vec::new(), Vec::new(), Limits::default());
    client.connect("counter", &"hello", &Extras::default(), 0, Some(1000)).unwrap();
    assert_eq!(client.poll_timeout(), Some(1000));
    let mut meta = None;
    let out = client.tx_pending().to_vec();
    client.tx_advance(out.len());
    daemon.feed(&out, 0);
    daemon.serve_ready(&server);
    let back = daemon.tx_pending().to_vec();
    daemon.tx_advance(back.len(), 0);
    client.feed(&back, 0);
    assert_eq!(client.poll_event(), Some(ClientEvent::Connected));
    let answer = client.connected().unwrap();
    assert_eq!(answer.handshake::<&str>().unwrap(), "hello");
    meta.replace(ObjectMetadata::read(&answer).unwrap());
    assert_eq!(client.poll_event(), None);
    assert!(client.is_ready() && client.poll_timeout().is_none());
    (client, daemon, meta.unwrap())
}

fn leak() -> &'static RefCell<Counter> {
    std::boxed::Box::leak(std::boxed::Box::new(RefCell::new(Counter)))
}

#[test]
fn pipelined_calls_come_back_matched_in_every_format() {
    let setup = setup(leak());
    for format in [SerializerId::Serpent, SerializerId::Json, SerializerId::Marshal, SerializerId::Msgpack] {
        let server = Server::new(&setup.objects, &setup.streams, &setup.config);
        let (mut client, mut daemon, meta) = connected(format, &setup);
        assert!(meta.method("counter", "note", false).unwrap().oneway);
        let mut seqs = Vec::new();
        for n in 0..MAX_IN_FLIGHT as i64 {
            let spec = meta.method("counter", "echo", false).unwrap();
            seqs.push((client.call(&spec, &(n,), None::<&()>, &Extras::default(), None).unwrap().seq, n));
        }
        assert!(!client.has_room());
        let spec = meta.method("counter", "echo", false).unwrap();
        assert_eq!(client.call(&spec, &(0,), None::<&()>, &Extras::default(), None).unwrap_err(), ClientError::Busy);
        // All in one write, each read in turn.
        let mut got = Vec::new();
        pump_with(&mut client, &mut daemon, &server, 0, &mut |client, event| {
            let ClientEvent::Reply { seq } = event else { panic!("{event:?}") };
            let Some(Reply::Value(body)) = client.reply() else { panic!() };
            got.push((seq, body.decode::<i64>().unwrap()));
        });
        assert_eq!(got, seqs, "{format:?}");
        assert_eq!(client.in_flight(), 0);
    }
}

#[test]
fn a_call_past_its_deadline_is_given_up_and_its_late_reply_dropped() {
    let setup = setup(leak());
    let server = Server::new(&setup.objects, &setup.streams, &setup.config);
    let (mut client, mut daemon, meta) = connected(SerializerId::Serpent, &setup);
    let spec = meta.method("counter", "echo", false).unwrap();
    let slow = client.call(&spec, &("slow",), None::<&()>, &Extras::default(), Some(100)).unwrap().seq;
    let other = client.call(&spec, &("other",), None::<&()>, &Extras::default(), Some(500)).unwrap().seq;
    assert_eq!(client.poll_timeout(), Some(100));
    client.handle_timeout(99);
    assert_eq!(client.poll_event(), None);
    client.handle_timeout(100);
    assert_eq!(client.poll_event(), Some(ClientEvent::TimedOut { seq: slow }));
    assert_eq!(client.poll_timeout(), Some(500));
    client.handle_timeout(100);
    assert_eq!(client.poll_event(), None, "idempotent");
    // Both replies come: the first is dropped, the second read.
    let events = pump(&mut client, &mut daemon, &server, 200);
    assert_eq!(events, [ClientEvent::Reply { seq: other }]);
    assert!(client.is_ready() && client.in_flight() == 0 && client.poll_timeout().is_none());
    // The connection carries on.
    let next = client.call(&spec, &("more",), None::<&()>, &Extras::default(), None).unwrap().seq;
    assert_eq!(pump(&mut client, &mut daemon, &server, 300), [ClientEvent::Reply { seq: next }]);
}

#[test]
fn a_stream_is_prefetched_in_order_and_ends_without_close() {
    let setup = setup(leak());
    let server = Server::new(&setup.objects, &setup.streams, &setup.config);
    for (prefetch, stop_after) in [(1, None), (4, None), (32, None), (4, Some(2))] {
        let (mut client, mut daemon, meta) = connected(SerializerId::Json, &setup);
        let spec = meta.method("counter", "count", false).unwrap();
        client.call(&spec, NO_ARGS, None::<&()>, &Extras::default(), None).unwrap();
        let mut stream = None;
        pump_with(&mut client, &mut daemon, &server, 0, &mut |client, _| {
            let Some(Reply::Stream { id, .. }) = client.reply() else { panic!() };
            stream = Some(ItemStream::new(id, prefetch));
        });
        let mut stream = stream.unwrap();
        let mut items = Vec::new();
        while !stream.is_over() && stop_after.is_none_or(|n| items.len() < n) {
            let queued = stream.request(&mut client, &Extras::default(), None).unwrap();
            assert!(queued >= 1 && stream.waiting() <= prefetch);
            pump_with(&mut client, &mut daemon, &server, 0, &mut |client, event| {
                let ClientEvent::Reply { seq } = event else { panic!("{event:?}") };
                if stream.is_over() || stop_after.is_some_and(|n| items.len() >= n) {
                    return;
                }
                assert_eq!(stream.next_seq(), Some(seq), "in order");
                match stream.take(client.reply().unwrap()).unwrap() {
                    StreamItem::Item(body) => items.push(body.decode::<u64>().unwrap()),
                    StreamItem::End => {}
                    StreamItem::Raised(body) => panic!("{:?}", body.exception()),
                }
            });
        }
        let closed = stream.close(&mut client, &Extras::default()).unwrap();
        match stop_after {
            None => {
                assert_eq!(items, [1, 2, 3, 4, 5], "prefetch {prefetch}");
                assert!(!closed, "the daemon ended it");
            }
            Some(n) => {
                assert_eq!(items.len(), n);
                assert!(closed, "close_stream sent");
            }
        }
        // The replies still on their way are dropped; the connection carries on.
        pump(&mut client, &mut daemon, &server, 0);
        assert_eq!(client.in_flight(), 0, "prefetch {prefetch}");
        assert_eq!(StreamStore::count(&setup.streams), 0, "the stream was closed or ended");
        let spec = meta.get_attr("counter", "size").unwrap();
        let seq = client.call(&spec, &("size",), None::<&()>, &Extras::default(), None).unwrap().seq;
        let mut size = None;
        pump_with(&mut client, &mut daemon, &server, 0, &mut |client, event| {
            assert_eq!(event, ClientEvent::Reply { seq });
            let Some(Reply::Value(body)) = client.reply() else { panic!() };
            size = Some(body.decode::<i32>().unwrap());
        });
        assert_eq!(size, Some(42));
        daemon.close(&server);
    }
}

#[test]
fn batch_results_end_at_the_call_that_raised() {
    let setup = setup(leak());
    let server = Server::new(&setup.objects, &setup.streams, &setup.config);
    let (mut client, mut daemon, _) = connected(SerializerId::Serpent, &setup);
    let calls = (
        ("echo", (5,), Value::Dict(Vec::new())),
        ("fail", NO_ARGS, Value::Dict(Vec::new())),
        ("echo", (6,), Value::Dict(Vec::new())),
    );
    let spec = ObjectMetadata::<BTreeSet<String>>::batch("counter", false);
    client.call(&spec, &calls, None::<&()>, &Extras::default(), None).unwrap();
    let mut results = None;
    pump_with(&mut client, &mut daemon, &server, 0, &mut |client, _| {
        let Some(Reply::Batch(body)) = client.reply() else { panic!() };
        results = Some(body.batch_results().unwrap());
    });
    let results = results.unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0], Ok(Value::Int(5)));
    let error = results[1].as_ref().unwrap_err();
    assert_eq!(error.class_name(), Some("builtins.ValueError"));
}

#[test]
fn the_daemon_going_away_or_refusing_ends_the_connection_once() {
    let setup = setup(leak());
    let (mut client, _daemon, meta) = connected(SerializerId::Serpent, &setup);
    let spec = meta.method("counter", "echo", false).unwrap();
    client.call(&spec, &(1,), None::<&()>, &Extras::default(), Some(50)).unwrap();
    client.commit(0, 10);
    assert_eq!(client.poll_event(), Some(ClientEvent::Closed(ClientError::ConnectionClosed)));
    assert_eq!(client.poll_event(), None);
    assert!(client.is_closed() && !client.is_ready() && client.poll_timeout().is_none());
    assert!(client.read_buf().is_empty());
    assert_eq!(client.call(&spec, &(1,), None::<&()>, &Extras::default(), None).unwrap_err(), ClientError::NotExpected);

    // An unknown object: CONNECTFAIL with the daemon's reason.
    let server = Server::new(&setup.objects, &setup.streams, &setup.config);
    let mut daemon = ServerConnection::new(ConnectionId(2), None, Vec::new(), Vec::new(), &setup.config, 0, [2; 32]);
    let mut client = Client::new(SerializerId::Json, Vec::new(), Vec::new(), Limits::default());
    client.connect("nobody", &"hello", &Extras::default(), 0, None).unwrap();
    let events = pump(&mut client, &mut daemon, &server, 0);
    let [ClientEvent::Closed(ClientError::Rejected(reason))] = &events[..] else { panic!("{events:?}") };
    assert!(reason.as_str().contains("unknown object"), "{reason}");

    // Garbage instead of an answer.
    let mut client = Client::new(SerializerId::Json, Vec::new(), Vec::new(), Limits::default());
    client.connect("counter", &"hello", &Extras::default(), 0, None).unwrap();
    client.feed(b"HTTP/1.1 400 Bad Request\r\n\r\n-------------------------", 0);
    assert!(matches!(client.poll_event(), Some(ClientEvent::Closed(ClientError::Receive(_)))));
}

#[test]
fn a_handshake_past_its_deadline_times_out() {
    let mut client = Client::new(SerializerId::Json, Vec::new(), Vec::new(), Limits::default());
    client.connect("counter", &"hello", &Extras::default(), 0, Some(100)).unwrap();
    client.handle_timeout(100);
    assert_eq!(client.poll_event(), Some(ClientEvent::Closed(ClientError::Timeout)));
    assert_eq!(ClientError::Timeout.pyro_class(), "Pyro5.errors.TimeoutError");
}

#[test]
fn fixed_storage_holds_calls_until_sent() {
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 300]);
    let mut client = ClientConnection::new(SerializerId::Json, &mut rx[..], &mut tx[..], Limits::default());
    client.connect("counter", &"hello", &Extras::default(), 0, None).unwrap();
    let first = client.tx_pending().len();
    // The CONNECT waits; a second message goes after it or is refused when it does not fit.
    assert!(client.ping(&Extras::default()).is_ok());
    assert!(client.tx_pending().len() > first);
    client.tx_advance(first);
    let rest = client.tx_pending().len();
    client.tx_advance(rest);
    assert!(client.tx_pending().is_empty());
}

#[test]
fn pings_queued_together_each_get_their_pong() {
    let counter = leak();
    let setup = setup(counter);
    let server = Server::new(&setup.objects, &setup.streams, &setup.config);
    let (mut client, mut daemon, meta) = connected(SerializerId::Json, &setup);
    client.ping(&Extras::default()).unwrap();
    client.ping(&Extras::default()).unwrap();
    let call = meta.method("counter", "echo", false).unwrap();
    let sent = client.call(&call, &("after the pings",), None::<&()>, &Extras::default(), None).unwrap();
    let events = pump(&mut client, &mut daemon, &server, 0);
    assert_eq!(events, [ClientEvent::Pong, ClientEvent::Pong, ClientEvent::Reply { seq: sent.seq }]);
    assert!(client.is_ready());
    client.ping(&Extras::default()).unwrap();
    assert_eq!(pump(&mut client, &mut daemon, &server, 0), [ClientEvent::Pong]);
}
