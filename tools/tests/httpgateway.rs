//! `pyro5-httpgateway` against Python's `python -m Pyro5.utils.httpgateway`: both gateways
//! in front of the same Python name server and echo server, a table of requests sent to
//! each, and the answers compared: status, the headers that matter (Content-Type,
//! Access-Control-*, Location, X-Pyro-Correlation-Id), the body (json compared as values,
//! `$meta`'s name lists as sets; text exactly). More pairs: with a gateway key and Python's
//! default expose pattern; without a name server, then across its restart; in front of
//! Python's test object (the correlation id it sees, keyword arguments, custom exceptions);
//! with `-t 1` and a slow call. Then what only ours does: connections to an object kept
//! between requests, 20 slow calls at once in about the time of one, bad HTTP answered
//! 400/431 with the gateway serving on, a client too slow with its request head cut off.
//! Last, Pyro5's own example client (`examples/http/client.py`, port 8080 hard-coded) against
//! each gateway in turn, when port 8080 is free.

mod gateway_support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use gateway_support::{Answer, Gateway, PyroSide, Which, exchange, free_port, get, parse_answer, request};
use pyro5_interop_tests::python;
use serde_json::Value as Json;

const EXPOSE: &str = "Pyro.|test.";

/// One request: its head (request line and headers) and body.
struct Case {
    head: String,
    body: &'static [u8],
}

fn case(head: &str) -> Case {
    Case { head: head.to_string(), body: b"" }
}

/// `$meta`'s lists in a fixed order (Python's come in its set order).
fn normalized(json: Json) -> Json {
    match json {
        Json::Object(map) if map.contains_key("methods") && map.contains_key("attributes") => Json::Object(
            map.into_iter()
                .map(|(k, v)| match v {
                    Json::Array(mut items) => {
                        items.sort_by_key(|i| i.to_string());
                        (k, Json::Array(items))
                    }
                    other => (k, other),
                })
                .collect(),
        ),
        other => other,
    }
}

/// Whether `text` is a UUID as Python's `str(uuid)` writes it.
fn is_uuid(text: &str) -> bool {
    text.len() == 36
        && text.char_indices().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) { c == '-' } else { c.is_ascii_hexdigit() && !c.is_ascii_uppercase() }
        })
}

/// Compare the two answers to one request.
fn compare(what: &str, python: &Answer, ours: &Answer) {
    assert_eq!(python.status, ours.status, "{what}: status\npython: {python:?}\nours: {ours:?}");
    for header in [
        "content-type",
        "access-control-allow-origin",
        "access-control-allow-methods",
        "access-control-allow-headers",
        "location",
    ] {
        assert_eq!(python.header(header), ours.header(header), "{what}: {header}");
    }
    let id = "x-pyro-correlation-id";
    if what.contains("X-Pyro-Correlation-Id: ") {
        assert_eq!(python.header(id), ours.header(id), "{what}: the correlation id sent");
    } else {
        assert_eq!(python.header(id).is_some(), ours.header(id).is_some(), "{what}: a correlation id or none");
        if let Some(made) = ours.header(id) {
            assert!(is_uuid(made), "{what}: {made}");
            assert_eq!(&made[14..15], "4", "{what}: a version 4 UUID: {made}");
        }
    }
    let json = |a: &Answer| serde_json::from_slice::<Json>(&a.body).ok().map(normalized);
    match (python.header("content-type"), json(python), json(ours)) {
        (Some(t), Some(p), Some(o)) if t.starts_with("application/json") => assert_eq!(p, o, "{what}: json body"),
        _ => assert_eq!(python.text(), ours.text(), "{what}: body"),
    }
}

/// Send each case to both gateways and compare the answers.
fn compare_all(python: &Gateway, ours: &Gateway, cases: &[Case]) {
    for Case { head, body } in cases {
        let p = request(python.port, head, body);
        let o = request(ours.port, head, body);
        compare(head, &p, &o);
    }
}

