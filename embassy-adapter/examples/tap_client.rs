//! A Pyro proxy of pyro5-embassy over embassy-net on a Linux TAP device, calling Python's
//! echo server (`python -m Pyro5.utils.echoserver`): the same code a microcontroller runs,
//! with embassy's std executor and time driver.
//!
//! ```text
//! sudo ip tuntap add dev tap0 mode tap && sudo ip addr add 10.42.0.1/24 dev tap0 && sudo ip link set tap0 up
//! python -m Pyro5.utils.echoserver -H 10.42.0.1 -p 9999
//! cargo run -p pyro5-embassy --example tap_client -- tap0 10.42.0.2/24 PYRO:test.echoserver@10.42.0.1:9999
//! ```
//! It calls every kind of member of the echo object (echo with positional and keyword
//! arguments, errors, oneway calls, ping, the `verbose` property, the `generator` item stream
//! read to its end at several prefetches and closed early), checks the rules that follow from
//! the object's metadata (names it does not expose are refused before sending, its oneway
//! methods are not waited for) and that a call timing out (`slow`) leaves the connection
//! usable, in each serializer named after the URI (all four when none is), prints one line per check (`ok SERIALIZER CHECK: detail` or
//! `FAIL SERIALIZER CHECK: why`) and a last line `checks: P passed, F failed`, and exits 0
//! when every check passed, 1 when one failed (2 for a bad command line).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use embassy_executor::{Executor, Spawner};
use embassy_net::{IpEndpoint, Ipv4Cidr, Stack};
use embassy_time::{Duration, Instant};
use pyro5_core::client::{ClientError, ItemStream, NO_ARGS};
use pyro5_core::uri::Uri;
use pyro5_core::wire::SerializerId;
use pyro5_embassy::{ConnectionStorage, Proxy, ProxyError};
use serde::Serialize;
use serde::de::{DeserializeOwned, IgnoredAny};

#[path = "common/tap.rs"]
mod tap;

/// One connection's storage: messages up to 8 KiB.
type Storage = ConnectionStorage<4096, 8192>;

/// The proxy's timeout for every network wait.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Every serializer, by Pyro's names.
const SERIALIZERS: [SerializerId; 4] =
    [SerializerId::Serpent, SerializerId::Json, SerializerId::Marshal, SerializerId::Msgpack];

/// What a check found: a detail to print when it passed, why when it failed.
type Outcome = Result<String, String>;

/// The daemon and object to call.
struct Target {
    daemon: IpEndpoint,
    object: &'static str,
}

/// The checks' tally; prints a line per check.
#[derive(Default)]
struct Report {
    passed: usize,
    failed: usize,
}

impl Report {
    fn check(&mut self, serializer: &str, name: &str, outcome: Outcome) {
        match outcome {
            Ok(detail) => {
                self.passed += 1;
                println!("ok {serializer} {name}: {detail}");
            }
            Err(why) => {
                self.failed += 1;
                println!("FAIL {serializer} {name}: {why}");
            }
        }
    }
}

fn show(e: &ProxyError<'_>) -> String {
    format!("{} [{e}]", e.pyro_class())
}

async fn call<R: DeserializeOwned, A: Serialize + ?Sized>(
    proxy: &mut Proxy<'_>,
    method: &str,
    args: &A,
) -> Result<R, String> {
    proxy.call(method, args).await.map_err(|e| show(&e))
}

/// `echo(value)` gives `value` back.
async fn echoes<T>(proxy: &mut Proxy<'_>, value: T) -> Outcome
where
    T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let back: T = call(proxy, "echo", &(&value,)).await?;
    if back == value { Ok(format!("{back:?}")) } else { Err(format!("sent {value:?}, got {back:?}")) }
}

/// `method()` raises `class` with `message`, with a traceback, and the connection survives.
async fn raises(proxy: &mut Proxy<'_>, method: &str, class: &str, message: &str) -> Outcome {
    let (got_class, got_message, traceback) = match proxy.call::<_, IgnoredAny>(method, NO_ARGS).await {
        Err(ProxyError::Remote(e)) => (e.class.to_string(), e.message.map(str::to_string), e.traceback_lines),
        Err(e) => return Err(show(&e)),
        Ok(_) => return Err(format!("{method} raised nothing")),
    };
    if got_class != class || got_message.as_deref() != Some(message) {
        return Err(format!("expected {class}: {message}, got {got_class}: {got_message:?}"));
    }
    if traceback == 0 {
        return Err(format!("{class} came without Python's traceback"));
    }
    echoes(proxy, "after the error".to_string()).await?;
    Ok(format!("{got_class}: {message} ({traceback} traceback lines)"))
}

