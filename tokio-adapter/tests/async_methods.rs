//! `async fn` methods of an `#[expose]` impl, served by the tokio daemon and called by the
//! real Python Pyro5: calls that await run side by side on one runtime thread, their values
//! and exceptions reach Python in every serializer, oneway async calls run, a panicking
//! future ends only its connection; pyro5-std's daemons refuse such objects.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use pyro5_interop_tests::python;
use pyro5_std::core::ser::value::Value;
use pyro5_std::core::server::{PyException, VALUE_ERROR};
use pyro5_std::{DaemonConfig, DaemonError, KwArgs, VarArgs, expose};
use pyro5_tokio::Daemon;

/// Counts the calls in progress and the oneway notes received; cheap to clone (each call
/// runs on a clone).
#[derive(Clone, Default)]
struct Gatherer {
    waiting: Arc<AtomicUsize>,
    notes: Arc<AtomicUsize>,
}

#[expose]
impl Gatherer {
    /// Returns `tag` once `n` calls are in this method at once; raises after 20 s (the daemon
    /// ran them one after the other).
    async fn gather(&self, tag: String, n: usize) -> Result<String, PyException<String>> {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        for _ in 0..2_000 {
            if self.waiting.load(Ordering::SeqCst) >= n {
                return Ok(tag);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Err(PyException::new(VALUE_ERROR, format!("only {} calls at once", self.waiting.load(Ordering::SeqCst))))
    }

    /// `value` back after a nap: a value of any type, in the caller's serializer.
    async fn later(
        &self,
        value: pyro5_std::core::ser::value::Value,
        millis: u64,
    ) -> pyro5_std::core::ser::value::Value {
        tokio::time::sleep(Duration::from_millis(millis)).await;
        value
    }

    /// Raises ValueError after an await.
    async fn fail(&self, text: String) -> Result<(), PyException<String>> {
        tokio::task::yield_now().await;
        Err(PyException::new(VALUE_ERROR, text))
    }

    /// A oneway async method: counted after a nap.
    #[oneway]
    async fn note(&self) {
        tokio::time::sleep(Duration::from_millis(20)).await;
        self.notes.fetch_add(1, Ordering::SeqCst);
    }

    /// A plain method beside the async ones.
    fn notes(&self) -> usize {
        self.notes.load(Ordering::SeqCst)
    }

    /// `collect(first, *rest, **options)`: what it got, after an await.
    async fn collect(
        &self,
        first: String,
        rest: VarArgs<Value>,
        options: KwArgs<Value>,
    ) -> (String, VarArgs<Value>, KwArgs<Value>) {
        tokio::task::yield_now().await;
        (first, rest, options)
    }

    /// Panics after an await.
    async fn boom(&self) -> i64 {
        tokio::task::yield_now().await;
        panic!("boom");
    }
}

/// The gatherer on a tokio daemon served by a current-thread runtime (awaits interleave or
/// nothing runs), in a thread of its own; shut down when dropped.
struct Served {
    daemon: Daemon,
    uri: String,
    thread: Option<JoinHandle<std::io::Result<()>>>,
}

impl Served {
    fn start(object: Gatherer) -> Self {
        let (sender, receiver) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(async move {
                let config = DaemonConfig { host: "127.0.0.1".into(), ..DaemonConfig::default() };
                let daemon = Daemon::bind(config)?;
                let uri = daemon.register(object, Some("gatherer")).expect("an async daemon takes async methods");
                sender.send((daemon.clone(), uri)).expect("the test waits");
                daemon.serve().await
            })
        });
        let (daemon, uri) = receiver.recv().expect("the daemon started");
        Self { daemon, uri, thread: Some(thread) }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.daemon.shutdown();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Run `code` with the pinned Python and `args`; its stdout (it must succeed).
fn python_run(code: &str, args: &[&str]) -> String {
    let out = Command::new(python()).arg("-c").arg(code).args(args).output().expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "python failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

const GATHER: &str = r#"
import sys, threading, Pyro5.api
uri, n, serializer = sys.argv[1], int(sys.argv[2]), sys.argv[3]
Pyro5.config.SERIALIZER = serializer
results = [None] * n
def call(i):
    with Pyro5.api.Proxy(uri) as p:
        try:
            results[i] = p.gather("t%d" % i, n)
        except Exception as e:
            results[i] = "%s: %s" % (type(e).__name__, e)
threads = [threading.Thread(target=call, args=(i,)) for i in range(n)]
for t in threads: t.start()
for t in threads: t.join()
print(",".join(results))
"#;

#[test]
fn python_clients_are_served_side_by_side_while_async_methods_await() {
    let served = Served::start(Gatherer::default());
    for (round, serializer) in ["serpent", "json", "marshal", "msgpack"].into_iter().enumerate() {
        let n = 12;
        let out = python_run(GATHER, &[&served.uri, &(n * (round + 1)).to_string(), serializer]);
        // The counter keeps the earlier rounds' calls: round r gathers r * n more.
        let expected: Vec<String> = (0..n * (round + 1)).map(|i| format!("t{i}")).collect();
        assert_eq!(out.trim(), expected.join(","), "{serializer}");
        served.daemon.std().unregister("gatherer").expect("registered");
        served.daemon.register(Gatherer::default(), Some("gatherer")).expect("again");
    }
}

#[test]
fn values_exceptions_and_oneway_calls_of_async_methods_reach_python() {
    let served = Served::start(Gatherer::default());
    let code = r#"
import sys, time, Pyro5.api, Pyro5.errors
Pyro5.config.SERIALIZER = sys.argv[2]
p = Pyro5.api.Proxy(sys.argv[1])
p._pyroBind()
print(sorted(p._pyroMethods), sorted(p._pyroOneway))
print(p.later({"a": [1, 2.5, "x"], "b": None}, 30))
try:
    p.fail("no luck")
except ValueError as e:
    print("ValueError:", e, "|", "".join(Pyro5.errors.get_pyro_traceback()).replace("\n", "/"))
for _ in range(3):
    p.note()
deadline = time.time() + 10
while p.notes() < 3 and time.time() < deadline:
    time.sleep(0.02)
print("notes:", p.notes())
if sys.argv[2] == "marshal":
    # Python's marshal serializer cannot send a batch at all.
    print("batch: not sent")
    sys.exit(0)
b = Pyro5.api.BatchProxy(p)
b.notes()
b.later(1, 0)
try:
    print(list(b()))
except Pyro5.errors.PyroError as e:
    print("batch:", e)
"#;
    for serializer in ["serpent", "json", "marshal", "msgpack"] {
        let served_again = Served::start(Gatherer::default());
        let out = python_run(code, &[&served_again.uri, serializer]);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[0], "['boom', 'collect', 'fail', 'gather', 'later', 'note', 'notes'] ['note']",
            "{serializer}"
        );
        assert_eq!(lines[1], "{'a': [1, 2.5, 'x'], 'b': None}", "{serializer}");
        assert!(lines[2].starts_with("ValueError: no luck |"), "{serializer}: {}", lines[2]);
        assert!(lines[2].contains("| ValueError: no luck/ +--- End of remote traceback"), "{serializer}: {}", lines[2]);
        assert_eq!(lines[3], "notes: 3", "{serializer}");
        if serializer != "marshal" {
            let refused = "batch: Gatherer.later() is an async method: it cannot be called in a batch";
            assert_eq!(lines[4], refused, "{serializer}");
        }
    }
    drop(served);
}

#[test]
fn async_methods_take_args_and_kwargs() {
    let served = Served::start(Gatherer::default());
    let code = r#"
import sys, Pyro5.api
p = Pyro5.api.Proxy(sys.argv[1])
for serializer in ["serpent", "json", "marshal", "msgpack"]:
    p._pyroSerializer = serializer
    first, rest, options = p.collect("a", 1, [2], flag=True)
    print(serializer, first, list(rest), options)
    try:
        p.collect()
    except TypeError as e:
        print(serializer, "TypeError:", e)
"#;
    let out = python_run(code, &[&served.uri]);
    assert_eq!(out.lines().count(), 8, "{out}");
    for (serializer, lines) in
        ["serpent", "json", "marshal", "msgpack"].iter().zip(out.lines().collect::<Vec<_>>().chunks(2))
    {
        assert_eq!(lines[0], format!("{serializer} a [1, [2]] {{'flag': True}}"));
        assert_eq!(
            lines[1],
            format!("{serializer} TypeError: Gatherer.collect() missing 1 required positional argument: 'first'")
        );
    }
}

#[test]
fn a_panicking_async_method_ends_its_connection_only() {
    let served = Served::start(Gatherer::default());
    let code = r#"
import sys, Pyro5.api, Pyro5.errors
p = Pyro5.api.Proxy(sys.argv[1])
other = Pyro5.api.Proxy(sys.argv[1])
print(other.notes())
try:
    p.boom()
    print("returned")
except Pyro5.errors.ConnectionClosedError:
    print("closed")
print(other.later("still served", 1))
p._pyroRelease()
print(p.notes())
"#;
    let out = python_run(code, &[&served.uri]);
    assert_eq!(out.lines().collect::<Vec<_>>(), ["0", "closed", "still served", "0"]);
}

#[test]
fn the_std_daemons_refuse_objects_with_async_methods() {
    let config = DaemonConfig { host: "127.0.0.1".into(), port: 0, ..DaemonConfig::default() };
    let daemon = pyro5_std::Daemon::new(config).expect("bind");
    let refused = daemon.register(Gatherer::default(), Some("gatherer")).unwrap_err();
    assert_eq!(refused, DaemonError::AsyncMethods("Gatherer".into()));
    assert!(refused.to_string().contains("serve this daemon with pyro5_tokio::Daemon"), "{refused}");
    let refused = daemon.register_concurrent(Gatherer::default(), None).unwrap_err();
    assert_eq!(refused, DaemonError::AsyncMethods("Gatherer".into()));
    assert!(!daemon.is_registered("gatherer"));
    // Wrapped by the async daemon, the same daemon takes them.
    let daemon = Daemon::new(daemon);
    daemon.register(Gatherer::default(), Some("gatherer")).expect("served by tokio");
}
