//! Pyro5's `nonameserver` example: two `QuoteGen` objects in a daemon without a name
//! server, one under a generated id and one as `example.quotegen`, printing both URIs for
//! the client to use. A quote is what the `fortune` program prints, or a note that the
//! system has none.

use std::process::{Command, Stdio};

use pyro5_examples::daemon;
use pyro5_std::expose;

struct QuoteGen;

#[expose(class = "__main__.QuoteGen")]
impl QuoteGen {
    fn quote(&self) -> String {
        // As Python's `os.popen('fortune').read()`: its output, empty when it is missing.
        let out = Command::new("fortune").stdin(Stdio::null()).stderr(Stdio::inherit()).output();
        match out {
            Ok(out) if !out.stdout.is_empty() => String::from_utf8_lossy(&out.stdout).into_owned(),
            _ => "This system cannot provide you a good fortune, install 'fortune'".to_string(),
        }
    }
}

fn main() -> pyro5_examples::Result {
    let daemon = daemon()?;
    // Let the daemon pick a unique id for one, give the other a logical name.
    let uri1 = daemon.register(QuoteGen, None)?;
    let uri2 = daemon.register(QuoteGen, Some("example.quotegen"))?;
    println!("QuoteGen is ready, not using the Name Server.");
    println!("You can use the following two URIs to connect to me:");
    println!("{uri1}");
    println!("{uri2}");
    daemon.request_loop()?;
    Ok(())
}