async fn keywords(proxy: &mut Proxy<'_>) -> Outcome {
    let kwargs = BTreeMap::from([("message", "by keyword")]);
    let back: String = proxy.call_kw("echo", NO_ARGS, Some(&kwargs)).await.map_err(|e| show(&e))?;
    if back == "by keyword" { Ok(back) } else { Err(format!("got {back:?}")) }
}

/// The object's metadata as the daemon sent it, and its rules: names it does not expose are
/// refused before anything is sent.
async fn metadata(proxy: &mut Proxy<'_>) -> Outcome {
    let meta = proxy.metadata();
    let methods = ["echo", "error", "generator", "oneway_echo", "oneway_slow", "slow", "shutdown"];
    let missing: Vec<&str> = methods.into_iter().filter(|m| !meta.methods.iter().any(|n| n == *m)).collect();
    if !missing.is_empty() || meta.methods.iter().any(|n| n == "_private") {
        return Err(format!("methods {:?}", meta.methods.iter().collect::<Vec<_>>()));
    }
    let count = meta.methods.iter().count();
    let oneway: Vec<String> = meta.oneway.iter().map(str::to_string).collect();
    let attrs: Vec<String> = meta.attrs.iter().map(str::to_string).collect();
    let oneway_named = |name: &str| oneway.iter().any(|n| n == name);
    if !(oneway_named("oneway_echo") && oneway_named("oneway_slow") && oneway.len() == 2) || attrs != ["verbose"] {
        return Err(format!("oneway {oneway:?}, attrs {attrs:?}"));
    }
    let refused = [
        proxy.call::<_, IgnoredAny>("_private", NO_ARGS).await.map(|_| ()).err().map(|e| show(&e)),
        proxy.get_attr::<IgnoredAny>("echo").await.map(|_| ()).err().map(|e| show(&e)),
        proxy.set_attr("loud", &true).await.err().map(|e| show(&e)),
    ];
    let not_exposed = show(&ProxyError::Protocol(ClientError::NotExposed));
    if refused.iter().any(|r| r.as_deref() != Some(not_exposed.as_str())) {
        return Err(format!("not refused as not exposed: {refused:?}"));
    }
    echoes(proxy, "after the refusals".to_string()).await?;
    Ok(format!("{} methods, oneway {oneway:?}, attrs {attrs:?}; _private refused", count))
}

/// A oneway call is sent without a reply: the next call's reply is its own, and a oneway
/// call of a method that sleeps 5 s (in a thread of the daemon) does not delay it. Oneway as
/// the metadata says (a plain `call`), and by the caller's choice.
async fn oneway(proxy: &mut Proxy<'_>) -> Outcome {
    proxy.call::<_, ()>("oneway_echo", &("fire and forget",)).await.map_err(|e| show(&e))?;
    echoes(proxy, "after oneway_echo".to_string()).await?;
    proxy.oneway("echo", &("echo, oneway",)).await.map_err(|e| show(&e))?;
    let start = Instant::now();
    let none: Option<String> = proxy.call("oneway_slow", NO_ARGS).await.map_err(|e| show(&e))?;
    if none.is_some() {
        return Err(format!("oneway_slow returned {none:?}"));
    }
    echoes(proxy, "after oneway_slow".to_string()).await?;
    let took = start.elapsed();
    if took > Duration::from_secs(3) {
        return Err(format!("oneway_slow and a call took {} ms: it was waited for", took.as_millis()));
    }
    Ok(format!("oneway_echo, oneway_slow then a call in {} ms", took.as_millis()))
}

async fn verbose(proxy: &mut Proxy<'_>) -> Result<bool, String> {
    proxy.get_attr("verbose").await.map_err(|e| show(&e))
}

async fn set_verbose(proxy: &mut Proxy<'_>, on: bool) -> Result<(), String> {
    proxy.set_attr("verbose", &on).await.map_err(|e| show(&e))
}

