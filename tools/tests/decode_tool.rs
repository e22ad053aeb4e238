//! The `pyro5-decode` tool: recorded Pyro5 messages decode, bad input is refused clearly.

use std::process::Command;

fn decode(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_pyro5-decode")).args(args).output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn a_recorded_message_with_annotations_is_described() {
    let frame = include_bytes!("../../testdata/messages/annotations_custom.bin");
    let (ok, out, err) = decode(&[&hex(frame)]);
    assert!(ok, "{err}");
    assert!(out.starts_with("message at byte 0: INVOKE serializer=serpent flags=(empty) seq=3"), "{out}");
    assert!(out.contains("annotation XYZZ: \"hello\""), "{out}");
    assert!(out.contains("annotation ABCD: \"\\0\\u{1}\\u{2}\""), "{out}");
    assert!(out.contains("payload (2 bytes): \"{}\""), "{out}");
}

#[test]
fn back_to_back_and_compressed_messages_are_decoded() {
    let a = include_bytes!("../../testdata/messages/ping_request.bin");
    let b = include_bytes!("../../testdata/messages/compressed_serpent.bin");
    let (ok, out, err) = decode(&[&hex(a), &hex(b)]);
    assert!(ok, "{err}");
    assert!(out.contains("message at byte 0: PING serializer=42"), "{out}");
    assert!(out.contains(&format!("message at byte {}: RESULT serializer=serpent", a.len())), "{out}");
    assert!(out.contains("payload (228 bytes): \"# serpent utf-8 python3.2\\n'AAAA"), "{out}");
}

#[test]
fn bad_input_is_refused_with_the_reason() {
    let (ok, _, err) = decode(&["zz"]);
    assert!(!ok && err.contains("not hex at digit 0"), "{err}");
    let (ok, _, err) = decode(&["123"]);
    assert!(!ok && err.contains("odd number of hex digits"), "{err}");
    let (ok, _, err) = decode(&[&hex(b"GET / HTTP/1.1\r\n\r\n")]);
    assert!(!ok && err.contains("does not start with PYRO"), "{err}");
    let frame = include_bytes!("../../testdata/messages/annotations_custom.bin");
    let (ok, _, err) = decode(&[&hex(&frame[..50])]);
    assert!(!ok && err.contains("incomplete message at byte 0"), "{err}");
    let (ok, _, err) = decode(&["--max-message-size", "4", &hex(frame)]);
    assert!(!ok && err.contains("exceed max_message_size (4)"), "{err}");
}
