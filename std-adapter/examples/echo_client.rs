//! Call an echo server (Python's `python -m Pyro5.utils.echoserver` or `pyro5-echoserver`):
//! `cargo run -p pyro5-std --example echo_client -- PYRO:test.echoserver@localhost:9999`

use pyro5_std::core::ser::value::Value;
use pyro5_std::{Proxy, ProxyError};

fn main() -> Result<(), ProxyError> {
    let uri = std::env::args().nth(1).unwrap_or_else(|| "PYRO:test.echoserver@localhost:9999".into());
    for serializer in ["serpent", "json", "marshal", "msgpack"] {
        let mut echo = Proxy::new(&uri)?;
        echo.set_serializer(serializer.parse().map_err(ProxyError::Uri)?);
        let back: (String, i64, Vec<f64>) = echo.call("echo", (("hello", 42, vec![1.5, 2.5]),))?;
        println!("{serializer}: echo -> {back:?}");
        match echo.call::<Value, _>("error", ()) {
            Err(ProxyError::Remote(e)) => {
                println!("{serializer}: error -> {e} ({} traceback lines)", e.traceback.len())
            }
            other => println!("{serializer}: error -> unexpected {other:?}"),
        }
        let items: Vec<Value> = echo.call_iter("generator", ())?.collect::<Result<_, _>>()?;
        println!("{serializer}: generator -> {items:?}");
        if serializer != "marshal" {
            let verbose: bool = echo.get_attr("verbose")?;
            println!("{serializer}: verbose -> {verbose}");
        }
        let mut batch = echo.batch();
        batch.call("echo", vec![Value::Int(1)], vec![]).call("error", vec![], vec![]).call(
            "echo",
            vec![Value::Int(2)],
            vec![],
        );
        println!("{serializer}: batch -> {:?}", batch.run().map(|r| r.len()));
        let _: Value = echo.call("oneway_echo", ("fire and forget",))?;
        echo.ping()?;
    }
    Ok(())
}
