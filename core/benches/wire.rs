//! Decoding and encoding a typical small call frame: the INVOKE a Python proxy sends for
//! `echo(['a', 1, 2.5, None, True])` (recorded in `testdata/conversations/serpent_invoke.json`).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pyro5_core::limits::Limits;
use pyro5_core::wire::{Annotation, Decoder, HEADER_LEN, Header, OutgoingMessage, Progress, encode};
use std::hint::black_box;

fn call_frame() -> Vec<u8> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/conversations/serpent_invoke.json");
    let conv: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let event = conv["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["frame"]["type_name"] == "INVOKE")
        .expect("an INVOKE frame");
    let hex = event["hex"].as_str().unwrap();
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect()
}

fn bench(c: &mut Criterion) {
    let frame = call_frame();
    let mut group = c.benchmark_group("wire");
    group.throughput(Throughput::Bytes(frame.len() as u64));

    let mut storage = vec![0u8; 4096];
    let mut decoder = Decoder::new(&mut storage[..], Limits::default());
    group.bench_function("decode small call frame (one read)", |b| {
        b.iter(|| {
            let p = decoder.feed(black_box(&frame)).unwrap();
            debug_assert!(matches!(p, Progress::Complete { .. }));
            black_box(decoder.message().unwrap().payload().unwrap().len())
        })
    });
    group.bench_function("decode small call frame (3 reads: 6 + 34 + body)", |b| {
        b.iter(|| {
            decoder.feed(black_box(&frame[..6])).unwrap();
            decoder.feed(black_box(&frame[6..HEADER_LEN])).unwrap();
            decoder.feed(black_box(&frame[HEADER_LEN..])).unwrap();
            black_box(decoder.message().unwrap().payload().unwrap().len())
        })
    });

    let header = Header::parse_bytes(frame[..HEADER_LEN].try_into().unwrap()).unwrap();
    let payload = &frame[HEADER_LEN..];
    let no_annotations: [Annotation<'_>; 0] = [];
    let message = OutgoingMessage::from_header(&header, &no_annotations);
    let mut out = vec![0u8; 4096];
    group.bench_function("encode small call frame", |b| {
        b.iter(|| black_box(encode(black_box(&message), black_box(payload), &mut out, Limits::default()).unwrap()))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
