//! The wire layer against the real Pyro5 5.17 `Pyro5.protocol`, both ways: frames Python
//! writes decode to the fields it was given, frames we write are what Python writes (byte
//! for byte, except compressed payloads, which Python inflates to the same bytes) and parse
//! in Python to the same fields, and bad frames fail on both sides with Pyro5's texts.

use pyro5_core::limits::Limits;
use pyro5_core::wire::{
    Annotation, AnnotationId, CorrelationId, DecodeError, Decoder, Flags, MessageKind, OutgoingMessage, Progress,
    SerializerId, encode,
};
use pyro5_interop_tests::{hex, run_python, unhex};
use serde_json::{Value, json};

/// A message to build on both sides.
#[derive(Clone, Debug)]
struct Spec {
    kind: u8,
    serializer: u8,
    flags: u16,
    seq: u16,
    corr: Option<[u8; 16]>,
    annotations: Vec<(String, Vec<u8>)>,
    payload: Vec<u8>,
    compress: bool,
    max_size: u32,
}

impl Spec {
    fn to_json(&self) -> Value {
        json!({
            "kind": self.kind, "serializer": self.serializer, "flags": self.flags, "seq": self.seq,
            "corr": self.corr.map(|c| hex(&c)),
            "annotations": self.annotations.iter().map(|(k, v)| json!([k, hex(v)])).collect::<Vec<_>>(),
            "payload": hex(&self.payload), "compress": self.compress, "max_size": self.max_size,
        })
    }

    fn encode(&self) -> Result<Vec<u8>, pyro5_core::wire::EncodeError> {
        let ids: Vec<AnnotationId> =
            self.annotations.iter().map(|(k, _)| AnnotationId::try_from(k.as_str()).unwrap()).collect();
        let annotations: Vec<Annotation<'_>> =
            ids.iter().zip(&self.annotations).map(|(id, (_, v))| Annotation::new(*id, v)).collect();
        let message = OutgoingMessage {
            kind: MessageKind::from(self.kind),
            serializer: SerializerId::from(self.serializer),
            flags: Flags::from_bits(self.flags),
            seq: self.seq,
            correlation_id: self.corr.map(CorrelationId),
            annotations: &annotations,
            compress: self.compress,
        };
        let mut out = vec![0u8; 40 + 16 * 1024 + self.payload.len() * 2];
        let n = encode(&message, &self.payload, &mut out, Limits::with_max_message_size(self.max_size))?;
        out.truncate(n);
        Ok(out)
    }

    /// The flags Python ends up sending.
    fn sent_flags(&self) -> u16 {
        let mut f = self.flags & !Flags::COMPRESSED.bits();
        if self.compress && self.payload.len() > 100 {
            f |= Flags::COMPRESSED.bits();
        }
        if self.corr.is_some() {
            f |= Flags::CORR_ID.bits();
        }
        f
    }
}

/// A small deterministic generator, so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn bytes(&mut self, len: usize, compressible: bool) -> Vec<u8> {
        (0..len).map(|i| if compressible { b"abcabcabd"[i % 9] } else { self.next() as u8 }).collect()
    }
}

fn specs() -> Vec<Spec> {
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut specs = Vec::new();
    for i in 0..240 {
        let n_ann = rng.below(4) as usize;
        let annotations = (0..n_ann)
            .map(|j| {
                let id = format!("A{}{:02}", (b'A' + (i % 26) as u8) as char, j);
                let len = rng.below(40) as usize;
                (id, rng.bytes(len, false))
            })
            .collect();
        let payload_len = match rng.below(5) {
            0 => 0,
            1 => 100,
            2 => 101,
            3 => rng.below(3000) as usize,
            _ => rng.below(120) as usize,
        };
        let compress = rng.below(3) == 0;
        let compressible = rng.below(2) == 0;
        specs.push(Spec {
            kind: 1 + rng.below(6) as u8,
            serializer: [1, 2, 3, 4, 42][rng.below(5) as usize],
            flags: rng.below(0x80) as u16,
            seq: rng.next() as u16,
            corr: (rng.below(2) == 0).then(|| {
                let mut c = [0u8; 16];
                c.iter_mut().for_each(|b| *b = rng.next() as u8);
                c
            }),
            annotations,
            payload: rng.bytes(payload_len, compressible),
            compress,
            max_size: if rng.below(10) == 0 { 150 } else { 1 << 30 },
        });
    }
    // The size limit's boundary, as in the recorded note: 92 + 8 fits in 100, 93 + 8 does not.
    for payload_len in [92, 93] {
        specs.push(Spec {
            kind: 5,
            serializer: 1,
            flags: 0,
            seq: 1,
            corr: None,
            annotations: vec![("EMPT".into(), vec![])],
            payload: vec![b'x'; payload_len],
            compress: false,
            max_size: 100,
        });
    }
    specs
}

