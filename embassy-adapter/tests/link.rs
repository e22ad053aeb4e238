//! pyro5-embassy on the host, with no privileges: two embassy-net stacks in one process
//! joined by channel devices and a link pump (with injected faults), the device's object
//! served by `pyro5_embassy::serve`, called by `pyro5_embassy::Proxy` from the other stack
//! and by `pyro5_std::Proxy` through a bridge from an OS socket.

mod support;

use std::time::{Duration as StdDuration, Instant as StdInstant};

use embassy_futures::join::join;
use embassy_net::Stack;
use embassy_net::tcp::TcpSocket;
use embassy_time::{Duration, Instant, with_timeout};
use pyro5_core::client::{ClientError, ItemStream, NO_ARGS};
use pyro5_core::limits::Limits;
use pyro5_core::ser::envelope::CallEnvelope;
use pyro5_core::ser::json;
use pyro5_core::ser::value::Value;
use pyro5_core::server::StreamConfig;
use pyro5_core::server::streams::StreamId;
use pyro5_core::wire::{self, Annotation, AnnotationId, Flags, Header, MessageKind, OutgoingMessage, SerializerId};
use pyro5_embassy::{ConnectionStorage, Proxy, ProxyError};
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Serialize};
use support::device::{LOCATION, OBJECT, STREAMS, Settings};
use support::link::Faults;
use support::world::{Net, World};

/// A client connection's storage: requests up to 8 KiB (the device takes 4 KiB).
type Storage = ConnectionStorage<4096, 8192>;

/// The longest a test thread waits for a scenario.
const LIMIT: StdDuration = StdDuration::from_secs(25);
/// The proxies' timeout on a clean link.
const TIMEOUT: Duration = Duration::from_secs(3);

const SERIALIZERS: [SerializerId; 4] =
    [SerializerId::Json, SerializerId::Serpent, SerializerId::Marshal, SerializerId::Msgpack];

fn show(e: &ProxyError<'_>) -> String {
    format!("{} [{}]: {e:?}", e.pyro_class(), e)
}

async fn connect(
    net: Net,
    serializer: SerializerId,
    timeout: Duration,
    storage: &mut Storage,
) -> Result<Proxy<'_>, String> {
    Proxy::connect(net.client, Net::daemon(), OBJECT, serializer, timeout, storage).await.map_err(|e| show(&e))
}

async fn call<R: DeserializeOwned, A: Serialize + ?Sized>(
    proxy: &mut Proxy<'_>,
    method: &str,
    args: &A,
) -> Result<R, String> {
    proxy.call(method, args).await.map_err(|e| show(&e))
}

/// The class and message of the exception `method` raises.
async fn raised<A: Serialize + ?Sized>(
    proxy: &mut Proxy<'_>,
    method: &str,
    args: &A,
) -> Result<(String, Option<String>), String> {
    match proxy.call::<_, IgnoredAny>(method, args).await {
        Err(ProxyError::Remote(e)) => Ok((e.class.to_string(), e.message.map(str::to_string))),
        Err(e) => Err(show(&e)),
        Ok(_) => Err(format!("{method} raised nothing")),
    }
}

fn error(class: &str, message: &str) -> (String, Option<String>) {
    (class.to_string(), Some(message.to_string()))
}

/// A text of `len` bytes that shows where a segment went missing or out of order.
fn pattern(len: usize) -> String {
    (0..len).map(|i| char::from(b"0123456789abcdefghijklmnopqrstuvwxyz"[(i * 7 + i / 36) % 36])).collect()
}

/// Everything one proxy saw of the device object.
#[derive(Debug, PartialEq)]
struct Tour {
    sum: i64,
    echoed: String,
    root: f64,
    error: (String, Option<String>),
    after_error: i64,
    scale: (i64, i64),
    scaled: i64,
    bumped: u32,
    items: Vec<Option<u32>>,
    closed_stream: (u32, (String, Option<String>)),
    big: bool,
}

fn expected_tour() -> Tour {
    Tour {
        sum: 42,
        echoed: "hello, device".to_string(),
        root: 1.5,
        error: error("builtins.ValueError", "negative input"),
        after_error: 2,
        scale: (1, 3),
        scaled: 21,
        bumped: 12,
        items: vec![Some(30), Some(20), Some(10), None],
        closed_stream: (30, error("Pyro5.errors.PyroError", "item stream terminated")),
        big: true,
    }
}

/// Call every kind of member of the device object once, in `serializer`.
async fn tour(net: Net, serializer: SerializerId, timeout: Duration) -> Result<Tour, String> {
    let mut storage = Storage::new();
    let mut p = connect(net, serializer, timeout, &mut storage).await?;
    let sum = call(&mut p, "add", &(40, 2)).await?;
    let echoed = call(&mut p, "echo", &("hello, device",)).await?;
    let root = call(&mut p, "sqrt", &(2.25,)).await?;
    let error = raised(&mut p, "sqrt", &(-1.0,)).await?;
    // The connection survives a remote exception.
    let after_error = call(&mut p, "add", &(1, 1)).await?;

    let before: i64 = p.get_attr("scale").await.map_err(|e| show(&e))?;
    p.set_attr("scale", &3).await.map_err(|e| show(&e))?;
    let after: i64 = p.get_attr("scale").await.map_err(|e| show(&e))?;
    let scaled = call(&mut p, "scaled", &(7,)).await?;
    p.set_attr("scale", &1).await.map_err(|e| show(&e))?;

    let bumps: u32 = call(&mut p, "bumps", NO_ARGS).await?;
    // Oneway by the object's metadata, and by the caller's choice.
    call::<(), _>(&mut p, "bump", &(5,)).await?;
    p.oneway("bump", &(7,)).await.map_err(|e| show(&e))?;
    let bumped = call::<u32, _>(&mut p, "bumps", NO_ARGS).await? - bumps;

    let mut stream = p.call_stream("countdown", NO_ARGS).await.map_err(|e| show(&e))?;
    let mut items = Vec::new();
    for _ in 0..4 {
        items.push(p.next_item::<u32>(&mut stream).await.map_err(|e| show(&e))?);
    }
    let mut stream = p.call_stream("countdown", NO_ARGS).await.map_err(|e| show(&e))?;
    let first = p.next_item::<u32>(&mut stream).await.map_err(|e| show(&e))?.unwrap_or_default();
    p.close_stream(&mut stream).await.map_err(|e| show(&e))?;
    // Asked for again by its id, the daemon no longer has it.
    let mut again = ItemStream::new(*stream.id(), 1);
    let after_close = match p.next_item::<u32>(&mut again).await {
        Err(ProxyError::Remote(e)) => (e.class.to_string(), e.message.map(str::to_string)),
        other => return Err(format!("a closed stream gave {:?}", other.map_err(|e| show(&e)))),
    };

    // Longer than one TCP segment both ways (the MSS is 1460).
    let text = pattern(3000);
    let back: String = call(&mut p, "echo", &(text.as_str(),)).await?;
    let big = back == text;

    p.ping().await.map_err(|e| show(&e))?;
    p.close().await;
    Ok(Tour {
        sum,
        echoed,
        root,
        error,
        after_error,
        scale: (before, after),
        scaled,
        bumped,
        items,
        closed_stream: (first, after_close),
        big,
    })
}

