//! Decode Pyro5 wire messages given in hex and print their fields.
//!
//! `pyro5-decode 5059524f01f6...` (several messages back to back are fine), or the hex on
//! standard input. Exits with 1 on input that is not a whole, valid Pyro5 message, saying why.

use std::io::Read;
use std::process::ExitCode;

use clap::Parser;
use pyro5_std::core::limits::Limits;
use pyro5_std::core::wire::{Decoder, Progress};

/// Decode Pyro5 (protocol 502) wire messages given in hex.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// The message bytes in hex (spaces and newlines allowed). Read from stdin when absent.
    hex: Vec<String>,
    /// Largest annotations + payload size accepted, as Pyro's MAX_MESSAGE_SIZE.
    #[arg(long, default_value_t = pyro5_std::core::limits::DEFAULT_MAX_MESSAGE_SIZE)]
    max_message_size: u32,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let text = if args.hex.is_empty() {
        let mut s = String::new();
        if let Err(e) = std::io::stdin().read_to_string(&mut s) {
            eprintln!("pyro5-decode: cannot read standard input: {e}");
            return ExitCode::from(2);
        }
        s
    } else {
        args.hex.join("")
    };
    let bytes = match parse_hex(&text) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("pyro5-decode: {e}");
            return ExitCode::from(2);
        }
    };
    if bytes.is_empty() {
        eprintln!("pyro5-decode: no bytes given: pass a message in hex, e.g. the output of `xxd -p`");
        return ExitCode::from(2);
    }
    let mut decoder = Decoder::new(Vec::new(), Limits::with_max_message_size(args.max_message_size));
    let mut rest = &bytes[..];
    let mut offset = 0;
    while !rest.is_empty() {
        match decoder.feed(rest) {
            Ok(Progress::Complete { consumed }) => {
                if let Some(m) = decoder.message() {
                    print!("message at byte {offset}: {}", pyro5_std::describe(&m));
                }
                rest = &rest[consumed..];
                offset += consumed;
            }
            Ok(Progress::NeedMore) => {
                eprintln!(
                    "pyro5-decode: incomplete message at byte {offset}: {} bytes given, the header announces more",
                    rest.len()
                );
                return ExitCode::FAILURE;
            }
            Err(e) => {
                eprintln!("pyro5-decode: message at byte {offset}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}

/// Bytes from hex text; whitespace and an optional `0x` prefix are ignored.
fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<u8> = text.trim().trim_start_matches("0x").bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if digits.len() % 2 != 0 {
        return Err(format!("odd number of hex digits ({}): each byte needs two", digits.len()));
    }
    digits
        .chunks(2)
        .enumerate()
        .map(|(i, pair)| {
            let s = std::str::from_utf8(pair).unwrap_or("??");
            u8::from_str_radix(s, 16).map_err(|_| format!("not hex at digit {}: {s:?}", i * 2))
        })
        .collect()
}