fn with_port(lines: &[String], port: u16) -> Vec<String> {
    lines.iter().map(|l| l.replace(&port.to_string(), "PORT")).collect()
}

#[test]
fn answers_as_pythons_gateway() {
    let side = PyroSide::start();
    let closed = free_port();
    side.register("test.down", &format!("PYRO:test.down@127.0.0.1:{closed}"));
    let python = Gateway::start(Which::Python, side.ns_port, free_port(), &["-e", EXPOSE]);
    let ours = Gateway::start(Which::Ours, side.ns_port, free_port(), &["-e", EXPOSE]);
    assert_eq!(with_port(&python.startup, python.port), with_port(&ours.startup, ours.port), "startup lines");
    assert_eq!(
        ours.startup,
        vec![
            format!("Exposing objects with names matching:  {EXPOSE}"),
            format!("Connected to name server at:  {}", side.ns_uri),
            format!("Pyro HTTP gateway running on http://127.0.0.1:{}/pyro/", ours.port),
        ]
    );
    let echo = "/pyro/test.echoserver";
    let cases = vec![
        case("GET /pyro/Pyro.NameServer/list HTTP/1.1"),
        case("GET /pyro/Pyro.NameServer/list?prefix=test. HTTP/1.1"),
        case("GET /pyro/Pyro.NameServer/$meta HTTP/1.1"),
        case("GET /pyro/Pyro.NameServer/lookup?name=test.echoserver HTTP/1.1"),
        case(&format!("GET {echo}/$meta HTTP/1.1")),
        case(&format!("GET {echo}/echo?message=hello HTTP/1.1")),
        case(&format!("GET {echo}/echo?message=h%C3%A9llo+%E2%82%AC+%F0%9F%90%8D%00 HTTP/1.1")),
        case(&format!("GET {echo}/echo?message=a&message=b&blank=&bare HTTP/1.1")),
        case(&format!("GET {echo}/echo?message=%FF%FE HTTP/1.1")),
        case(&format!("GET {echo}/ech%6F?message=escaped HTTP/1.1")),
        case(&format!("GET /{echo}/echo?message=slashes HTTP/1.1")),
        case(&format!("GET {echo}/verbose HTTP/1.1")),
        case(&format!("GET {echo}/verbose?x=1 HTTP/1.1")),
        case(&format!("GET {echo}/error HTTP/1.1")),
        case(&format!("GET {echo}/error_with_text HTTP/1.1")),
        case(&format!("GET {echo}/echo HTTP/1.1")),
        case(&format!("GET {echo}/echo?message=x&$key=k HTTP/1.1")),
        case(&format!("GET {echo}/nope HTTP/1.1")),
        case(&format!("GET {echo}/_private HTTP/1.1")),
        case(&format!("GET {echo}/__dunder__ HTTP/1.1")),
        case(&format!("GET {echo}/echo/ HTTP/1.1")),
        case(&format!("GET {echo}/generator HTTP/1.1")),
        case(&format!("GET {echo}/oneway_echo?message=x HTTP/1.1")),
        case(&format!("GET {echo}/echo?message=x HTTP/1.1\r\nX-Pyro-Options: oneway")),
        case(&format!("GET {echo}/error HTTP/1.1\r\nX-Pyro-Options: oneway")),
        case(&format!("GET {echo}/verbose HTTP/1.1\r\nX-Pyro-Options: oneway")),
        case(&format!("GET {echo}/nope HTTP/1.1\r\nX-Pyro-Options: oneway")),
        case(&format!("GET {echo}/$meta HTTP/1.1\r\nX-Pyro-Options: oneway")),
        case(&format!("GET {echo}/echo?message=x HTTP/1.1\r\nX-Pyro-Options: other, oneway")),
        case(&format!(
            "GET {echo}/echo?message=x HTTP/1.1\r\nX-Pyro-Correlation-Id: 11112222-1111-2222-3333-222244449999"
        )),
        case(&format!(
            "GET {echo}/echo?message=x HTTP/1.1\r\nX-Pyro-Correlation-Id: {{AAAABBBB-1111-2222-3333-222244449999}}"
        )),
        case(&format!(
            "GET {echo}/echo?message=x HTTP/1.1\r\nX-Pyro-Correlation-Id: urn:uuid:aaaabbbb111122223333222244449999"
        )),
        case(&format!("GET {echo}/verbose HTTP/1.1\r\nX-Pyro-Correlation-Id: 11112222-1111-2222-3333-222244449999")),
        case(&format!("GET {echo}/echo?message=x HTTP/1.1\r\nX-Pyro-Correlation-Id: not-a-uuid")),
        case(&format!("GET {echo}/error HTTP/1.1\r\nX-Pyro-Correlation-Id: 11112222-1111-2222-3333-222244449999")),
        case(&format!("POST {echo}/echo?message=posted HTTP/1.1\r\nContent-Length: 0")),
        Case {
            head: format!(
                "POST {echo}/echo HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 13"
            ),
            body: b"message=hello",
        },
        case("GET /pyro/nope.thing/echo HTTP/1.1"),
        case("GET /pyro/xtest.echoserver/echo HTTP/1.1"),
        case("GET /pyro/test.unknown/echo HTTP/1.1"),
        case("GET /pyro/test.down/echo HTTP/1.1"),
        case("GET /elsewhere HTTP/1.1"),
        case("GET /pyro HTTP/1.1"),
        case("GET /pyro/justaname HTTP/1.1"),
        case("PUT /elsewhere HTTP/1.1\r\nContent-Length: 0"),
        case(&format!("PUT {echo}/echo HTTP/1.1\r\nContent-Length: 0")),
        case(&format!("DELETE {echo}/echo HTTP/1.1")),
        case(&format!("OPTIONS {echo}/echo HTTP/1.1")),
        case("OPTIONS /pyro/ HTTP/1.1"),
        case("GET / HTTP/1.1"),
        case("GET //// HTTP/1.1"),
        case("PUT / HTTP/1.1\r\nContent-Length: 0"),
    ];
    compare_all(&python, &ours, &cases);
    // A slow method (5 s) called oneway is answered at once.
    let started = Instant::now();
    compare_all(&python, &ours, &[case(&format!("GET {echo}/slow HTTP/1.1\r\nX-Pyro-Options: oneway"))]);
    assert!(started.elapsed() < Duration::from_secs(4), "oneway slow calls waited: {:?}", started.elapsed());

    // The index page: our own page, with the names and what they have.
    let (p, o) = (get(python.port, "/pyro/", &[]), get(ours.port, "/pyro/", &[]));
    assert_eq!((p.status, p.header("content-type")), (o.status, o.header("content-type")));
    let page = o.text();
    for expected in ["Pyro.NameServer", "test.echoserver", "test.down", "oneway_echo", "verbose", "lookup"] {
        assert!(page.contains(expected), "the index page names {expected}:\n{page}");
    }
}

