//! Every frame recorded from the real Pyro5 (`testdata/`) decodes to exactly the fields
//! Pyro5 wrote, and the encoder reproduces Pyro5's bytes. Runs with and without `alloc`.

use std::path::PathBuf;

use pyro5_core::limits::Limits;
use pyro5_core::wire::{
    Annotation, AnnotationId, DecodeError, Decoder, Flags, HEADER_LEN, Header, HeaderError, MessageKind,
    OutgoingMessage, Progress, SerializerId, encode,
};
use serde_json::Value;

fn vectors() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata"))
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn read_json(path: PathBuf) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Every recorded frame: (where it came from, its bytes, Pyro5's parsed fields).
fn recorded_frames() -> Vec<(String, Vec<u8>, Value)> {
    let index = read_json(vectors().join("index.json"));
    let mut frames = Vec::new();
    for m in index["messages"].as_array().unwrap() {
        let file = std::fs::read(vectors().join(m["file"].as_str().unwrap())).unwrap();
        assert_eq!(hex(&file), m["hex"].as_str().unwrap());
        frames.push((m["id"].as_str().unwrap().to_string(), file, m["frame"].clone()));
    }
    for c in index["conversations"].as_array().unwrap() {
        let conv = read_json(vectors().join(c["file"].as_str().unwrap()));
        for e in conv["events"].as_array().unwrap() {
            if let (Some(h), Some(frame)) = (e["hex"].as_str(), e.get("frame")) {
                frames.push((format!("{}#{}", conv["name"].as_str().unwrap(), e["n"]), unhex(h), frame.clone()));
            }
        }
    }
    assert!(frames.len() > 500, "only {} frames found", frames.len());
    frames
}

/// What is wrong with a recorded frame that Pyro5 refuses, if anything.
fn expected_error(frame: &Value, bytes: &[u8]) -> Option<&'static str> {
    if frame["version"] != 502 {
        return Some("version");
    }
    if frame["magic"] != "0x4dc5" {
        return Some("magic");
    }
    let body = frame["data_size"].as_u64().unwrap() + frame["annotations_size"].as_u64().unwrap();
    if body > 1 << 30 {
        return Some("too large");
    }
    if (bytes.len() as u64) < HEADER_LEN as u64 + body {
        return Some("truncated");
    }
    if frame.get("payload_decompress_error").is_some() {
        return Some("zlib");
    }
    let chunks: u64 = frame["annotations"].as_array().unwrap().iter().map(|a| 8 + a["length"].as_u64().unwrap()).sum();
    (chunks != frame["annotations_size"].as_u64().unwrap()).then_some("annotations")
}

