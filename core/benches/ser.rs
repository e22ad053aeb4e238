//! Each format encoding and decoding a small call envelope and a 1 MiB bytes payload; the
//! same data as `tests/python/bench_serializers.py` measures for Python's serializers.

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pyro5_core::ser::envelope::{Call, CallEnvelope};
use pyro5_core::ser::python::Bytes;
use pyro5_core::ser::value::Value;
use pyro5_core::ser::{json, marshal, msgpack, serpent};
use pyro5_core::wire::SerializerId;

type Args<'a> = (&'a str, i64, f64, [i64; 3], BTreeMap<&'a str, &'a str>);
type Kwargs<'a> = BTreeMap<&'a str, bool>;

macro_rules! bench_format {
    ($c:expr, $m:ident, $id:expr, $bytes:expr) => {{
        let mut group = $c.benchmark_group(stringify!($m));
        let map = BTreeMap::from([("k", "v")]);
        let args: Args<'_> = ("hello", 42, 2.5, [1, 2, 3], map);
        let kwargs: Kwargs<'_> = BTreeMap::from([("flag", true)]);
        let call =
            CallEnvelope { format: $id, object: "test.echoserver", method: "echo", args: &args, kwargs: Some(&kwargs) };
        let mut buf = vec![0u8; 2 << 20];
        let n = $m::to_slice(&call, &mut buf).unwrap();
        let encoded = buf[..n].to_vec();
        group.throughput(Throughput::Bytes(n as u64));
        group.bench_function("encode call envelope", |b| b.iter(|| $m::to_slice(black_box(&call), &mut buf).unwrap()));
        group.bench_function("decode call envelope (typed, borrowed)", |b| {
            b.iter(|| black_box($m::from_slice::<Call<'_, Args<'_>, Kwargs<'_>>>(black_box(&encoded)).unwrap()))
        });
        group.bench_function("decode call envelope (Value)", |b| {
            b.iter(|| black_box($m::from_slice::<Value>(black_box(&encoded)).unwrap()))
        });
        if $bytes {
            let blob: Vec<u8> = (0..1u32 << 20).map(|i| i as u8).collect();
            let n = $m::to_slice(&Bytes(&blob), &mut buf).unwrap();
            let encoded = buf[..n].to_vec();
            group.throughput(Throughput::Bytes(blob.len() as u64));
            group.bench_function("encode 1 MiB bytes", |b| {
                b.iter(|| $m::to_slice(black_box(&Bytes(&blob)), &mut buf).unwrap())
            });
            group.bench_function("decode 1 MiB bytes", |b| {
                b.iter(|| black_box($m::from_slice::<Value>(black_box(&encoded)).unwrap()))
            });
        }
        group.finish();
    }};
}

fn bench(c: &mut Criterion) {
    bench_format!(c, serpent, SerializerId::Serpent, true);
    bench_format!(c, json, SerializerId::Json, false);
    bench_format!(c, marshal, SerializerId::Marshal, true);
    bench_format!(c, msgpack, SerializerId::Msgpack, true);
}

criterion_group!(benches, bench);
criterion_main!(benches);
