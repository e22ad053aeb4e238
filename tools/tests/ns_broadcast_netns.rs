//! Broadcast discovery in a network namespace of its own (needs root, as in CI; skipped with
//! a printed reason elsewhere): `pyro5-ns` on a veth address answers `GET_NSURI`, and both
//! Python's `locate_ns()` and our `pyro5-nsc` find it by broadcast alone (nothing listens
//! where they look first, on localhost), with its default server type and with
//! `--servertype tokio`.

use std::time::{Duration, Instant};

use pyro5_interop_tests::netns::{Namespace, is_root};
use pyro5_interop_tests::python;

fn namespace() -> Result<Namespace, String> {
    let ns = Namespace::create("pyro5rs-bc")?;
    ns.add_veth(("veth0", "10.77.0.1/24"), ("veth1", "10.77.0.2/24"))?;
    // Python sends to 255.255.255.255 too, which needs a route.
    ns.ip(&["route", "add", "default", "dev", "veth0"])?;
    Ok(ns)
}

#[test]
fn python_and_rust_find_pyro5_ns_by_broadcast_in_a_namespace() {
    if !is_root() {
        println!("skipped: creating a network namespace needs root (CI runs as root)");
        return;
    }
    // Its default server type (SERVERTYPE), and pyro5-tokio's daemon.
    for server_type in [None, Some("tokio")] {
        let mut ns = match namespace() {
            Ok(ns) => ns,
            Err(e) => {
                println!("skipped: no network namespace with a veth pair here: {e}");
                return;
            }
        };
        let mut server = ns.command(env!("CARGO_BIN_EXE_pyro5-ns"));
        server.args(["-n", "10.77.0.1"]);
        if let Some(server_type) = server_type {
            server.args(["--servertype", server_type]);
        }
        ns.spawn(server).expect("start pyro5-ns in the namespace");
        // Python's locate_ns(): localhost first (nothing there), then broadcast.
        let script = "import Pyro5.api\nns = Pyro5.api.locate_ns()\nprint(ns._pyroUri)\nprint(ns.count())";
        let deadline = Instant::now() + Duration::from_secs(10);
        let out = loop {
            let out = ns.command(python()).args(["-c", script]).output().expect("python");
            if out.status.success() || Instant::now() > deadline {
                break out;
            }
            std::thread::sleep(Duration::from_millis(200));
        };
        assert!(out.status.success(), "{server_type:?}: python locate_ns: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(String::from_utf8_lossy(&out.stdout), "PYRO:Pyro.NameServer@10.77.0.1:9090\n1\n", "{server_type:?}");
        // Our client side: pyro5-nsc with no host does the same search.
        let out = ns.command(env!("CARGO_BIN_EXE_pyro5-nsc")).arg("ping").output().expect("pyro5-nsc");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "Name server ping ok.\n", "{server_type:?}: {out:?}");
    }
}