#[test]
fn every_member_in_every_serializer() {
    let world = World::start(Faults::default());
    for serializer in SERIALIZERS {
        let tour = world.run(LIMIT, move |net| tour(net, serializer, TIMEOUT));
        assert_eq!(tour, Ok(expected_tour()), "in {serializer:?}");
    }
    // The oneway calls reached the object itself.
    assert_eq!(world.probe.bumps(), 12 * 4);
}

#[derive(Debug, Deserialize)]
struct Metadata {
    methods: Vec<String>,
    oneway: Vec<String>,
    attrs: Vec<String>,
}

#[test]
fn daemon_object_and_refused_objects() {
    let world = World::start(Faults::default());
    let (registered, info, mut meta, refused) = world
        .run(LIMIT, |net| async move {
            let mut storage = Storage::new();
            let mut daemon =
                Proxy::connect(net.client, Net::daemon(), "Pyro.Daemon", SerializerId::Json, TIMEOUT, &mut storage)
                    .await
                    .map_err(|e| show(&e))?;
            daemon.ping().await.map_err(|e| show(&e))?;
            let registered: Vec<String> = call(&mut daemon, "registered", NO_ARGS).await?;
            let info: String = call(&mut daemon, "info", NO_ARGS).await?;
            let meta: Metadata = call(&mut daemon, "get_metadata", &(OBJECT,)).await?;
            daemon.close().await;
            let mut storage = Storage::new();
            let refused = match Proxy::connect(
                net.client,
                Net::daemon(),
                "nothing",
                SerializerId::Serpent,
                TIMEOUT,
                &mut storage,
            )
            .await
            {
                Err(e @ ProxyError::Protocol(ClientError::Rejected(_))) => e.to_string(),
                Err(e) => return Err(show(&e)),
                Ok(_) => return Err("an unknown object was accepted".to_string()),
            };
            Ok::<_, String>((registered, info, meta, refused))
        })
        .expect("the daemon object answers");
    assert_eq!(registered, ["Pyro.Daemon", OBJECT]);
    assert!(info.contains(LOCATION), "{info}");
    for list in [&mut meta.methods, &mut meta.oneway, &mut meta.attrs] {
        list.sort();
    }
    assert_eq!(meta.methods, ["add", "bump", "bumps", "countdown", "echo", "scaled", "sqrt"]);
    assert_eq!(meta.oneway, ["bump"]);
    assert_eq!(meta.attrs, ["scale"]);
    assert!(refused.contains("unknown object"), "{refused}");
}

#[derive(Debug)]
struct Oversize {
    /// What the device said to a request larger than its storage, and how long it took.
    too_large_for_device: String,
    waited: Duration,
    open_after: bool,
    /// A request larger than the proxy's own storage: refused before sending.
    too_large_for_proxy: String,
    usable_after: i64,
    /// A fresh proxy after the device dropped the first.
    fresh: i64,
}

#[test]
fn messages_too_large_for_the_storage_fail_clearly() {
    let world = World::start(Faults::default());
    let seen = world.run(LIMIT, |net| async move {
        let mut storage = Storage::new();
        let mut p = connect(net, SerializerId::Json, TIMEOUT, &mut storage).await?;
        let too_large_for_proxy = match p.call::<_, IgnoredAny>("echo", &(pattern(9000),)).await {
            Err(e @ ProxyError::Protocol(ClientError::Serialize(_) | ClientError::Encode(_))) => show(&e),
            other => return Err(format!("9000 bytes from 8 KiB storage: {:?}", other.map_err(|e| show(&e)))),
        };
        let usable_after = call(&mut p, "add", &(2, 2)).await?;
        let started = Instant::now();
        let too_large_for_device = match p.call::<_, IgnoredAny>("echo", &(pattern(5000),)).await {
            Err(e) => show(&e),
            Ok(_) => return Err("5000 bytes went into 4 KiB".to_string()),
        };
        let waited = started.elapsed();
        let open_after = p.is_open();
        let mut storage = Storage::new();
        let mut p = connect(net, SerializerId::Json, TIMEOUT, &mut storage).await?;
        let fresh = call(&mut p, "add", &(3, 3)).await?;
        p.close().await;
        Ok::<_, String>(Oversize { too_large_for_device, waited, open_after, too_large_for_proxy, usable_after, fresh })
    });
    let seen = seen.expect("the oversize scenario runs");
    eprintln!("{seen:?}");
    assert!(
        seen.too_large_for_device.starts_with("Pyro5.errors.CommunicationError [the connection is closed]"),
        "{seen:?}"
    );
    assert!(seen.waited < Duration::from_secs(2), "{seen:?}");
    assert!(!seen.open_after, "{seen:?}");
    assert!(seen.too_large_for_proxy.contains("8192"), "{seen:?}");
    assert_eq!((seen.usable_after, seen.fresh), (4, 6));
}

#[test]
fn proxies_reconnect_and_run_side_by_side() {
    let world = World::start(Faults::default());
    let sums = world.run(LIMIT, |net| async move {
        let mut sums = Vec::new();
        // More connections, one after the other, than the device has storage for.
        for i in 0..10 {
            let mut storage = Storage::new();
            let mut p = connect(net, SERIALIZERS[i % 4], TIMEOUT, &mut storage).await?;
            sums.push(call::<i64, _>(&mut p, "add", &(i, 100)).await?);
            p.close().await;
        }
        Ok::<_, String>(sums)
    });
    assert_eq!(sums, Ok((100..110).collect::<Vec<i64>>()));

    let (a, b) = world
        .run(LIMIT, |net| async move {
            let (mut sa, mut sb) = (Storage::new(), Storage::new());
            let (a, b) = join(
                connect(net, SerializerId::Json, TIMEOUT, &mut sa),
                connect(net, SerializerId::Serpent, TIMEOUT, &mut sb),
            )
            .await;
            let (mut a, mut b) = (a?, b?);
            // One proxy reads a stream while the other calls: each connection keeps its own.
            let streaming = async {
                let mut stream = a.call_stream("countdown", NO_ARGS).await.map_err(|e| show(&e))?;
                let mut items = Vec::new();
                while let Some(item) = a.next_item::<u32>(&mut stream).await.map_err(|e| show(&e))? {
                    items.push(item);
                }
                a.close().await;
                Ok::<_, String>(items)
            };
            let calling = async {
                let mut sums = Vec::new();
                for i in 0..5 {
                    sums.push(call::<i64, _>(&mut b, "add", &(i, i)).await?);
                }
                b.close().await;
                Ok::<_, String>(sums)
            };
            Ok::<_, String>(join(streaming, calling).await)
        })
        .expect("two proxies connect");
    assert_eq!(a, Ok(vec![30, 20, 10]));
    assert_eq!(b, Ok(vec![0, 2, 4, 6, 8]));
}