/// The property `verbose`: read, set, read back, restored.
async fn attribute(proxy: &mut Proxy<'_>) -> Outcome {
    let before = verbose(proxy).await?;
    set_verbose(proxy, !before).await?;
    let changed = verbose(proxy).await?;
    set_verbose(proxy, before).await?;
    let restored = verbose(proxy).await?;
    if changed != before && restored == before {
        Ok(format!("verbose {before} -> {changed} -> {restored}"))
    } else {
        Err(format!("verbose {before}, set to {}, read {changed}; restored, read {restored}", !before))
    }
}

async fn next_item(proxy: &mut Proxy<'_>, stream: &mut ItemStream) -> Result<Option<String>, String> {
    proxy.next_item(stream).await.map_err(|e| show(&e))
}

/// `generator()` streamed to its end, with 1 (Pyro's one request per item), 2 (the
/// default) and 4 item requests kept waiting: the same items each time.
async fn stream(proxy: &mut Proxy<'_>) -> Outcome {
    let expected = [Some("one"), Some("two"), Some("three"), None].map(|s| s.map(str::to_string));
    for prefetch in [1, 2, 4] {
        proxy.set_prefetch(prefetch);
        let mut stream = proxy.call_stream("generator", NO_ARGS).await.map_err(|e| show(&e))?;
        let mut items = Vec::new();
        for _ in 0..4 {
            items.push(next_item(proxy, &mut stream).await?);
        }
        if items != expected {
            return Err(format!("at prefetch {prefetch}: got {items:?}"));
        }
    }
    proxy.set_prefetch(pyro5_embassy::DEFAULT_PREFETCH);
    Ok(format!("{expected:?} at prefetch 1, 2 and 4"))
}

/// `generator()` closed after its first item, with more requested ahead: the daemon has
/// forgotten it.
async fn stream_closed_early(proxy: &mut Proxy<'_>) -> Outcome {
    proxy.set_prefetch(3);
    let mut stream = proxy.call_stream("generator", NO_ARGS).await.map_err(|e| show(&e))?;
    proxy.set_prefetch(pyro5_embassy::DEFAULT_PREFETCH);
    let first = next_item(proxy, &mut stream).await?;
    if first.as_deref() != Some("one") {
        return Err(format!("first item {first:?}"));
    }
    proxy.close_stream(&mut stream).await.map_err(|e| show(&e))?;
    // Asked for again by its id.
    let mut again = ItemStream::new(*stream.id(), 1);
    let after = match proxy.next_item::<IgnoredAny>(&mut again).await {
        Err(ProxyError::Remote(e)) => (e.class.to_string(), e.message.map(str::to_string)),
        Err(e) => return Err(show(&e)),
        Ok(item) => return Err(format!("a closed stream gave {item:?}")),
    };
    if after != ("Pyro5.errors.PyroError".to_string(), Some("item stream terminated".to_string())) {
        return Err(format!("after close_stream: {after:?}"));
    }
    Ok(format!("one, then {}: {}", after.0, after.1.unwrap_or_default()))
}

/// `slow()` answers after 5 s: with a 1 s timeout the call is given up, the connection
/// stays usable, and the next call gets its own reply (Python's daemon answers it after
/// `slow`'s, which is dropped).
async fn timeout(proxy: &mut Proxy<'_>) -> Outcome {
    proxy.set_timeout(Duration::from_secs(1));
    let start = Instant::now();
    let slow = match proxy.call::<_, String>("slow", NO_ARGS).await {
        Err(ProxyError::Timeout) => Ok(()),
        other => Err(format!("slow with a 1 s timeout gave {:?}", other.map_err(|e| show(&e)))),
    };
    let waited = start.elapsed();
    proxy.set_timeout(TIMEOUT);
    slow?;
    if !proxy.is_open() {
        return Err("the timeout closed the connection".to_string());
    }
    echoes(proxy, "after slow".to_string()).await?;
    Ok(format!("timed out after {} ms, the next call answered", waited.as_millis()))
}

