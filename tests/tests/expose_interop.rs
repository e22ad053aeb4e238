//! Typed Rust objects written with `#[expose]`, served by the std daemon, called by the real
//! Python Pyro5 client (tests/python/typed_client.py) in every serializer: arguments,
//! keyword arguments, defaults, errors (builtin and user-named classes), properties, oneway,
//! iterators (incl. early close, linger across a reconnect and annotated items), context and
//! annotations,
//! metadata equal to what Python's daemon reports for the same class, instance modes,
//! autoproxy and the handshake hook.

use std::sync::atomic::{AtomicUsize, Ordering};

use pyro5_core::ser::call::ConnectView;
use pyro5_core::ser::value::Value;
use pyro5_core::server::{
    Answered, CallContext, ConnectionId, HandshakeAnswer, HandshakeValidator, PyException, Replied, Reply,
    StreamCursor, VALUE_ERROR,
};
use pyro5_core::wire::AnnotationId;
use pyro5_interop_tests::{python, workspace_root};
use pyro5_macros::expose;
use pyro5_std::{Annotated, Daemon, DaemonConfig, InstanceMode, KwArgs, ObjectProxy, VarArgs};

const SERIALIZERS: [&str; 4] = ["serpent", "json", "marshal", "msgpack"];

struct Thermo {
    celsius: f64,
    target: f64,
    history: Vec<f64>,
    log: Vec<String>,
}

#[expose]
impl Thermo {
    fn read(&self, unit: Option<String>) -> f64 {
        if unit.as_deref() == Some("F") { self.celsius * 1.8 + 32.0 } else { self.celsius }
    }

    fn set(&mut self, value: f64, unit: Option<String>) -> Result<f64, PyException<&'static str>> {
        let celsius = if unit.as_deref() == Some("F") { (value - 32.0) / 1.8 } else { value };
        if celsius < -273.15 {
            return Err(PyException::new(VALUE_ERROR, "below absolute zero"));
        }
        self.celsius = celsius;
        self.history.push(celsius);
        Ok(celsius)
    }

    fn overheat(&self) -> Result<(), PyException<String>> {
        Err(PyException::new("thermo.Overheated", format!("too hot: {}", self.celsius)))
    }

    #[oneway]
    fn log(&mut self, text: String) {
        self.log.push(text);
    }

    fn logged(&self) -> Vec<String> {
        self.log.clone()
    }

    fn context(&self, ctx: &CallContext<'_>, mut reply: Reply<'_, '_>) -> Replied {
        let corr: String = ctx.correlation_id.0.iter().map(|b| format!("{b:02x}")).collect();
        let extra = ctx.annotations.get(AnnotationId::new(*b"XTRA").unwrap()).unwrap_or_default();
        let temp = format!("{:.1}", self.celsius);
        reply.annotate(AnnotationId::new(*b"TEMP").unwrap(), temp.as_bytes()).unwrap();
        reply.ok(&(corr, String::from_utf8_lossy(extra)))
    }

    fn history(&self) -> impl Iterator<Item = f64> {
        self.history.clone().into_iter()
    }

    fn countdown(&self, start: u32) -> impl Iterator<Item = u32> {
        (1..=start).rev()
    }

    /// `gather(first, *more, **options)`: what it got.
    fn gather(&self, first: i64, more: VarArgs<i64>, options: KwArgs<Value>) -> (i64, VarArgs<i64>, KwArgs<Value>) {
        (first, more, options)
    }

    /// `steps(start, step=1)`: a cursor stream (no allocation) whose call takes parameters,
    /// kept in the cursor: what is left in the high half, the step in the low one.
    #[stream(next = next_step)]
    fn steps(&mut self, start: u32, step: Option<u32>) -> Result<StreamCursor, PyException<&'static str>> {
        match step.unwrap_or(1) {
            0 => Err(PyException::new(VALUE_ERROR, "step must not be zero")),
            step => Ok(u64::from(start) << 32 | u64::from(step)),
        }
    }

    fn next_step(&mut self, cursor: &mut StreamCursor) -> Option<u32> {
        let (left, step) = ((*cursor >> 32) as u32, *cursor as u32);
        *cursor = u64::from(left.saturating_sub(step)) << 32 | u64::from(step);
        (left > 0).then_some(left)
    }

    /// Items whose replies carry annotations, as a Python generator setting
    /// `current_context.response_annotations` before each `yield`.
    fn labelled(&self, n: u32) -> impl Iterator<Item = Annotated<u32>> {
        (0..n).map(|i| {
            Annotated::new(i)
                .annotate(AnnotationId::new(*b"LABL").unwrap(), format!("item {i}"))
                .annotate(AnnotationId::new(*b"ODD?").unwrap(), if i % 2 == 1 { "yes" } else { "no" })
        })
    }

    #[getter]
    fn target(&self) -> f64 {
        self.target
    }

    #[setter]
    fn set_target(&mut self, value: f64) {
        self.target = value;
    }

    #[getter]
    fn name(&self) -> &'static str {
        "living room"
    }

    fn _calibrate(&mut self) {}
}

fn thermo() -> Thermo {
    Thermo { celsius: 20.0, target: 21.0, history: vec![20.0], log: Vec::new() }
}

struct Counter(u32);

#[expose]
impl Counter {
    fn next(&mut self) -> u32 {
        self.0 += 1;
        self.0
    }
}

struct Factory(Daemon);

#[expose]
impl Factory {
    fn counter(&self) -> Result<ObjectProxy, PyException<String>> {
        self.0.proxy_for("counter.single").map_err(|e| PyException::new("Pyro5.errors.DaemonError", e.to_string()))
    }
}

struct TokenCheck;