/// What a std proxy saw of the device object, through the bridge.
#[derive(Debug, PartialEq)]
struct StdTour {
    sum: i64,
    echoed: Value,
    error: (String, String),
    scale: (i64, i64),
    items: Vec<Value>,
    collected: Vec<u32>,
    first_of_abandoned: Option<Value>,
    after_abandoned: i64,
    big: bool,
    meta: (bool, bool, bool),
}

fn std_tour(proxy: &mut pyro5_std::Proxy) -> Result<StdTour, pyro5_std::ProxyError> {
    let sum = proxy.call("add", (20, 22))?;
    let echoed = proxy.call_value("echo", &[Value::Str("over the bridge".into())], &[])?;
    let error = match proxy.call::<f64, _>("sqrt", (-4.0,)) {
        Err(pyro5_std::ProxyError::Remote(e)) => (e.class.clone(), e.message()),
        other => panic!("sqrt(-4) gave {other:?}"),
    };
    let before = proxy.get_attr("scale")?;
    proxy.set_attr("scale", 5)?;
    let after = proxy.get_attr("scale")?;
    proxy.set_attr("scale", 1)?;
    // Oneway (the metadata says so): no reply awaited.
    proxy.call::<(), _>("bump", (4,))?;
    let items = proxy.call_iter("countdown", ())?.collect::<Result<Vec<_>, _>>()?;
    let collected = proxy.call("countdown", ())?;
    // Dropped after one item: closed on the device with a oneway close_stream.
    let first_of_abandoned = proxy.call_iter("countdown", ())?.next().transpose()?;
    let after_abandoned = proxy.call("add", (1, 2))?;
    let text = pattern(3000);
    let big = proxy.call::<String, _>("echo", (text.as_str(),))? == text;
    proxy.ping()?;
    let meta =
        proxy.metadata().map(|m| (m.methods.contains("add"), m.oneway.contains("bump"), m.attrs.contains("scale")));
    Ok(StdTour {
        sum,
        echoed,
        error,
        scale: (before, after),
        items,
        collected,
        first_of_abandoned,
        after_abandoned,
        big,
        meta: meta.unwrap_or_default(),
    })
}

fn expected_std_tour() -> StdTour {
    StdTour {
        sum: 42,
        echoed: Value::Str("over the bridge".into()),
        error: ("builtins.ValueError".into(), "negative input".into()),
        scale: (1, 5),
        items: vec![Value::Int(30), Value::Int(20), Value::Int(10)],
        collected: vec![30, 20, 10],
        first_of_abandoned: Some(Value::Int(30)),
        after_abandoned: 3,
        big: true,
        meta: (true, true, true),
    }
}

/// Wait (at most `limit`) until `done` holds.
fn eventually(limit: StdDuration, mut done: impl FnMut() -> bool) -> bool {
    let until = StdInstant::now() + limit;
    while !done() {
        if StdInstant::now() > until {
            return false;
        }
        std::thread::sleep(StdDuration::from_millis(2));
    }
    true
}

/// A std proxy for the device object through a bridge on 127.0.0.1.
fn std_proxy(world: &World) -> pyro5_std::Proxy {
    let address = support::bridge::start(world);
    let mut proxy = pyro5_std::Proxy::new(&format!("PYRO:{OBJECT}@{address}")).expect("a PYRO URI");
    proxy.set_timeout(Some(StdDuration::from_secs(5)));
    proxy
}

#[test]
fn std_proxy_through_a_bridge() {
    let world = World::start(Faults::default());
    let mut proxy = std_proxy(&world);
    for (n, serializer) in pyro5_std::Serializer::ALL.into_iter().enumerate() {
        proxy.set_serializer(serializer);
        let tour = std_tour(&mut proxy).map_err(|e| e.to_string());
        assert_eq!(tour, Ok(expected_std_tour()), "in {serializer}");
        let bumps = 4 * (u32::try_from(n).unwrap_or_default() + 1);
        assert!(eventually(StdDuration::from_secs(5), || world.probe.bumps() == bumps), "in {serializer}");
        // Next time over a new connection (a new relay, a new device connection).
        proxy.release();
    }
}

#[test]
fn calls_survive_a_lossy_link() {
    // Deterministic: the same frames are dropped every run (a handful, each costing one
    // retransmission timeout of smoltcp, 1 s).
    let world = World::start(Faults { drop_percent: 10, spacing: 6, seed: 5, ..Faults::default() });
    let started = StdInstant::now();
    let sums = world.run(LIMIT, |net| async move {
        let mut storage = Storage::new();
        // Well over smoltcp's retransmission timeout (1 s at least, doubling on a repeat).
        let mut p = connect(net, SerializerId::Serpent, Duration::from_secs(10), &mut storage).await?;
        let mut sums = Vec::new();
        for i in 0..12 {
            sums.push(call::<i64, _>(&mut p, "add", &(i, 1000)).await?);
        }
        let text = pattern(3000);
        let back: String = call(&mut p, "echo", &(text.as_str(),)).await?;
        p.close().await;
        Ok::<_, String>((sums, back == text))
    });
    let stats = world.link.stats();
    eprintln!("lossy link: {stats:?} in {:?}", started.elapsed());
    assert_eq!(sums, Ok(((1000..1012).collect(), true)));
    assert!(stats.dropped > 0, "{stats:?}");
}

#[test]
fn calls_survive_delays_and_reordering() {
    let faults = Faults {
        delay: Duration::from_millis(5),
        reorder_percent: 30,
        reorder_hold: Duration::from_millis(40),
        ..Faults::default()
    };
    let world = World::start(faults);
    let started = StdInstant::now();
    let tour = world.run(LIMIT, |net| tour(net, SerializerId::Json, TIMEOUT));
    assert_eq!(tour, Ok(expected_tour()));
    // Texts of several segments each way: bursts in which a held-back segment is overtaken.
    let echoed = world.run(LIMIT, |net| async move {
        let mut storage = Storage::new();
        let mut p = connect(net, SerializerId::Msgpack, TIMEOUT, &mut storage).await?;
        let mut intact = Vec::new();
        for len in [2000, 2500, 3000, 3500, 4000 - 100] {
            let text = pattern(len);
            intact.push(call::<String, _>(&mut p, "echo", &(text.as_str(),)).await? == text);
        }
        p.close().await;
        Ok::<_, String>(intact)
    });
    assert_eq!(echoed, Ok(vec![true; 5]));
    let mut proxy = std_proxy(&world);
    assert_eq!(std_tour(&mut proxy).map_err(|e| e.to_string()), Ok(expected_std_tour()));
    // Overtaking needs a segment sent while another is held back: on a loaded machine the
    // exchanges above may have come too slowly for that, so echo bursts until one did.
    for _ in 0..20 {
        if world.link.stats().reordered > 0 {
            break;
        }
        let again = world.run(LIMIT, |net| async move {
            let mut storage = Storage::new();
            let mut p = connect(net, SerializerId::Msgpack, TIMEOUT, &mut storage).await?;
            let text = pattern(3900);
            let intact = call::<String, _>(&mut p, "echo", &(text.as_str(),)).await? == text;
            p.close().await;
            Ok::<_, String>(intact)
        });
        assert_eq!(again, Ok(true));
    }
    let stats = world.link.stats();
    eprintln!("delaying, reordering link: {stats:?} in {:?}", started.elapsed());
    assert!(stats.reordered > 0, "{stats:?}");
}