#[test]
fn every_recorded_frame_decodes_to_pyro5s_fields_and_reencodes_byte_for_byte() {
    let mut checked = 0;
    let mut refused = 0;
    for (name, bytes, frame) in recorded_frames() {
        let expected_error = expected_error(&frame, &bytes);
        for chunk in [bytes.len().max(1), 7, 1] {
            let mut storage = vec![0u8; 64 * 1024];
            let mut decoder = Decoder::new(&mut storage[..], Limits::default());
            let mut outcome = Ok(Progress::NeedMore);
            for piece in bytes.chunks(chunk) {
                outcome = decoder.feed(piece);
                if !matches!(outcome, Ok(Progress::NeedMore)) {
                    break;
                }
            }
            match (expected_error, outcome) {
                (None, Ok(Progress::Complete { .. })) => {}
                (Some("zlib"), Ok(Progress::Complete { .. })) if !cfg!(feature = "alloc") => {}
                (Some("truncated"), Ok(Progress::NeedMore))
                | (Some("version"), Err(DecodeError::Header(HeaderError::BadVersion(_))))
                | (Some("magic"), Err(DecodeError::Header(HeaderError::BadMagic(_))))
                | (Some("too large"), Err(DecodeError::TooLarge { .. }))
                | (Some("annotations"), Err(DecodeError::Annotations(_))) => {
                    refused += 1;
                    continue;
                }
                (Some("zlib"), Err(DecodeError::Compression(_))) if cfg!(feature = "alloc") => {
                    refused += 1;
                    continue;
                }
                (want, got) => panic!("{name}: expected {want:?}, got {got:?}"),
            }
            let m = decoder.message().unwrap();
            let h = m.header();
            let compressed = frame.get("payload_compressed_hex").is_some();
            assert_eq!(u8::from(h.kind), frame["type"], "{name}");
            assert_eq!(u8::from(h.serializer), frame["serializer_id"], "{name}");
            assert_eq!(h.seq, frame["seq"], "{name}");
            assert_eq!(h.annotations_len, frame["annotations_size"], "{name}");
            assert_eq!(hex(&h.correlation_id.0), frame["corr_id"], "{name}");
            assert_eq!(h.reserved, frame["reserved"], "{name}");
            let anns: Vec<_> = m.annotations().collect();
            let want = frame["annotations"].as_array().unwrap();
            assert_eq!(anns.len(), want.len(), "{name}");
            for ((id, value), w) in anns.iter().zip(want) {
                assert_eq!(id.as_str(), w["id"], "{name}");
                assert_eq!(hex(value), w["hex"], "{name}");
            }
            if compressed {
                // Long payloads are recorded cut short, with "..." at the end.
                let recorded = frame["payload_compressed_hex"].as_str().unwrap();
                assert!(hex(m.raw_payload()).starts_with(recorded.trim_end_matches("...")), "{name}");
                if cfg!(feature = "alloc") && frame.get("payload_decompress_error").is_none() {
                    // As Pyro5 reports it after inflating: flag cleared, inflated size.
                    assert_eq!(h.flags.bits(), frame["flags"].as_u64().unwrap() as u16 & !2, "{name}");
                    assert_eq!(m.payload().unwrap().len() as u64, frame["payload_decompressed_size"], "{name}");
                    if let Some(text) = frame["payload_text"].as_str() {
                        assert_eq!(m.payload().unwrap(), text.as_bytes(), "{name}");
                    }
                } else {
                    assert_eq!(h.flags.bits(), frame["flags"], "{name}");
                    assert!(matches!(m.payload(), Err(DecodeError::Compression(_))), "{name}");
                }
            } else {
                assert_eq!(h.flags.bits(), frame["flags"], "{name}");
                assert_eq!(h.data_len, frame["data_size"], "{name}");
                if let Some(text) = frame["payload_text"].as_str() {
                    assert_eq!(m.payload().unwrap(), text.as_bytes(), "{name}");
                }
            }
            assert_eq!(m.as_bytes(), &bytes[..m.as_bytes().len()], "{name}");

            // Re-encode: the same bytes. A compressed payload goes out as received, through
            // the header and annotation writers (our deflate need not pick zlib's bytes).
            let raw_header = Header::parse_bytes(bytes[..HEADER_LEN].try_into().unwrap()).unwrap();
            let list: Vec<Annotation<'_>> = anns.iter().map(|(id, v)| Annotation::new(*id, v)).collect();
            let mut out = vec![0u8; bytes.len() + 64];
            let n = if compressed {
                let mut head = [0u8; HEADER_LEN];
                raw_header.emit(&mut head);
                out[..HEADER_LEN].copy_from_slice(&head);
                let a = pyro5_core::wire::annotations::write(&list, &mut out[HEADER_LEN..]).unwrap();
                let p = m.raw_payload();
                out[HEADER_LEN + a..HEADER_LEN + a + p.len()].copy_from_slice(p);
                HEADER_LEN + a + p.len()
            } else {
                let msg = OutgoingMessage::from_header(&raw_header, &list);
                encode(&msg, m.raw_payload(), &mut out, Limits::default()).unwrap()
            };
            assert_eq!(hex(&out[..n]), hex(m.as_bytes()), "{name}");
            checked += 1;
        }
    }
    assert!(checked > 1500 && refused >= 6, "{checked} decodes checked, {refused} refusals");
}

#[test]
fn the_recorded_size_limit_note_holds() {
    // MAX_MESSAGE_SIZE=100 with one empty annotation (8 bytes): a 92-byte payload is fine,
    // 93 is "message too large (101, max=100)".
    let limits = Limits::with_max_message_size(100);
    let ann = [Annotation::new(AnnotationId::try_from("EMPT").unwrap(), b"")];
    let mut msg = OutgoingMessage::new(MessageKind::Result, SerializerId::Serpent, 1);
    msg.annotations = &ann;
    let mut out = [0u8; 256];
    let n = encode(&msg, &[b'x'; 92], &mut out, limits).unwrap();
    let mut storage = [0u8; 256];
    let mut decoder = Decoder::new(&mut storage[..], limits);
    assert_eq!(decoder.feed(&out[..n]).unwrap(), Progress::Complete { consumed: n });
    let err = encode(&msg, &[b'x'; 93], &mut out, limits).unwrap_err();
    assert_eq!(err.pyro_message().to_string(), "message too large (101, max=100)");
    // The receiver refuses the same from the header alone.
    out[12..16].copy_from_slice(&93u32.to_be_bytes());
    let mut decoder = Decoder::new(&mut storage[..], limits);
    let err = decoder.feed(&out[..HEADER_LEN]).unwrap_err();
    assert_eq!(err.pyro_message().to_string(), "message too large (101, max=100)");
}

#[test]
fn flags_of_recorded_messages_have_pyro_names() {
    let index = read_json(vectors().join("index.json"));
    for m in index["messages"].as_array().unwrap() {
        let bits = m["frame"]["flags"].as_u64().unwrap() as u16;
        let names: Vec<String> =
            m["frame"]["flag_names"].as_array().unwrap().iter().map(|n| n.as_str().unwrap().to_string()).collect();
        let ours = format!("{:?}", Flags::from_bits(bits));
        let ours: Vec<String> = if bits == 0 { vec![] } else { ours.split('|').map(str::to_string).collect() };
        assert_eq!(ours, names, "{}", m["id"]);
    }
}
