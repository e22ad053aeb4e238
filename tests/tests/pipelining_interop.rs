//! Calls pipelined on one connection by the core's proxy state machine, over a plain socket,
//! against Python's daemon and ours: many requests written before any reply is read come
//! back in order with their sequence numbers, and a call given up (its deadline passed) is
//! followed by more calls on the same connection, its late reply dropped.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use pyro5_core::client::{CallSpec, ClientSession, Extras, Reply};
use pyro5_core::limits::Limits;
use pyro5_core::ser::value::Value;
use pyro5_core::wire::{Decoder, Progress, SerializerId};
use pyro5_interop_tests::echo_daemon::{PythonTestServer, serve_echo};
use pyro5_std::Config;

const FORMATS: [SerializerId; 4] =
    [SerializerId::Serpent, SerializerId::Json, SerializerId::Marshal, SerializerId::Msgpack];

/// A connection: the socket, the proxy state machine, its decoder.
struct Raw {
    object: String,
    stream: TcpStream,
    client: ClientSession,
    decoder: Decoder<Vec<u8>>,
}

impl Raw {
    fn connect(uri: &str, object: &str, format: SerializerId) -> Self {
        let address = uri.rsplit('@').next().expect("PYRO:obj@host:port");
        let stream = TcpStream::connect(address).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
        let mut raw = Self {
            object: object.to_string(),
            stream,
            client: ClientSession::new(format),
            decoder: Decoder::new(Vec::new(), Limits::default()),
        };
        let mut tx = Vec::new();
        let len = raw
            .client
            .write_connect(object, &"hello", &Extras::default(), Limits::default(), &mut tx)
            .expect("CONNECT");
        raw.stream.write_all(&tx[..len]).expect("send CONNECT");
        raw.receive();
        let message = raw.decoder.message().expect("a message");
        raw.client.read_connect(&message).expect("connected");
        raw
    }

    /// Lay out a call with one argument; its bytes and sequence number.
    fn call(&mut self, method: &str, arg: &Value) -> (Vec<u8>, u16) {
        let spec = CallSpec { object: &self.object, method, oneway: false, batch: false };
        let mut tx = Vec::new();
        let sent = self
            .client
            .write_call(&spec, &(arg,), None::<&()>, &Extras::default(), Limits::default(), &mut tx)
            .expect("call");
        (tx[..sent.len].to_vec(), sent.seq)
    }

    /// Read one whole message into the decoder.
    fn receive(&mut self) {
        loop {
            let buf = self.decoder.read_buf().expect("room");
            let n = self.stream.read(buf).expect("read");
            assert!(n > 0, "the daemon closed the connection");
            if let Progress::Complete { .. } = self.decoder.commit(n).expect("a well-formed message") {
                return;
            }
        }
    }

    /// The next reply: its sequence number and value, or `None` for a late reply that was
    /// dropped.
    fn reply(&mut self) -> (u16, Option<Value>) {
        self.receive();
        let message = self.decoder.message().expect("a message");
        let seq = message.header().seq;
        match self.client.read_reply(&message).expect("a reply to a call waiting") {
            Reply::Value(body) => (seq, Some(body.decode().expect("a value"))),
            Reply::Late { seq } => (seq, None),
            other => panic!("{other:?}"),
        }
    }
}

fn pipeline(uri: &str, object: &str, method: &str) {
    for format in FORMATS {
        let mut raw = Raw::connect(uri, object, format);
        let mut wire = Vec::new();
        let mut seqs = Vec::new();
        for n in 0..30i64 {
            let (bytes, seq) = raw.call(method, &Value::from(n));
            wire.extend_from_slice(&bytes);
            seqs.push((seq, n));
        }
        assert_eq!(raw.client.in_flight(), 30);
        raw.stream.write_all(&wire).expect("send 30 calls at once");
        for (seq, n) in seqs {
            let (got, value) = raw.reply();
            assert_eq!(got, seq, "{format:?}: in order");
            assert_eq!(value, Some(Value::from(n)), "{format:?}");
        }
        assert_eq!(raw.client.in_flight(), 0);
    }
}

#[test]
fn thirty_pipelined_calls_come_back_in_order_from_pythons_daemon() {
    let server = PythonTestServer::start();
    let uri = server.uri.clone();
    pipeline(&uri, "proxy.test", "echo");
}

#[test]
fn thirty_pipelined_calls_come_back_in_order_from_our_daemon() {
    let (daemon, uri, thread) = serve_echo(&Config::default(), "test.echoserver");
    pipeline(&uri, "test.echoserver", "echo");
    daemon.shutdown();
    let _ = thread.join();
}

#[test]
fn a_call_given_up_is_followed_by_more_calls_on_the_same_connection() {
    let server = PythonTestServer::start();
    let uri = server.uri.clone();
    for format in FORMATS {
        let mut raw = Raw::connect(&uri, "proxy.test", format);
        // slow(0.5): given up after 100 ms, as a proxy's timeout would.
        let (slow, slow_seq) = raw.call("slow", &Value::Float(0.5));
        raw.stream.write_all(&slow).expect("send");
        raw.stream.set_read_timeout(Some(Duration::from_millis(100))).expect("timeout");
        let mut byte = [0u8; 1];
        assert!(raw.stream.peek(&mut byte).is_err(), "{format:?}: nothing within 100 ms");
        raw.stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
        assert!(raw.client.abandon(slow_seq));
        // The connection goes on: the late reply comes first and is dropped.
        let (echo, echo_seq) = raw.call("echo", &Value::from("after"));
        raw.stream.write_all(&echo).expect("send");
        assert_eq!(raw.reply(), (slow_seq, None), "{format:?}: the late reply, dropped");
        let (got, value) = raw.reply();
        assert_eq!((got, value), (echo_seq, Some(Value::from("after"))), "{format:?}");
    }
}