#[derive(Debug)]
struct Cut {
    before: i64,
    during: String,
    waited: Duration,
    open_after: bool,
    next: String,
    refused: String,
    connect_waited: Duration,
    /// The same proxy once the link is back: the late replies of the calls given up are
    /// dropped, its next call gets its own.
    resumed: i64,
    mended: i64,
}

#[test]
fn a_cut_link_times_out_instead_of_hanging() {
    let world = World::start(Faults::default());
    let link = world.link.clone();
    let seen = world.run(LIMIT, move |net| async move {
        let timeout = Duration::from_secs(1);
        let mut storage = Storage::new();
        let mut p = connect(net, SerializerId::Json, timeout, &mut storage).await?;
        let before = call(&mut p, "add", &(1, 2)).await?;
        link.set_cut(true);
        let started = Instant::now();
        let during = match p.call::<_, i64>("add", &(3, 4)).await {
            Err(e @ ProxyError::Timeout) => show(&e),
            other => {
                let waited = started.elapsed();
                return Err(format!("a call over a cut link gave {:?} after {waited:?}", other.map_err(|e| show(&e))));
            }
        };
        let waited = started.elapsed();
        let open_after = p.is_open();
        let next = match p.call::<_, i64>("add", &(5, 6)).await {
            Err(e) => show(&e),
            Ok(v) => return Err(format!("a call after a timeout gave {v}")),
        };
        let mut other_storage = Storage::new();
        let started = Instant::now();
        let connect_outcome = connect(net, SerializerId::Json, timeout, &mut other_storage).await.map(|_| ());
        let connect_waited = started.elapsed();
        let Err(refused) = connect_outcome else { return Err("connected over a cut link".to_string()) };
        link.set_cut(false);
        // smoltcp retransmits the requests with a backoff of seconds.
        p.set_timeout(Duration::from_secs(12));
        let resumed = call(&mut p, "add", &(9, 9)).await?;
        p.close().await;
        let mut storage = Storage::new();
        let mut p = connect(net, SerializerId::Json, TIMEOUT, &mut storage).await?;
        let mended = call(&mut p, "add", &(7, 8)).await?;
        p.close().await;
        Ok::<_, String>(Cut { before, during, waited, open_after, next, refused, connect_waited, resumed, mended })
    });
    let seen = seen.expect("the cut scenario runs");
    eprintln!("{seen:?}");
    assert_eq!((seen.before, seen.resumed, seen.mended), (3, 18, 15));
    assert!(seen.during.starts_with("Pyro5.errors.TimeoutError"), "{seen:?}");
    assert!(seen.waited >= Duration::from_millis(990) && seen.waited < Duration::from_secs(3), "{seen:?}");
    // A timeout gives the call up, not the connection.
    assert!(seen.open_after, "{seen:?}");
    assert!(seen.next.starts_with("Pyro5.errors.TimeoutError"), "{seen:?}");
    assert!(seen.refused.starts_with("Pyro5.errors.TimeoutError"), "{seen:?}");
    assert!(seen.connect_waited < Duration::from_secs(3), "{seen:?}");
}

/// Item streams that expire quickly: `linger_ms` after their client left, or `lifetime_ms`
/// after their creation.
fn short_streams(lifetime_ms: u64, linger_ms: u64) -> StreamConfig {
    StreamConfig { enabled: true, lifetime_ms, linger_ms }
}

/// Open a countdown stream, take its first item, and leave without closing the stream.
async fn abandon_stream(net: Net) -> Result<StreamId, String> {
    let mut storage = Storage::new();
    let mut p = connect(net, SerializerId::Json, TIMEOUT, &mut storage).await?;
    // One request at a time: nothing of the stream is read ahead when the client leaves.
    p.set_prefetch(1);
    let mut stream = p.call_stream("countdown", NO_ARGS).await.map_err(|e| show(&e))?;
    let first = p.next_item::<u32>(&mut stream).await.map_err(|e| show(&e))?;
    if first != Some(30) {
        return Err(format!("the first item was {first:?}"));
    }
    p.close().await;
    Ok(*stream.id())
}

/// The next item of `stream` on a fresh connection: an item, or the exception raised.
async fn continue_stream(net: Net, stream: StreamId) -> Result<Result<Option<u32>, (String, Option<String>)>, String> {
    let mut storage = Storage::new();
    let mut p = connect(net, SerializerId::Json, TIMEOUT, &mut storage).await?;
    let mut stream = ItemStream::new(stream, 1);
    let next = match p.next_item::<u32>(&mut stream).await {
        Ok(item) => Ok(item),
        Err(ProxyError::Remote(e)) => Err((e.class.to_string(), e.message.map(str::to_string))),
        Err(e) => return Err(show(&e)),
    };
    p.close().await;
    Ok(next)
}

#[test]
fn an_abandoned_stream_lingers_then_expires() {
    let world = World::start_with(Faults::default(), short_streams(0, 300));
    let stream = world.run(LIMIT, abandon_stream).expect("a stream opens");
    // Within the linger time a new connection continues it (and owns it from then on).
    assert_eq!(world.run(LIMIT, move |net| continue_stream(net, stream)), Ok(Ok(Some(20))));
    let left = StdInstant::now();
    assert!(eventually(StdDuration::from_millis(200), || world.probe.streams() == 1), "the stream did not linger");
    // Nobody calls the daemon any more: its timer drops the stream after the linger time.
    assert!(eventually(StdDuration::from_secs(3), || world.probe.streams() == 0), "the stream never expired");
    let expired_after = left.elapsed();
    eprintln!("expired {expired_after:?} after its client left");
    assert!(expired_after >= StdDuration::from_millis(250), "{expired_after:?}");
    assert_eq!(
        world.run(LIMIT, move |net| continue_stream(net, stream)),
        Ok(Err(error("Pyro5.errors.PyroError", "item stream terminated")))
    );
}