impl HandshakeValidator for TokenCheck {
    fn validate(&self, _: ConnectionId, request: &ConnectView<'_>, answer: HandshakeAnswer<'_, '_>) -> Answered {
        match request.handshake::<Value>() {
            Ok(data) if data.get("token").and_then(Value::as_str) == Some("secret") => {
                answer.accept(&Value::Dict(vec![(Value::Str("welcome".into()), Value::Bool(true))]))
            }
            _ => answer.refuse(&"bad token"),
        }
    }
}

/// A daemon in a thread, stopped on drop.
struct Running {
    daemon: Daemon,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    fn start(setup: impl FnOnce(&Daemon)) -> Self {
        let daemon = Daemon::new(DaemonConfig::default()).expect("bind");
        setup(&daemon);
        let serving = daemon.clone();
        let thread = std::thread::spawn(move || serving.request_loop().expect("loop"));
        Self { daemon, thread: Some(thread) }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.daemon.shutdown();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn client(check: &str, uri: &str, serializer: &str) -> serde_json::Value {
    let script = workspace_root().join("tests/python/typed_client.py");
    let args = serde_json::json!({"check": check, "uri": uri, "serializer": serializer});
    let out = std::process::Command::new(python()).arg(script).arg(args.to_string()).output().expect("python");
    assert!(
        out.status.success(),
        "{check} ({serializer}): {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

#[test]
fn python_calls_a_typed_object_in_every_serializer() {
    for serializer in SERIALIZERS {
        let server = Running::start(|_| {});
        let uri = server.daemon.register(thermo(), Some("thermo")).unwrap();
        assert_eq!(client("check_calls", &uri, serializer)["ok"], true, "{serializer}");
    }
}

#[test]
fn metadata_equals_what_pythons_daemon_reports_for_the_same_class() {
    let server = Running::start(|_| {});
    let uri = server.daemon.register(thermo(), Some("thermo")).unwrap();
    let reference = client("reference_metadata", &uri, "serpent");
    for serializer in SERIALIZERS {
        assert_eq!(client("check_metadata", &uri, serializer), reference, "{serializer}");
    }
}

#[test]
fn streams_close_early_and_linger_across_a_reconnect() {
    let server = Running::start(|_| {});
    let uri = server.daemon.register(thermo(), Some("thermo")).unwrap();
    for serializer in SERIALIZERS {
        client("check_stream_close", &uri, serializer);
        client("check_stream_linger", &uri, serializer);
    }
    // close_stream is oneway: give the daemon a moment, then nothing is left open.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while server.daemon.stream_count() > 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(server.daemon.stream_count(), 0);
}

#[test]
fn instance_modes_single_session_percall() {
    let server = Running::start(|daemon| {
        daemon.register_class(InstanceMode::Single, || Counter(0), Some("counter.single")).unwrap();
        daemon.register_class(InstanceMode::Session, || Counter(0), Some("counter.session")).unwrap();
        daemon.register_class(InstanceMode::PerCall, || Counter(0), Some("counter.percall")).unwrap();
    });
    let uri = |id: &str| server.daemon.uri_for(id);
    let single = client("check_counter", &uri("counter.single"), "json");
    assert_eq!(single, serde_json::json!({"a": [1, 2], "b": [3, 4]}));
    let session = client("check_counter", &uri("counter.session"), "json");
    assert_eq!(session, serde_json::json!({"a": [1, 2], "b": [1, 2]}));
    let percall = client("check_counter", &uri("counter.percall"), "json");
    assert_eq!(percall, serde_json::json!({"a": [1, 1], "b": [1, 1]}));
}

#[test]
fn a_class_gets_its_first_instance_at_its_first_call() {
    // As Python's daemon, which reads what a class exposes from the class: registering
    // makes no instance.
    static MADE: AtomicUsize = AtomicUsize::new(0);
    let made = || {
        MADE.fetch_add(1, Ordering::SeqCst);
        Counter(0)
    };
    let server = Running::start(move |daemon| {
        daemon.register_class(InstanceMode::Single, made, Some("counter.single")).unwrap();
    });
    assert_eq!(MADE.load(Ordering::SeqCst), 0, "an instance made at registration");
    let single = client("check_counter", &server.daemon.uri_for("counter.single"), "json");
    assert_eq!(single, serde_json::json!({"a": [1, 2], "b": [3, 4]}));
    assert_eq!(MADE.load(Ordering::SeqCst), 1);
}

#[test]
fn a_registered_object_returned_from_a_call_travels_as_a_proxy() {
    let server = Running::start(|daemon| {
        daemon.register_class(InstanceMode::Single, || Counter(0), Some("counter.single")).unwrap();
        daemon.register(Factory(daemon.clone()), Some("factory")).unwrap();
    });
    for serializer in SERIALIZERS {
        let got = client("check_autoproxy", &server.daemon.uri_for("factory"), serializer);
        assert_eq!(got["uri"], server.daemon.uri_for("counter.single"), "{serializer}");
        assert_eq!(got["methods"], serde_json::json!(["next"]), "{serializer}");
        assert!(got["next"].as_u64().is_some(), "{serializer}");
    }
}

#[test]
fn handshake_hook_accepts_and_refuses() {
    let server = Running::start(|daemon| daemon.set_handshake_validator(TokenCheck));
    let uri = server.daemon.register(Counter(0), Some("counter")).unwrap();
    for serializer in SERIALIZERS {
        let got = client("check_handshake", &uri, serializer);
        assert_eq!(got["response"], serde_json::json!({"welcome": true}), "{serializer}");
        let refusal = got["refusal"].as_str().unwrap();
        assert!(refusal.ends_with("rejected: bad token"), "{serializer}: {refusal}");
    }
}