/// Python's test object (`tests/python/proxy_test_server.py`) behind both gateways: the
/// correlation id reaches the object, keyword arguments arrive as strings, a custom
/// exception's attributes come through, and a method returning an iterator leaves no stream
/// open on the daemon.
#[test]
fn calls_reach_the_object_as_through_pythons_gateway() {
    let side = PyroSide::start();
    let object = pyro5_interop_tests::echo_daemon::PythonTestServer::start();
    side.register("test.object", &object.uri);
    let python = Gateway::start(Which::Python, side.ns_port, free_port(), &["-e", EXPOSE]);
    let ours = Gateway::start(Which::Ours, side.ns_port, free_port(), &["-e", EXPOSE]);
    let object = "/pyro/test.object";
    let cases = [
        format!("GET {object}/correlation HTTP/1.1\r\nX-Pyro-Correlation-Id: 11112222-1111-2222-3333-222244449999"),
        format!("GET {object}/describe?a=1&b=2&c=3&x=y&x=z HTTP/1.1"),
        format!("GET {object}/describe?a=%C3%A9&zz=%20 HTTP/1.1"),
        format!("GET {object}/add?a=1&b=2 HTTP/1.1"),
        format!("GET {object}/add?a=1 HTTP/1.1"),
        format!("GET {object}/fail?message=broken&code=7 HTTP/1.1"),
        format!("GET {object}/value HTTP/1.1"),
        format!("GET {object}/readonly HTTP/1.1"),
        format!("GET {object}/get_set HTTP/1.1"),
        format!("GET {object}/get_float HTTP/1.1"),
        format!("GET {object}/big?n=100000 HTTP/1.1"),
        format!("GET {object}/count?n=3 HTTP/1.1"),
        format!("GET {object}/record?value=r HTTP/1.1"),
        format!("GET {object}/$meta HTTP/1.1"),
    ];
    compare_all(&python, &ours, &cases.iter().map(|c| case(c)).collect::<Vec<_>>());
    // A correlation id made by the gateway is the one the object saw.
    for gateway in [&python, &ours] {
        let answer = get(gateway.port, &format!("{object}/correlation"), &[]);
        let made = answer.header("x-pyro-correlation-id").expect("a correlation id").replace('-', "");
        assert_eq!(answer.text(), format!("\"{made}\""), "{:?}", answer);
    }
    // A generator called through ours is closed on the daemon at once (Python's gateway
    // leaves it to linger for ITER_STREAM_LINGER seconds).
    let open_streams = || get(ours.port, &format!("{object}/stream_count"), &[]).text();
    let before = open_streams();
    assert_eq!(get(ours.port, &format!("{object}/count?n=3"), &[]).status, 500);
    let started = Instant::now();
    while open_streams() != before {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the stream stays open: {} (before: {before})",
            open_streams()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn answers_as_pythons_gateway_with_a_gateway_key() {
    let side = PyroSide::start();
    side.register("http.echo", &side.echo_uri);
    let key = ["-g", "sécret"];
    let python = Gateway::start(Which::Python, side.ns_port, free_port(), &key);
    let ours = Gateway::start(Which::Ours, side.ns_port, free_port(), &key);
    assert_eq!(with_port(&python.startup, python.port), with_port(&ours.startup, ours.port), "startup lines");
    let echo = "/pyro/http.echo/echo";
    let cases = [
        format!("GET {echo}?message=1 HTTP/1.1\r\nX-Pyro-Gateway-Key: secret"),
        format!("GET {echo}?message=1 HTTP/1.1"),
        format!("GET {echo}?message=1&$key=wrong HTTP/1.1"),
        format!("GET {echo}?message=1&$key=s%C3%A9cret HTTP/1.1"),
        format!("GET {echo}?message=1&%24key=s%C3%A9cret HTTP/1.1"),
        format!("GET {echo}?message=1&$key=s%C3%A9cret&$key=x HTTP/1.1"),
        format!("GET {echo}?message=1&$key=s%C3%A9cret HTTP/1.1\r\nX-Pyro-Gateway-Key: wrong"),
        format!("GET {echo}?message=1&$key=s%C3%A9cret HTTP/1.1\r\nX-Pyro-Gateway-Key: "),
        format!("GET {echo}?message=1 HTTP/1.1\r\nX-Pyro-Gateway-Key: sécret"),
        format!("GET {echo}?message=1&$key=s%C3%A9cret HTTP/1.1\r\nX-Pyro-Options: oneway"),
        "GET /pyro/test.echoserver/echo?message=1&$key=s%C3%A9cret HTTP/1.1".to_string(),
        "GET /pyro/http.unknown/echo?$key=s%C3%A9cret HTTP/1.1".to_string(),
        "GET /pyro/http.echo/echo?message=1 HTTP/1.1\r\nX-Pyro-Gateway-Key: x".to_string(),
        "GET /pyro/test.echoserver/echo?message=1 HTTP/1.1".to_string(),
        "OPTIONS /pyro/http.echo/echo HTTP/1.1".to_string(),
        "GET / HTTP/1.1".to_string(),
    ];
    let cases: Vec<Case> = cases.iter().map(|c| case(c)).collect();
    compare_all(&python, &ours, &cases);
    // The index page asks for no key.
    let (p, o) = (get(python.port, "/pyro/", &[]), get(ours.port, "/pyro/", &[]));
    assert_eq!((p.status, p.header("content-type")), (o.status, o.header("content-type")));
    assert!(o.text().contains("http.echo"));
}

#[test]
fn answers_as_pythons_gateway_without_a_name_server_and_after_it_restarted() {
    let ns_port = free_port();
    // Broadcast lookups go to a loopback port where nothing answers.
    let env = [("PYRO_BROADCAST_ADDRS", "127.0.0.1".to_string()), ("PYRO_NS_BCPORT", free_port().to_string())];
    let python = Gateway::start_with_env(Which::Python, ns_port, free_port(), &["-e", EXPOSE], &env);
    let ours = Gateway::start_with_env(Which::Ours, ns_port, free_port(), &["-e", EXPOSE], &env);
    assert_eq!(with_port(&python.startup, python.port), with_port(&ours.startup, ours.port), "startup lines");
    assert_eq!(ours.startup[1], "Not yet connected to a name server.");
    let cases = [
        "GET /pyro/Pyro.NameServer/ping HTTP/1.1",
        "GET /pyro/ HTTP/1.1",
        "GET /pyro/nope.x/ping HTTP/1.1",
        "GET / HTTP/1.1",
    ];
    compare_all(&python, &ours, &cases.map(case));
    // A name server comes, goes and comes back on the same port: each gateway finds it
    // again.
    let ping = [case("GET /pyro/Pyro.NameServer/ping HTTP/1.1")];
    let (first, _) = gateway_support::python_name_server(ns_port);
    compare_all(&python, &ours, &ping);
    assert_eq!(get(ours.port, "/pyro/Pyro.NameServer/ping", &[]).status, 200);
    drop(first);
    let (_second, _) = gateway_support::python_name_server(ns_port);
    compare_all(&python, &ours, &ping);
    assert_eq!(get(ours.port, "/pyro/Pyro.NameServer/ping", &[]).text(), "null");
}

/// How many established TCP connections have local port `port` (Linux's `/proc/net/tcp*`):
/// a server's side of its clients' connections.
#[cfg(target_os = "linux")]
fn established_to(port: u16) -> usize {
    let local = format!(":{port:04X}");
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|file| std::fs::read_to_string(file).ok())
        .flat_map(|table| table.lines().skip(1).map(str::to_string).collect::<Vec<_>>())
        .filter(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            fields.get(1).is_some_and(|l| l.ends_with(&local)) && fields.get(3) == Some(&"01")
        })
        .count()
}