#[test]
fn a_stream_past_its_lifetime_is_closed() {
    let world = World::start_with(Faults::default(), short_streams(300, 30_000));
    let seen = world.run(LIMIT, |net| async move {
        let mut storage = Storage::new();
        let mut p = connect(net, SerializerId::Serpent, TIMEOUT, &mut storage).await?;
        // Calls interleave with the stream's items: one request at a time.
        p.set_prefetch(1);
        let mut stream = p.call_stream("countdown", NO_ARGS).await.map_err(|e| show(&e))?;
        let first = p.next_item::<u32>(&mut stream).await.map_err(|e| show(&e))?;
        // Opened and left alone on the same, still open, connection.
        let _untouched = p.call_stream("countdown", NO_ARGS).await.map_err(|e| show(&e))?;
        embassy_time::Timer::after_millis(500).await;
        let after = match p.next_item::<u32>(&mut stream).await {
            Err(ProxyError::Remote(e)) => (e.class.to_string(), e.message.map(str::to_string)),
            other => return Err(format!("an expired stream gave {:?}", other.map_err(|e| show(&e)))),
        };
        // The connection goes on.
        let sum = call::<i64, _>(&mut p, "add", &(1, 2)).await?;
        p.close().await;
        Ok::<_, String>((first, after, sum))
    });
    assert_eq!(seen, Ok((Some(30), error("Pyro5.errors.PyroError", "item stream terminated"), 3)));
    assert!(eventually(StdDuration::from_secs(3), || world.probe.streams() == 0), "a stream outlived its lifetime");

    // A stream left alone on an open, idle connection goes as well, with no request to
    // trigger it: the daemon's timer drops it.
    let probe = world.probe.clone();
    let idle = world.run(LIMIT, move |net| async move {
        let mut storage = Storage::new();
        let mut p = connect(net, SerializerId::Json, TIMEOUT, &mut storage).await?;
        let _stream = p.call_stream("countdown", NO_ARGS).await.map_err(|e| show(&e))?;
        let opened = Instant::now();
        let mut seen_open = false;
        while opened.elapsed() < Duration::from_secs(3) {
            match probe.streams() {
                0 if seen_open => break,
                0 => {}
                _ => seen_open = true,
            }
            embassy_time::Timer::after_millis(5).await;
        }
        let gone_after = opened.elapsed();
        let sum = call::<i64, _>(&mut p, "add", &(2, 3)).await?;
        p.close().await;
        Ok::<_, String>((seen_open, gone_after, sum))
    });
    let (seen_open, gone_after, sum) = idle.expect("a stream opens");
    eprintln!("an idle stream went {} ms after it opened", gone_after.as_millis());
    assert!(seen_open);
    assert!(gone_after >= Duration::from_millis(250) && gone_after < Duration::from_secs(3), "{gone_after:?}");
    assert_eq!(sum, 5, "the connection stays open");
}

#[test]
fn streams_abandoned_in_every_slot_expire_and_free_them() {
    let world = World::start_with(Faults::default(), short_streams(0, 300));
    let abandoned = world.run(LIMIT, |net| async move {
        let mut streams = Vec::new();
        for _ in 0..STREAMS {
            streams.push(abandon_stream(net).await?);
        }
        Ok::<_, String>(streams)
    });
    assert_eq!(abandoned.map(|s| s.len()), Ok(STREAMS));
    assert!(
        eventually(StdDuration::from_millis(200), || world.probe.streams() == STREAMS),
        "the streams did not linger"
    );
    let iterate = |net: Net| async move {
        let mut storage = Storage::new();
        let mut p = connect(net, SerializerId::Msgpack, TIMEOUT, &mut storage).await?;
        let mut stream = match p.call_stream("countdown", NO_ARGS).await {
            Ok(stream) => stream,
            Err(ProxyError::Remote(e)) => {
                let refused = Err((e.class.to_string(), e.message.map(str::to_string)));
                p.close().await;
                return Ok(refused);
            }
            Err(e) => return Err(show(&e)),
        };
        let mut items = Vec::new();
        while let Some(item) = p.next_item::<u32>(&mut stream).await.map_err(|e| show(&e))? {
            items.push(item);
        }
        p.close().await;
        Ok::<_, String>(Ok(items))
    };
    // Every slot is held by a stream whose client is gone.
    assert_eq!(
        world.run(LIMIT, iterate),
        Ok(Err(error("Pyro5.errors.PyroError", "too many open item streams; close some or raise the daemon's limit")))
    );
    assert!(eventually(StdDuration::from_secs(3), || world.probe.streams() == 0), "the abandoned streams stayed");
    assert_eq!(world.run(LIMIT, iterate), Ok(Ok(vec![30, 20, 10])));
}

/// A whole message as a Python proxy would send it, in json.
fn frame(kind: MessageKind, seq: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; payload.len() + 64];
    let message = OutgoingMessage::new(kind, SerializerId::Json, seq);
    let len = wire::encode(&message, payload, &mut out, Limits::default()).expect("the message encodes");
    out.truncate(len);
    out
}

/// A CONNECT for the device object.
fn connect_frame() -> Vec<u8> {
    #[derive(Serialize)]
    struct Connect<'a> {
        handshake: &'a str,
        object: &'a str,
    }
    let mut payload = [0u8; 128];
    let len = json::to_slice(&Connect { handshake: "hello", object: OBJECT }, &mut payload).expect("it fits");
    frame(MessageKind::Connect, 0, &payload[..len])
}

/// An INVOKE of the device object's `echo(text)`.
fn echo_frame(seq: u16, text: &str) -> Vec<u8> {
    let call = CallEnvelope {
        format: SerializerId::Json,
        object: OBJECT,
        method: "echo",
        args: &(text,),
        kwargs: Some(&std::collections::BTreeMap::<&str, ()>::new()),
    };
    let mut payload = vec![0u8; text.len() + 256];
    let len = json::to_slice(&call, &mut payload).expect("it fits");
    frame(MessageKind::Invoke, seq, &payload[..len])
}

/// Send all of `bytes` on a raw socket.
async fn write_all(socket: &mut TcpSocket<'_>, mut bytes: &[u8]) -> Result<(), String> {
    while !bytes.is_empty() {
        match socket.write(bytes).await {
            Ok(0) => return Err("the socket takes nothing".to_string()),
            Ok(n) => bytes = &bytes[n..],
            Err(e) => return Err(format!("writing: {e:?}")),
        }
    }
    Ok(())
}

/// Fill `buf` from a raw socket.
async fn read_exact(socket: &mut TcpSocket<'_>, mut buf: &mut [u8]) -> Result<(), String> {
    while !buf.is_empty() {
        match socket.read(buf).await {
            Ok(0) => return Err("the connection closed".to_string()),
            Ok(n) => buf = &mut buf[n..],
            Err(e) => return Err(format!("reading: {e:?}")),
        }
    }
    Ok(())
}

/// Read one whole message from a raw socket: its header and everything after it.
async fn read_message(socket: &mut TcpSocket<'_>) -> Result<(Header, Vec<u8>), String> {
    let mut head = [0u8; 40];
    read_exact(socket, &mut head).await?;
    let header = Header::parse_bytes(&head).map_err(|e| format!("a bad header: {e}"))?;
    let rest = usize::try_from(header.annotations_len + header.data_len).map_err(|e| e.to_string())?;
    let mut body = vec![0u8; rest];
    read_exact(socket, &mut body).await?;
    Ok((header, body))
}