/// Every check, on one connection in `serializer`.
async fn checks(stack: Stack<'static>, target: &Target, serializer: SerializerId, report: &mut Report) {
    let name = serializer.name().unwrap_or("?");
    let mut storage = Storage::new();
    let mut proxy = match Proxy::connect(stack, target.daemon, target.object, serializer, TIMEOUT, &mut storage).await {
        Ok(proxy) => proxy,
        Err(e) => return report.check(name, "connect", Err(show(&e))),
    };
    report.check(name, "connect", Ok(format!("{} at {}", target.object, target.daemon)));
    let p = &mut proxy;
    report.check(name, "echo-str", echoes(p, "hello from embassy-net, ünïcødé".to_string()).await);
    report.check(name, "echo-int", echoes(p, -1_099_511_627_776_i64).await);
    report.check(name, "echo-list", echoes(p, vec![1_i64, 2, 3]).await);
    // Longer than one TCP segment both ways (the MSS is 1460).
    let big: String = (0..3000).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
    report.check(name, "echo-large", echoes(p, big).await.map(|_| "3000 characters".to_string()));
    report.check(name, "echo-kwargs", keywords(p).await);
    let error = "this is the generated error from echoserver echo() method";
    report.check(name, "error", raises(p, "error", "builtins.ValueError", error).await);
    let error = "the message of the error";
    report.check(name, "error-with-text", raises(p, "error_with_text", "builtins.ValueError", error).await);
    report.check(name, "oneway", oneway(p).await);
    report.check(name, "ping", p.ping().await.map(|()| "pong".to_string()).map_err(|e| show(&e)));
    report.check(name, "attribute", attribute(p).await);
    report.check(name, "stream", stream(p).await);
    report.check(name, "stream-closed-early", stream_closed_early(p).await);
    report.check(name, "metadata", metadata(p).await);
    report.check(name, "timeout", timeout(p).await);
    let open = p.is_open();
    proxy.close().await;
    let outcome = if open { Ok("open after every call".to_string()) } else { Err("a call closed it".to_string()) };
    report.check(name, "connection", outcome);
}

#[embassy_executor::task]
async fn main_task(spawner: Spawner, tap: String, cidr: Ipv4Cidr, target: Target, serializers: Vec<SerializerId>) {
    // One socket at a time, and a spare.
    let stack = tap::start_stack::<2>(spawner, &tap, cidr).await;
    println!("ready {cidr} on {tap}");
    let mut report = Report::default();
    for serializer in serializers {
        checks(stack, &target, serializer, &mut report).await;
    }
    println!("checks: {} passed, {} failed", report.passed, report.failed);
    std::process::exit(if report.failed == 0 && report.passed > 0 { 0 } else { 1 });
}

fn usage_error(why: &str) -> ! {
    eprintln!("{why}");
    std::process::exit(2);
}

fn main() {
    env_logger::init();
    let mut args = std::env::args().skip(1);
    let usage = "tap_client TAP ADDRESS/PREFIX PYRO:OBJECT@IPV4:PORT [SERIALIZER...]   \
                 e.g. tap_client tap0 10.42.0.2/24 PYRO:test.echoserver@10.42.0.1:9999 json";
    let (tap, cidr) = tap::tap_and_cidr(&mut args, usage);
    let Some(uri) = args.next() else { usage_error(&format!("usage: {usage}")) };
    let uri: &'static str = Box::leak(uri.into_boxed_str());
    let parsed = Uri::parse(uri).unwrap_or_else(|e| usage_error(&format!("{uri}: {e}")));
    let (Some(host), Some(port)) = (parsed.host(), parsed.port()) else {
        usage_error(&format!("{uri}: not a PYRO URI with a TCP location"))
    };
    let Ok(host) = host.parse::<Ipv4Addr>() else { usage_error(&format!("{uri}: the host is no IPv4 address")) };
    let Ok(port) = u16::try_from(port) else { usage_error(&format!("{uri}: port out of range")) };
    let target = Target { daemon: (host, port).into(), object: parsed.object() };
    let serializers: Vec<SerializerId> = args
        .map(|name| {
            SERIALIZERS
                .into_iter()
                .find(|s| s.name() == Some(name.as_str()))
                .unwrap_or_else(|| usage_error(&format!("unknown serializer {name}")))
        })
        .collect();
    let serializers = if serializers.is_empty() { SERIALIZERS.to_vec() } else { serializers };
    let executor = Box::leak(Box::new(Executor::new()));
    executor.run(|spawner| {
        spawner.spawn(main_task(spawner, tap, cidr, target, serializers).expect("one main task"));
    });
}
