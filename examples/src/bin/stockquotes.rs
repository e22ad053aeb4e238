//! Pyro5's `stockquotes` example, phase 3: `stockmarket.py`, two `StockMarket` objects
//! (NASDAQ and NYSE) with their name and symbols as properties and an endless stream of
//! quotes (`(symbol, price)`, up to half a second apart), served on 127.0.0.1 port 9092 and
//! registered in the name server as `example.stockmarket.nasdaq` and
//! `example.stockmarket.newyork`. The viewer (`viewer.py`) finds them there.

use std::thread;
use std::time::Duration;

use pyro5_std::locate::locate_ns;
use pyro5_std::{Config, Daemon, DaemonConfig, expose};

/// Where the markets are served (`HOST_IP` and `HOST_PORT` in Python's example).
const HOST_IP: &str = "127.0.0.1";
const HOST_PORT: u16 = 9092;

struct StockMarket {
    name: String,
    symbols: Vec<String>,
}

impl StockMarket {
    fn new(name: &str, symbols: &[&str]) -> Self {
        Self { name: name.to_string(), symbols: symbols.iter().map(|s| s.to_string()).collect() }
    }
}

#[expose(class = "stockmarket.StockMarket")]
impl StockMarket {
    /// Quotes of random symbols at random prices (5 to 150, two decimals), for ever.
    fn quotes(&self) -> impl Iterator<Item = (String, f64)> {
        let symbols = self.symbols.clone();
        let mut first = true;
        std::iter::from_fn(move || {
            if !first {
                thread::sleep(Duration::from_secs_f64(fastrand::f64() / 2.0));
            }
            first = false;
            let symbol = symbols.get(fastrand::usize(..symbols.len()))?.clone();
            Some((symbol, ((5.0 + fastrand::f64() * 145.0) * 100.0).round() / 100.0))
        })
    }

    #[getter]
    fn name(&self) -> String {
        self.name.clone()
    }

    #[getter]
    fn symbols(&self) -> Vec<String> {
        self.symbols.clone()
    }
}

fn main() -> pyro5_examples::Result {
    let nasdaq = StockMarket::new("NASDAQ", &["AAPL", "CSCO", "MSFT", "GOOG"]);
    let newyork = StockMarket::new("NYSE", &["IBM", "HPQ", "BP"]);
    let config = DaemonConfig { host: HOST_IP.into(), port: HOST_PORT, ..DaemonConfig::from(&Config::from_env()?) };
    let daemon = Daemon::new(config)?;
    let nasdaq_uri = daemon.register(nasdaq, None)?;
    let newyork_uri = daemon.register(newyork, None)?;
    let mut ns = locate_ns(None, None)?;
    ns.register("example.stockmarket.nasdaq", &nasdaq_uri, false)?;
    ns.register("example.stockmarket.newyork", &newyork_uri, false)?;
    drop(ns);
    println!("Stockmarkets available.");
    daemon.request_loop()?;
    Ok(())
}
