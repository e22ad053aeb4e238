//! The test echo server object, as `Pyro5.utils.echoserver.EchoServer` publishes it: the
//! same methods, property and behaviour, echoing any value back unchanged in any serializer.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use pyro5_core::ser::value::Value;
use pyro5_core::server::{
    Invocation, Metadata, PyException, PyroObject, Qualname, Replied, Reply, StreamCursor, unknown_attribute,
};

/// The object id Python's echo server uses.
pub const OBJECT_ID: &str = "test.echoserver";

const METHODS: &[&str] = &[
    "__dunder__",
    "echo",
    "error",
    "error_with_text",
    "generator",
    "inf",
    "nan",
    "oneway_echo",
    "oneway_slow",
    "shutdown",
    "slow",
];

/// Pyro's test echo server. Clones share their state: register it with
/// [`Daemon::register_concurrent`](crate::Daemon::register_concurrent) so that a slow call
/// does not hold up the others, as in Python.
#[derive(Clone, Debug, Default)]
pub struct EchoServer {
    verbose: Arc<AtomicBool>,
    must_shutdown: Arc<AtomicBool>,
    slow_delay: Option<Duration>,
}

impl EchoServer {
    /// A quiet echo server.
    pub fn new() -> Self {
        Self::default()
    }

    /// Print each call, as Python's `--verbose` does.
    pub fn with_verbose(self, verbose: bool) -> Self {
        self.verbose.store(verbose, Ordering::Relaxed);
        self
    }

    /// How long `slow` and `oneway_slow` take (Python's: 5 s).
    pub fn with_slow_delay(mut self, delay: Duration) -> Self {
        self.slow_delay = Some(delay);
        self
    }

    /// Set once `shutdown()` was called remotely.
    pub fn shutdown_flag(&self) -> Arc<AtomicBool> {
        self.must_shutdown.clone()
    }

    fn slow_delay(&self) -> Duration {
        self.slow_delay.unwrap_or(Duration::from_secs(5))
    }

    fn say(&self, what: std::fmt::Arguments<'_>) {
        if self.verbose.load(Ordering::Relaxed) {
            use std::io::Write;
            // A closed stdout must not fail the call.
            let _ = writeln!(std::io::stdout(), "{} - {what}", asctime());
        }
    }
}