#[test]
fn an_idle_client_gets_connectfail_after_the_idle_timeout() {
    let world = World::start_device(Faults::default(), Settings { idle_timeout_ms: Some(300), ..Settings::default() });
    let seen = world.run(LIMIT, |net| async move {
        let (mut rx, mut tx) = ([0u8; 1024], [0u8; 1024]);
        let mut socket = TcpSocket::new(net.client, &mut rx, &mut tx);
        socket.connect(Net::daemon()).await.map_err(|e| format!("{e:?}"))?;
        let started = Instant::now();
        // Sends nothing, not even its CONNECT.
        let (header, body) = read_message(&mut socket).await?;
        let waited = started.elapsed();
        let mut rest = [0u8; 16];
        let after = with_timeout(TIMEOUT, socket.read(&mut rest)).await;
        Ok::<_, String>((header.kind, String::from_utf8_lossy(&body).into_owned(), waited, format!("{after:?}")))
    });
    let (kind, body, waited, after) = seen.expect("the idle scenario runs");
    eprintln!("CONNECTFAIL {body:?} after {waited:?}, then {after}");
    assert_eq!(kind, MessageKind::ConnectFail);
    assert!(body.contains("receiving: timeout"), "{body:?}");
    assert!(waited >= Duration::from_millis(250) && waited < Duration::from_secs(3), "{waited:?}");
    // Then the daemon closes the connection.
    assert!(after == "Ok(Ok(0))" || after.starts_with("Ok(Err"), "{after}");
}

#[test]
fn a_client_that_does_not_read_is_dropped_and_stalls_nobody() {
    const SEND_TIMEOUT: Duration = Duration::from_secs(2);
    const CALLS: u16 = 8;
    const TEXT: usize = 1000;
    let world = World::start_device(
        Faults::default(),
        Settings { send_timeout_ms: Some(SEND_TIMEOUT.as_millis()), ..Settings::default() },
    );
    let seen = world.run(LIMIT, |net| async move {
        // Room for every request it sends; little for the replies it does not read.
        let (mut rx, mut tx) = (vec![0u8; 512], vec![0u8; 16 * 1024]);
        let mut socket = TcpSocket::new(net.client, &mut rx, &mut tx);
        socket.connect(Net::daemon()).await.map_err(|e| format!("{e:?}"))?;
        write_all(&mut socket, &connect_frame()).await?;
        let (header, _) = read_message(&mut socket).await?;
        if header.kind != MessageKind::ConnectOk {
            return Err(format!("the handshake gave {:?}", header.kind));
        }
        let text = pattern(TEXT);
        for seq in 1..=CALLS {
            write_all(&mut socket, &echo_frame(seq, &text)).await?;
        }
        let stalled = Instant::now();

        // Meanwhile another client calls, and is answered all along.
        let mut storage = Storage::new();
        let mut p = connect(net, SerializerId::Serpent, TIMEOUT, &mut storage).await?;
        let (mut calls, mut within_timeout, mut slowest) = (0i64, 0, Duration::from_ticks(0));
        while stalled.elapsed() < SEND_TIMEOUT * 2 {
            let started = Instant::now();
            let sum = call::<i64, _>(&mut p, "add", &(calls, 1)).await?;
            if sum != calls + 1 {
                return Err(format!("add({calls}, 1) gave {sum}"));
            }
            slowest = slowest.max(started.elapsed());
            calls += 1;
            if stalled.elapsed() < SEND_TIMEOUT {
                within_timeout += 1;
            }
        }
        p.close().await;

        // Long after the send timeout the first client reads: what the daemon had handed to
        // the network before it gave up, then the end of the connection.
        let mut received = 0;
        let mut buf = [0u8; 512];
        let end = loop {
            match with_timeout(TIMEOUT, socket.read(&mut buf)).await {
                Ok(Ok(0)) => break "closed",
                Ok(Ok(n)) => received += n,
                Ok(Err(_)) => break "reset",
                Err(_) => break "still open",
            }
        };
        Ok::<_, String>((calls, within_timeout, slowest, received, end))
    });
    let (calls, within_timeout, slowest, received, end) = seen.expect("the scenario runs");
    let replies = usize::from(CALLS) * (TEXT + 40);
    eprintln!(
        "{calls} calls meanwhile ({within_timeout} while the stalled reply waited), the slowest {} ms; \
         the stalled client got {received} of over {replies} reply bytes, then {end}",
        slowest.as_millis()
    );
    // Answered while the daemon waited for the stalled client, and never held up as long as
    // the stalled reply was (a daemon blocked on it would answer nothing before its send
    // timeout).
    assert!(within_timeout >= 10, "{within_timeout} calls");
    assert!(slowest < SEND_TIMEOUT, "{slowest:?}");
    // The stalled connection was closed, its replies not sent.
    assert_ne!(end, "still open");
    assert!(received < replies, "{received} bytes");
}

/// Where the hand-written daemon of [`peer`] listens on the device's stack.
const PEER_PORT: u16 = 9998;

/// What [`peer`]'s object exposes, in its CONNECTOK.
const PEER_CONNECTOK: &[u8] =
    br#"{"handshake":"hello","meta":{"methods":["echo","slow","note","numbers"],"oneway":["note"],"attrs":["size"]}}"#;

/// The id of [`peer`]'s item stream.
const PEER_STREAM: &str = "5ee05ee0-0000-4000-8000-000000000001";

/// Pyro's json of `StopIteration()`.
const STOP_ITERATION: &[u8] =
    br#"{"__class__":"builtins.StopIteration","__exception__":true,"args":[],"attributes":{}}"#;