fn decode_all_at_once(bytes: &[u8], max: u32) -> Result<Value, DecodeError> {
    decode(bytes, max, bytes.len().max(1))
}

/// Decode one message fed in chunks of `chunk` bytes; describe it as the Python helper does.
fn decode(bytes: &[u8], max: u32, chunk: usize) -> Result<Value, DecodeError> {
    let mut decoder = Decoder::new(Vec::new(), Limits::with_max_message_size(max));
    let mut consumed = 0;
    for piece in bytes.chunks(chunk) {
        match decoder.feed(piece)? {
            Progress::NeedMore => consumed += piece.len(),
            Progress::Complete { consumed: n } => {
                consumed += n;
                let m = decoder.message().unwrap();
                let h = m.header();
                return Ok(json!({
                    "kind": u8::from(h.kind), "serializer": u8::from(h.serializer), "flags": h.flags.bits(),
                    "seq": h.seq, "data_size": h.data_len, "annotations_size": h.annotations_len,
                    "corr": hex(&h.correlation_id.0),
                    "annotations": m.annotations().map(|(k, v)| json!([k.as_str(), hex(v)])).collect::<Vec<_>>(),
                    "payload": hex(m.payload()?),
                    "consumed": consumed,
                }));
            }
        }
    }
    Ok(json!({"error": "incomplete"}))
}

#[test]
fn frames_agree_with_pyro5_both_ways() {
    let specs = specs();
    let ours: Vec<_> = specs.iter().map(Spec::encode).collect();
    let parse: Vec<Value> = ours
        .iter()
        .zip(&specs)
        .filter_map(|(r, s)| r.as_ref().ok().map(|b| json!({"hex": hex(b), "max_size": s.max_size})))
        .collect();
    let reply = run_python(
        "wire_helper.py",
        &json!({"make": specs.iter().map(Spec::to_json).collect::<Vec<_>>(), "parse": parse}),
    );
    let made = reply["made"].as_array().unwrap();
    let mut parsed = reply["parsed"].as_array().unwrap().iter();
    let (mut exact, mut compressed, mut refused, mut over_limit) = (0, 0, 0, 0);
    for ((spec, ours), theirs) in specs.iter().zip(&ours).zip(made) {
        match (ours, theirs.get("hex")) {
            (Err(e), None) => {
                // Both refuse, with Pyro5's words.
                assert_eq!(
                    format!("ProtocolError: {}", e.pyro_message()),
                    theirs["error"].as_str().unwrap(),
                    "{spec:?}"
                );
                refused += 1;
            }
            (Ok(ours), Some(theirs)) => {
                let theirs = unhex(theirs.as_str().unwrap());
                let expected = json!({
                    "kind": spec.kind, "serializer": spec.serializer, "flags": spec.sent_flags() & !Flags::COMPRESSED.bits(),
                    "seq": spec.seq, "data_size": spec.payload.len(),
                    "annotations_size": spec.annotations.iter().map(|(_, v)| 8 + v.len()).sum::<usize>(),
                    "corr": hex(&spec.corr.unwrap_or([0; 16])),
                    "annotations": spec.annotations.iter().map(|(k, v)| json!([k, hex(v)])).collect::<Vec<_>>(),
                    "payload": hex(&spec.payload),
                    "consumed": theirs.len(),
                });
                // Python's bytes decode to the spec, in one piece and one byte at a time; a
                // compressed payload inflating past the limit is refused (Python has no limit
                // there: a zip bomb would exhaust its memory).
                if spec.sent_flags() & Flags::COMPRESSED.bits() != 0 && spec.payload.len() > spec.max_size as usize {
                    let err = decode_all_at_once(&theirs, spec.max_size).unwrap_err();
                    assert!(matches!(err, DecodeError::Compression(_)), "{err:?}");
                    over_limit += 1;
                } else {
                    assert_eq!(decode_all_at_once(&theirs, spec.max_size).unwrap(), expected, "{spec:?}");
                    assert_eq!(decode(&theirs, spec.max_size, 1).unwrap(), expected, "{spec:?}");
                }
                // Python parses our bytes to the same.
                let mut python_view = parsed.next().unwrap().clone();
                python_view["consumed"] = json!(ours.len());
                let mut expected_ours = expected.clone();
                expected_ours["consumed"] = json!(ours.len());
                assert_eq!(python_view, expected_ours, "{spec:?}");
                if spec.sent_flags() & Flags::COMPRESSED.bits() == 0 {
                    assert_eq!(hex(ours), hex(&theirs), "{spec:?}");
                    exact += 1;
                } else {
                    assert_eq!(ours[..8], theirs[..8]);
                    compressed += 1;
                }
            }
            (ours, theirs) => panic!("only one side refused {spec:?}: ours {ours:?}, Python {theirs:?}"),
        }
    }
    assert!(
        exact > 100 && compressed > 20 && refused > 5 && over_limit > 0,
        "coverage: {exact} exact, {compressed} compressed, {refused} refused, {over_limit} inflating past the limit"
    );
}