/// Python's gateway connects to the object anew for each request; ours keeps one connection
/// for requests that come one after the other, and gives up no more than its pool holds.
#[cfg(target_os = "linux")]
#[test]
fn connections_to_an_object_are_kept_between_requests() {
    let side = PyroSide::start();
    let echo_port: u16 = side.echo_uri.rsplit(':').next().and_then(|p| p.parse().ok()).expect("a port");
    let python = Gateway::start(Which::Python, side.ns_port, free_port(), &["-e", EXPOSE]);
    let ours = Gateway::start(Which::Ours, side.ns_port, free_port(), &["-e", EXPOSE]);
    for _ in 0..5 {
        assert_eq!(get(python.port, "/pyro/test.echoserver/echo?message=x", &[]).status, 200);
    }
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(established_to(echo_port), 0, "Python's gateway keeps no connection");
    for i in 0..5 {
        assert_eq!(get(ours.port, "/pyro/test.echoserver/echo?message=x", &[]).status, 200);
        assert_eq!(established_to(echo_port), 1, "after request {i}");
    }
    // A oneway call's connection is closed after it (the daemon may still be running it).
    assert_eq!(get(ours.port, "/pyro/test.echoserver/oneway_echo?message=x", &[]).status, 200);
    let started = Instant::now();
    while established_to(echo_port) != 0 {
        assert!(started.elapsed() < Duration::from_secs(5), "the oneway call's connection stays open");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_call_past_the_timeout_fails_as_through_pythons_gateway() {
    let side = PyroSide::start_with_our_echo_server();
    let python = Gateway::start(Which::Python, side.ns_port, free_port(), &["-e", EXPOSE, "-t", "1"]);
    let ours = Gateway::start(Which::Ours, side.ns_port, free_port(), &["-e", EXPOSE, "-t", "1"]);
    let started = Instant::now();
    let cases = [
        "GET /pyro/test.echoserver/slow HTTP/1.1",
        "GET /pyro/test.echoserver/echo?message=after HTTP/1.1",
        "GET /pyro/test.echoserver/slow HTTP/1.1\r\nX-Pyro-Options: oneway",
    ];
    compare_all(&python, &ours, &cases.map(case));
    let answer = get(ours.port, "/pyro/test.echoserver/slow", &[]);
    assert_eq!((answer.status, answer.text().contains("Pyro5.errors.TimeoutError")), (500, true), "{answer:?}");
    // Three calls cut off after 1 s each, not three of 5 s.
    assert!(started.elapsed() < Duration::from_secs(12), "took {:?}", started.elapsed());
}

#[test]
fn serves_slow_calls_side_by_side() {
    // Python's echo server runs one call at a time (a multiplex server): ours, with a thread
    // per connection, is behind the name here.
    let side = PyroSide::start_with_our_echo_server();
    let ours = Gateway::start(Which::Ours, side.ns_port, free_port(), &["-e", EXPOSE]);
    let port = ours.port;
    // The echo server's `slow` takes 5 s: 20 of them at once take about one.
    let started = Instant::now();
    let calls: Vec<_> =
        (0..20).map(|_| std::thread::spawn(move || get(port, "/pyro/test.echoserver/slow", &[]))).collect();
    for call in calls {
        let answer = call.join().expect("a client thread");
        assert_eq!((answer.status, answer.text().as_str()), (200, "\"Finally, an answer!\""));
    }
    let took = started.elapsed();
    println!("20 slow calls at once took {took:?}");
    assert!(took < Duration::from_secs(9), "20 slow calls took {took:?}");
    // Each had its own connection, given back to the pool (which keeps 16 at most): the next
    // call is answered at once.
    #[cfg(target_os = "linux")]
    {
        let echo_port: u16 = side.echo_uri.rsplit(':').next().and_then(|p| p.parse().ok()).expect("a port");
        // The connections past the pool's 16 are closed by the proxies' own tasks, which
        // may finish just after the answers went out.
        let deadline = Instant::now() + Duration::from_secs(3);
        let mut kept = established_to(echo_port);
        while !(1..=16).contains(&kept) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
            kept = established_to(echo_port);
        }
        assert!((1..=16).contains(&kept), "{kept} connections kept");
    }
    let started = Instant::now();
    assert_eq!(get(port, "/pyro/test.echoserver/echo?message=after", &[]).text(), "\"after\"");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn bad_http_is_answered_and_the_gateway_goes_on() {
    let side = PyroSide::start();
    let ours = Gateway::start(Which::Ours, side.ns_port, free_port(), &["-e", EXPOSE, "--header-timeout", "1"]);
    let port = ours.port;
    let status = |raw: &[u8]| parse_answer(raw).map(|a| a.status);
    let works = || {
        let answer = get(port, "/pyro/test.echoserver/echo?message=still", &[]);
        assert_eq!((answer.status, answer.text().as_str()), (200, "\"still\""));
    };
    assert_eq!(status(&exchange(port, b"GARBAGE\r\n\r\n", b"")), Some(400));
    assert_eq!(status(&exchange(port, b"GET /pyro/ HTTP/9.9\r\n\r\n", b"")), Some(400));
    assert_eq!(status(&exchange(port, b"\x00\xff\xfe binary \r\n\r\n", b"")), Some(400));
    // Bytes past ASCII in the path are taken as they are (as Python's server does).
    assert_eq!(status(&exchange(port, b"GET /pyro/\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n", b"")), Some(404));
    assert_eq!(status(&exchange(port, b"GET / HTTP/1.1\r\nBad Header\r\n\r\n", b"")), Some(400));
    works();
    let big = format!("GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n", "a".repeat(100_000));
    assert_eq!(status(&exchange(port, big.as_bytes(), b"")), Some(431));
    let many: String = (0..150).map(|i| format!("X-H{i}: v\r\n")).collect();
    assert_eq!(status(&exchange(port, format!("GET / HTTP/1.1\r\nHost: x\r\n{many}\r\n").as_bytes(), b"")), Some(431));
    let long = format!("GET /pyro/{} HTTP/1.1\r\nHost: x\r\n\r\n", "x".repeat(100_000));
    assert!(matches!(status(&exchange(port, long.as_bytes(), b"")), Some(414 | 431)));
    works();
    // A request head that never ends is cut off after the header timeout.
    let started = Instant::now();
    let raw = exchange(port, b"GET /pyro/ HTTP/1.1\r\nHost: x\r\n", b"");
    assert!(started.elapsed() < Duration::from_secs(10), "cut off after {:?}", started.elapsed());
    assert!(!raw.starts_with(b"HTTP/1.1 200"));
    // A client that goes away mid-request.
    drop(std::net::TcpStream::connect(("127.0.0.1", port)).map(|mut s| std::io::Write::write_all(&mut s, b"GET /py")));
    works();
}

/// Pyro5's `examples/` folder (PYRO5_EXAMPLES, or fetched by `scripts/pyro5-examples`);
/// `None` with the reason printed.
fn examples_dir() -> Option<&'static Path> {
    pyro5_interop_tests::pyro5_examples_dir()
}

/// The example client's output with the `META` section's names sorted (Python's gateway
/// lists them in its set order).
fn client_output(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut meta = Vec::new();
    let mut in_meta = false;
    for line in text.lines() {
        if line.ends_with("--->") {
            in_meta = line == "META--->";
            out.push(line.to_string());
        } else if in_meta {
            meta.extend(line.split('\'').skip(1).step_by(2).map(str::to_string));
        } else {
            out.push(line.to_string());
        }
    }
    meta.sort();
    out.push(format!("META names: {meta:?}"));
    out
}

#[test]
fn pyro5s_example_client_prints_the_same_with_either_gateway() {
    let Some(examples) = examples_dir() else { return };
    let client = examples.join("http/client.py");
    assert!(client.is_file(), "{} is missing", client.display());
    let side = PyroSide::start();
    let mut outputs = Vec::new();
    for which in [Which::Python, Which::Ours] {
        if std::net::TcpListener::bind("127.0.0.1:8080").is_err() {
            println!("SKIPPED: the example client against the gateways: port 8080 is in use");
            return;
        }
        let _gateway = Gateway::start(which, side.ns_port, 8080, &["-e", EXPOSE]);
        let out = Command::new(python()).arg(&client).env("PYTHONUNBUFFERED", "1").output().expect("run the client");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{which:?}: the client failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("Finally, an answer!"), "{which:?}:\n{stdout}");
        outputs.push(client_output(&stdout));
    }
    assert_eq!(outputs[0], outputs[1], "the client's output with Python's gateway, then ours");
}