/// A whole json RESULT with `flags` and `annotations`.
fn result_frame(seq: u16, flags: Flags, annotations: &[Annotation<'_>], payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; payload.len() + 128];
    let message =
        OutgoingMessage { flags, annotations, ..OutgoingMessage::new(MessageKind::Result, SerializerId::Json, seq) };
    let len = wire::encode(&message, payload, &mut out, Limits::default()).expect("the message encodes");
    out.truncate(len);
    out
}

/// The part of an INVOKE the peer reads.
#[derive(Deserialize)]
struct Invoke {
    method: String,
    params: Vec<Value>,
}

/// A one-connection daemon written by hand on the device's stack (json only): it answers
/// the handshake with [`PEER_CONNECTOK`], logs every request it gets (method, oneway flag),
/// answers `echo(x)` with `x`, `__getattr__` with 7 and `__setattr__` with None, holds the
/// reply of `slow(x)` until the next request came (then answers both, in order), and
/// `numbers()` is an item stream of 1 and 2 (then `StopIteration` to every request). Returns
/// its log when the client closes.
async fn peer(net: Net) -> Result<Vec<(String, bool)>, String> {
    let (mut rx, mut tx) = (vec![0u8; 4096], vec![0u8; 4096]);
    let mut socket = TcpSocket::new(net.device, &mut rx, &mut tx);
    socket.accept(PEER_PORT).await.map_err(|e| format!("accept: {e:?}"))?;
    let (header, _) = read_message(&mut socket).await?;
    if header.kind != MessageKind::Connect {
        return Err(format!("the peer got {:?} first", header.kind));
    }
    write_all(&mut socket, &frame(MessageKind::ConnectOk, header.seq, PEER_CONNECTOK)).await?;
    let mut log = Vec::new();
    let mut held: Option<(u16, Vec<u8>)> = None;
    let mut streamed = 0;
    let to_json = |value: &Value| {
        let mut out = vec![0u8; 1024];
        let len = json::to_slice(value, &mut out).map_err(|e| format!("{e}"))?;
        out.truncate(len);
        Ok::<_, String>(out)
    };
    while let Ok((header, body)) = read_message(&mut socket).await {
        let data = body.get(usize::try_from(header.annotations_len).unwrap_or_default()..).unwrap_or_default();
        let invoke: Invoke = json::from_slice(data).map_err(|e| format!("a bad INVOKE: {e}"))?;
        let oneway = header.flags.contains(Flags::ONEWAY);
        log.push((invoke.method.clone(), oneway));
        if let Some((seq, late)) = held.take() {
            write_all(&mut socket, &frame(MessageKind::Result, seq, &late)).await?;
        }
        let first = invoke.params.first().cloned().unwrap_or(Value::None);
        match invoke.method.as_str() {
            "numbers" => {
                let stream = [Annotation { id: AnnotationId::STREAM, value: PEER_STREAM.as_bytes() }];
                write_all(&mut socket, &result_frame(header.seq, Flags::ITEM_STREAM_RESULT, &stream, b"null")).await?;
                streamed = 0;
                continue;
            }
            "get_next_stream_item" if streamed < 2 => {
                streamed += 1;
                write_all(&mut socket, &result_frame(header.seq, Flags::empty(), &[], streamed.to_string().as_bytes()))
                    .await?;
                continue;
            }
            "get_next_stream_item" => {
                write_all(&mut socket, &result_frame(header.seq, Flags::EXCEPTION, &[], STOP_ITERATION)).await?;
                continue;
            }
            _ => {}
        }
        let answer = match invoke.method.as_str() {
            "echo" => to_json(&first)?,
            "__getattr__" => b"7".to_vec(),
            "__setattr__" => b"null".to_vec(),
            "slow" => {
                held = Some((header.seq, to_json(&first)?));
                continue;
            }
            _ => b"null".to_vec(),
        };
        if !oneway {
            write_all(&mut socket, &frame(MessageKind::Result, header.seq, &answer)).await?;
        }
    }
    Ok(log)
}

/// Run `client` (given the client's stack) against [`peer`] in a world of its own: what
/// the client made of it, and the peer's log.
fn against_peer<T, F, Fut>(client: F) -> (T, Vec<(String, bool)>)
where
    T: Send + 'static,
    F: FnOnce(Stack<'static>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, String>> + 'static,
{
    let world = World::start(Faults::default());
    world
        .run(LIMIT, |net| async move {
            let (seen, log) = join(client(net.client), peer(net)).await;
            Ok::<_, String>((seen?, log?))
        })
        .expect("the peer scenario runs")
}

/// A json proxy of [`peer`]'s object.
async fn connect_peer<'s>(client: Stack<'static>, storage: &'s mut Storage) -> Result<Proxy<'s>, String> {
    let daemon = (support::world::DEVICE_IP, PEER_PORT);
    Proxy::connect(client, daemon, "peer", SerializerId::Json, TIMEOUT, storage).await.map_err(|e| show(&e))
}

/// What a proxy of [`peer`]'s object saw.
#[derive(Debug, PartialEq)]
struct Ruled {
    metadata: (Vec<String>, Vec<String>, Vec<String>),
    refused: Vec<String>,
    oneway_as_u32: String,
    noted_at_once: bool,
    size: i64,
    set: bool,
    slow: String,
    open_after_timeout: bool,
    after_timeout: String,
}

#[test]
fn the_objects_metadata_rules_the_calls_and_a_timeout_keeps_the_connection() {
    let (ruled, log) = against_peer(|client| async move {
        let mut storage = Storage::new();
        let mut p = connect_peer(client, &mut storage).await?;
        let names = |set: &pyro5_core::client::PackedNames<{ pyro5_embassy::METADATA_BYTES }>| {
            set.iter().map(str::to_string).collect::<Vec<_>>()
        };
        let meta = p.metadata();
        let metadata = (names(&meta.methods), names(&meta.oneway), names(&meta.attrs));
        let not_exposed = |outcome: Result<(), ProxyError<'_>>| match outcome {
            Err(e @ ProxyError::Protocol(ClientError::NotExposed)) => Ok(show(&e)),
            other => Err(format!("not refused: {:?}", other.map_err(|e| show(&e)))),
        };
        // Refused before anything is sent: the peer logs none of them.
        let refused = vec![
            not_exposed(p.call::<_, IgnoredAny>("shutdown", NO_ARGS).await.map(|_| ()))?,
            not_exposed(p.oneway("shutdown", NO_ARGS).await)?,
            not_exposed(p.call_stream("size", NO_ARGS).await.map(|_| ()))?,
            not_exposed(p.get_attr::<i64>("echo").await.map(|_| ()))?,
            not_exposed(p.set_attr("colour", &1).await)?,
        ];
        // Oneway by the metadata: no result but None, and nothing sent for a result type
        // that cannot be None.
        let oneway_as_u32 = match p.call::<_, u32>("note", &("typed",)).await {
            Err(e @ ProxyError::Oneway) => show(&e),
            other => return Err(format!("a oneway call read as u32: {:?}", other.map_err(|e| show(&e)))),
        };
        // The peer never answers `note`: a call waiting for it would time out.
        let started = Instant::now();
        let noted: Option<i64> = p.call("note", &("sent",)).await.map_err(|e| show(&e))?;
        let noted_at_once = noted.is_none() && started.elapsed() < Duration::from_millis(500);
        let size: i64 = p.get_attr("size").await.map_err(|e| show(&e))?;
        let set = p.set_attr("size", &9).await.is_ok();
        // The peer holds the reply of `slow` until the next request.
        p.set_timeout(Duration::from_millis(300));
        let slow = match p.call::<_, String>("slow", &("late",)).await {
            Err(e) => show(&e),
            Ok(v) => return Err(format!("slow answered {v}")),
        };
        let open_after_timeout = p.is_open();
        p.set_timeout(TIMEOUT);
        let after_timeout: String = p.call("echo", &("next",)).await.map_err(|e| show(&e))?;
        p.close().await;
        Ok::<_, String>(Ruled {
            metadata,
            refused,
            oneway_as_u32,
            noted_at_once,
            size,
            set,
            slow,
            open_after_timeout,
            after_timeout,
        })
    });
    eprintln!("{ruled:?}\n{log:?}");
    let strings = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
    assert_eq!(ruled.metadata, (strings(&["echo", "slow", "note", "numbers"]), strings(&["note"]), strings(&["size"])));
    assert_eq!(ruled.refused.len(), 5);
    for refused in &ruled.refused {
        assert!(refused.starts_with("builtins.AttributeError"), "{refused}");
    }
    assert!(ruled.oneway_as_u32.starts_with("Pyro5.errors.PyroError"), "{}", ruled.oneway_as_u32);
    assert!(ruled.noted_at_once, "{ruled:?}");
    assert_eq!((ruled.size, ruled.set), (7, true));
    assert!(ruled.slow.starts_with("Pyro5.errors.TimeoutError"), "{ruled:?}");
    assert!(ruled.open_after_timeout, "{ruled:?}");
    // The late reply of `slow` came first and was dropped.
    assert_eq!(ruled.after_timeout, "next");
    let sent = |method: &str, oneway: bool| (method.to_string(), oneway);
    assert_eq!(
        log,
        [
            sent("note", true),
            sent("__getattr__", false),
            sent("__setattr__", false),
            sent("slow", false),
            sent("echo", false)
        ]
    );
}

/// Wait (at most 2 s) until the daemon holds `streams` item streams.
async fn streams_become(probe: &support::device::Probe, streams: usize) -> bool {
    let until = Instant::now() + Duration::from_secs(2);
    while probe.streams() != streams {
        if Instant::now() > until {
            return false;
        }
        embassy_time::Timer::after_millis(5).await;
    }
    true
}

#[derive(Debug, PartialEq)]
struct Prefetched {
    /// The countdown read to its end at each prefetch.
    items: Vec<(usize, Vec<u32>)>,
    /// Closed after its first item: the item, and whether the daemon's slot was freed.
    closed_early: (Option<u32>, bool, bool),
    /// A call between two items of a stream read ahead, and what the stream said next.
    interleaved: (i64, String, bool),
    after: i64,
}

#[test]
fn streams_read_the_same_at_any_prefetch_and_close_early() {
    let world = World::start(Faults::default());
    let probe = world.probe.clone();
    let seen = world.run(LIMIT, move |net| async move {
        let mut storage = Storage::new();
        let mut p = connect(net, SerializerId::Serpent, TIMEOUT, &mut storage).await?;
        let mut items = Vec::new();
        for prefetch in [1, 2, 3, 8] {
            p.set_prefetch(prefetch);
            let mut stream = p.call_stream("countdown", NO_ARGS).await.map_err(|e| show(&e))?;
            let mut read = Vec::new();
            while let Some(item) = p.next_item::<u32>(&mut stream).await.map_err(|e| show(&e))? {
                read.push(item);
            }
            // Over: nothing more is asked.
            if p.next_item::<u32>(&mut stream).await.map_err(|e| show(&e))?.is_some() {
                return Err("an item after the end".to_string());
            }
            items.push((prefetch, read));
        }
        let ended = streams_become(&probe, 0).await;

        p.set_prefetch(3);
        let mut stream = p.call_stream("countdown", NO_ARGS).await.map_err(|e| show(&e))?;
        let first = p.next_item::<u32>(&mut stream).await.map_err(|e| show(&e))?;
        let held = streams_become(&probe, 1).await;
        p.close_stream(&mut stream).await.map_err(|e| show(&e))?;
        // Freed on the daemon with the connection still open.
        let freed = streams_become(&probe, 0).await && p.is_open();
        let closed_early = (first, held && ended, freed);

        p.set_prefetch(2);
        let mut stream = p.call_stream("countdown", NO_ARGS).await.map_err(|e| show(&e))?;
        p.next_item::<u32>(&mut stream).await.map_err(|e| show(&e))?;
        let sum = call::<i64, _>(&mut p, "add", &(20, 1)).await?;
        let next = match p.next_item::<u32>(&mut stream).await {
            Err(e) => show(&e),
            Ok(item) => format!("{item:?}"),
        };
        let interleaved = (sum, next, streams_become(&probe, 0).await);

        let after = call::<i64, _>(&mut p, "add", &(1, 2)).await?;
        p.close().await;
        Ok::<_, String>(Prefetched { items, closed_early, interleaved, after })
    });
    let seen = seen.expect("the stream scenario runs");
    eprintln!("{seen:?}");
    for (prefetch, items) in &seen.items {
        assert_eq!(items, &[30, 20, 10], "at prefetch {prefetch}");
    }
    assert_eq!(seen.closed_early, (Some(30), true, true));
    assert_eq!(seen.interleaved.0, 21);
    assert!(seen.interleaved.1.starts_with("Pyro5.errors.PyroError [the stream's items"), "{seen:?}");
    assert!(seen.interleaved.2, "the interrupted stream was not closed on the daemon");
    assert_eq!(seen.after, 3);
}

#[test]
fn a_stream_read_to_its_end_is_not_closed_and_one_left_early_is() {
    let (seen, log) = against_peer(|client| async move {
        let mut storage = Storage::new();
        let mut p = connect_peer(client, &mut storage).await?;
        p.set_prefetch(4);
        let mut stream = p.call_stream("numbers", NO_ARGS).await.map_err(|e| show(&e))?;
        let mut items = Vec::new();
        while let Some(item) = p.next_item::<u32>(&mut stream).await.map_err(|e| show(&e))? {
            items.push(item);
        }
        // The requests sent past the end were given up: the next call gets its own reply.
        let echoed: String = p.call("echo", &("after the end",)).await.map_err(|e| show(&e))?;
        let mut stream = p.call_stream("numbers", NO_ARGS).await.map_err(|e| show(&e))?;
        let first = p.next_item::<u32>(&mut stream).await.map_err(|e| show(&e))?;
        p.close_stream(&mut stream).await.map_err(|e| show(&e))?;
        let after_close = p.next_item::<u32>(&mut stream).await.map_err(|e| show(&e))?;
        let echoed_again: String = p.call("echo", &("after the close",)).await.map_err(|e| show(&e))?;
        p.close().await;
        Ok::<_, String>((items, echoed, first, after_close, echoed_again))
    });
    eprintln!("{seen:?}\n{log:?}");
    assert_eq!(seen, (vec![1, 2], "after the end".to_string(), Some(1), None, "after the close".to_string()));
    let methods: Vec<&str> = log.iter().map(|(m, _)| m.as_str()).collect();
    // Four requests ahead, then more as items are taken, until the end came.
    let first_read = &methods[..methods.iter().position(|m| *m == "echo").expect("an echo")];
    assert_eq!(first_read[0], "numbers");
    assert!(first_read[1..].iter().all(|m| *m == "get_next_stream_item"), "{methods:?}");
    assert!(first_read.len() > 4, "{methods:?}");
    // Closed once, oneway, and only the stream left early.
    let closes: Vec<&(String, bool)> = log.iter().filter(|(m, _)| m == "close_stream").collect();
    assert_eq!(closes, [&("close_stream".to_string(), true)], "{log:?}");
    assert_eq!(methods.last(), Some(&"echo"));
}

#[test]
fn metadata_larger_than_the_proxys_room_for_it_is_refused() {
    let (refused, log) = against_peer(|client| async move {
        let mut storage = Storage::new();
        let daemon = (support::world::DEVICE_IP, PEER_PORT);
        // "echo", "slow", "note" and "numbers" take 23 bytes.
        match Proxy::<'_, 16>::connect_sized(client, daemon, "peer", SerializerId::Json, TIMEOUT, &mut storage).await {
            Err(e) => Ok(show(&e)),
            Ok(_) => Err("23 bytes of names went into 16".to_string()),
        }
    });
    assert!(refused.contains("MetadataTooLarge"), "{refused}");
    assert_eq!(log, [], "nothing is called");
}