#[test]
fn bad_frames_fail_on_both_sides_with_pyro5_texts() {
    let good = unhex("5059524f01f604010000000100000002000000000000000000000000000000000000000000004dc57b7d");
    let mut cases: Vec<(String, Vec<u8>, u32)> = Vec::new();
    let mut bad_tag = good.clone();
    bad_tag[3] = b'X';
    cases.push(("bad tag".into(), bad_tag, 1 << 30));
    let mut bad_version = good.clone();
    bad_version[5] = 0xf5;
    cases.push(("bad version".into(), bad_version, 1 << 30));
    let mut bad_magic = good.clone();
    bad_magic[39] = 0xc6;
    cases.push(("bad magic".into(), bad_magic, 1 << 30));
    cases.push(("over the limit".into(), good.clone(), 1));
    let mut huge = good.clone();
    huge[12..16].copy_from_slice(&0x7fff_ffffu32.to_be_bytes());
    cases.push(("2 GB announced".into(), huge, 1 << 30));
    // An annotation chunk announcing 999 bytes, as in the recorded raw_invoke_bad_annotation_length.
    let mut overrun = good[..40].to_vec();
    overrun[16..20].copy_from_slice(&12u32.to_be_bytes());
    overrun[12..16].copy_from_slice(&0u32.to_be_bytes());
    overrun.extend_from_slice(b"ABCD\0\0\x03\xe71234");
    cases.push(("annotation overrun".into(), overrun, 1 << 30));
    let mut stray = good[..40].to_vec();
    stray[16..20].copy_from_slice(&3u32.to_be_bytes());
    stray[12..16].copy_from_slice(&0u32.to_be_bytes());
    stray.extend_from_slice(b"ABC");
    cases.push(("stray annotation bytes".into(), stray, 1 << 30));

    let parse: Vec<Value> = cases.iter().map(|(_, b, max)| json!({"hex": hex(b), "max_size": max})).collect();
    let reply = run_python("wire_helper.py", &json!({"parse": parse}));
    for ((name, bytes, max), theirs) in cases.iter().zip(reply["parsed"].as_array().unwrap()) {
        let ours = decode_all_at_once(bytes, *max).expect_err(name);
        assert_eq!(
            format!("ProtocolError: {}", ours.pyro_message()),
            theirs["error"].as_str().unwrap_or_else(|| panic!("Python accepted {name}")),
            "{name}"
        );
    }
}

#[test]
fn python_refuses_a_compressed_flag_on_plain_data_as_we_do() {
    let mut frame = unhex("5059524f01f604010000000100000002000000000000000000000000000000000000000000004dc57b7d");
    frame[9] = Flags::COMPRESSED.bits() as u8;
    let reply = run_python("wire_helper.py", &json!({"parse": [{"hex": hex(&frame)}]}));
    assert!(reply["parsed"][0]["error"].as_str().unwrap().starts_with("error: "), "zlib.error in Python");
    let ours = decode_all_at_once(&frame, 1 << 30).unwrap_err();
    assert!(matches!(ours, DecodeError::Compression(_)), "{ours:?}");
}
