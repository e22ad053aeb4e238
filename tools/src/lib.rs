//! `pyro5-tools`: Pyro5's command-line tools in Rust, each with the options and output of
//! the Python tool it stands for.
//!
//! | Program | Python's | What it does |
//! |---|---|---|
//! | `pyro5-echoserver` | `python -m Pyro5.utils.echoserver` | the test echo server (`-n`/`-N`: with a name server) |
//! | `pyro5-ns` | `python -m Pyro5.nameserver` | the name server (memory or `sql:file` storage, broadcast responder, autoclean) |
//! | `pyro5-nsc` | `python -m Pyro5.nsc` | name server commands (`list`, `lookup`, `register`, `remove`, `ping`, ...) |
//! | `pyro5-call` | | call any Pyro object from the shell, Python literals in and out |
//! | `pyro5-decode` | | decode Pyro wire messages given in hex |
//! | `pyro5-check-config` | `python -m Pyro5.configure` | the configuration the `PYRO_*` variables make |
//!
//! Every tool reads the `PYRO_*` configuration as Python's do (see
//! [`pyro5_std::config::tool_setup`]).
//!
//! Running them from a checkout (or `cargo install pyro5-tools` and drop the `cargo run`
//! part):
//!
//! ```text
//! $ cargo run --release -p pyro5-tools --bin pyro5-echoserver -- -N
//! Starting Pyro's built-in test echo server.
//! object name: test.echoserver
//! echo uri: PYRO:test.echoserver@localhost:36789
//! echoserver running.
//!
//! $ cargo run --release -p pyro5-tools --bin pyro5-call -- PYRONAME:test.echoserver echo --arg "[1, 'two']"
//! [1, 'two']
//! $ cargo run --release -p pyro5-tools --bin pyro5-nsc -- list
//! --------START LIST
//! Pyro.NameServer --> PYRO:Pyro.NameServer@localhost:9090
//!     metadata: {'class:Pyro5.nameserver.NameServer'}
//! test.echoserver --> PYRO:test.echoserver@localhost:36789
//! --------END LIST
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