impl PyroObject for EchoServer {
    fn metadata(&self) -> Metadata<'static> {
        Metadata {
            class_name: "EchoServer",
            methods: METHODS,
            oneway: &["oneway_echo", "oneway_slow"],
            attrs: &["verbose"],
        }
    }

    fn invoke(&mut self, inv: &Invocation<'_>, reply: Reply<'_, '_>) -> Replied {
        let function = Qualname { class_name: "EchoServer", method: inv.method };
        let params: &[&str] = if matches!(inv.method, "echo" | "oneway_echo") { &["message"] } else { &[] };
        if let Err(e) = inv.args.check(function, params) {
            return reply.raise(&e);
        }
        match inv.method {
            "echo" | "oneway_echo" => {
                // A str that needs no unescaping is echoed from the request as it lies.
                if let Ok(BorrowedStr(text)) = inv.args.required(function, 0, "message") {
                    if self.verbose.load(Ordering::Relaxed) {
                        self.say(format_args!("{}: {}", inv.method, repr(&Value::Str(text.to_owned()))));
                    }
                    return if inv.method == "echo" { reply.ok(text) } else { reply.ok("bogus return value") };
                }
                let message: Value = match inv.args.required(function, 0, "message") {
                    Ok(v) => v,
                    Err(e) => return reply.raise(&e),
                };
                // Python's daemon refuses unknown `__class__` dicts while decoding the call.
                if let Some((class, text)) = message.refused_class() {
                    return reply.raise(&PyException::new(class, text));
                }
                // Only when verbose: the repr of a large message costs more than the call.
                if self.verbose.load(Ordering::Relaxed) {
                    self.say(format_args!("{}: {}", inv.method, repr(&message)));
                }
                if inv.method == "echo" { reply.ok(&message) } else { reply.ok("bogus return value") }
            }
            "error" | "error_with_text" => {
                self.say(format_args!("error: generating exception"));
                let text = if inv.method == "error" {
                    "this is the generated error from echoserver echo() method"
                } else {
                    "the message of the error"
                };
                reply.raise(&PyException::value_error(text))
            }
            "slow" | "oneway_slow" => {
                self.say(format_args!("{}: waiting a bit...", inv.method));
                std::thread::sleep(self.slow_delay());
                self.say(format_args!("{}: returning result", inv.method));
                if inv.method == "slow" { reply.ok("Finally, an answer!") } else { reply.ok("bogus return value") }
            }
            "generator" => reply.stream(0),
            "nan" => reply.ok(&f64::NAN),
            "inf" => reply.ok(&f64::INFINITY),
            "__dunder__" => reply.ok("should be allowed (dunder)"),
            "shutdown" => {
                self.say(format_args!("shutting down"));
                self.must_shutdown.store(true, Ordering::Release);
                reply.ok(&())
            }
            _ => reply.raise(&PyException::attribute_error("unknown method")),
        }
    }

    fn get_attr(&mut self, name: &str, _: &Invocation<'_>, reply: Reply<'_, '_>) -> Replied {
        match name {
            "verbose" => reply.ok(&self.verbose.load(Ordering::Relaxed)),
            _ => unknown_attribute(name, reply),
        }
    }

    fn set_attr(&mut self, name: &str, inv: &Invocation<'_>, reply: Reply<'_, '_>) -> Replied {
        let function = Qualname { class_name: "EchoServer", method: "verbose" };
        match name {
            "verbose" => match inv.args.required::<Value>(function, 1, "value") {
                Ok(value) => {
                    self.verbose.store(truthy(&value), Ordering::Relaxed);
                    reply.ok(&())
                }
                Err(e) => reply.raise(&e),
            },
            _ => unknown_attribute(name, reply),
        }
    }

    fn next_item(&mut self, method: &str, cursor: &mut StreamCursor, reply: Reply<'_, '_>) -> Replied {
        const ITEMS: [&str; 3] = ["one", "two", "three"];
        match (method, ITEMS.get(usize::try_from(*cursor).unwrap_or(usize::MAX))) {
            ("generator", Some(item)) => {
                *cursor += 1;
                reply.ok(item)
            }
            _ => reply.stop(),
        }
    }
}

/// Python's `bool(value)`.
fn truthy(value: &Value) -> bool {
    match value {
        Value::None => false,
        Value::Bool(b) => *b,
        Value::Int(i) => *i != 0,
        Value::BigInt(_) => true,
        Value::Float(f) => *f != 0.0,
        Value::Complex { re, im } => *re != 0.0 || *im != 0.0,
        Value::Str(s) => !s.is_empty(),
        Value::Bytes(b) => !b.is_empty(),
        Value::Tuple(v) | Value::List(v) | Value::Set(v) | Value::FrozenSet(v) => !v.is_empty(),
        Value::Dict(d) => !d.is_empty(),
        Value::DateTime(_) | Value::Date(_) => true,
    }
}

/// A Python-literal rendering of `value` (serpent's syntax), for the verbose output.
/// A Python `str` that lies in the request as it is (no escapes): anything else, Python-only
/// types the formats mark out of band included, is refused.
struct BorrowedStr<'a>(&'a str);

impl<'de> serde::Deserialize<'de> for BorrowedStr<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = BorrowedStr<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a str without escapes")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(BorrowedStr(v))
            }
            fn visit_newtype_struct<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.deserialize_any(self)
            }
        }
        // Exact mode, as `Value` asks: a big int is not its text.
        deserializer.deserialize_newtype_struct(pyro5_core::ser::python::VALUE, Visitor)
    }
}

fn repr(value: &Value) -> String {
    match pyro5_core::ser::serpent::to_vec(value) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            text.strip_prefix("# serpent utf-8 python3.2\n").unwrap_or(&text).to_string()
        }
        Err(e) => format!("<{e}>"),
    }
}

/// `time.asctime()` (UTC): `Mon Nov 23 03:19:18 2026`.
fn asctime() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let (year, month, day) = crate::civil::date_from_days(days);
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let weekday = DAYS[usize::try_from(days.rem_euclid(7)).unwrap_or(0)];
    let month_name = MONTHS[usize::try_from(month - 1).unwrap_or(0)];
    format!("{weekday} {month_name} {day:2} {:02}:{:02}:{:02} {year}", rem / 3600, rem % 3600 / 60, rem % 60)
}
