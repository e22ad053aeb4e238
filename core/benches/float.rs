//! What the `small` feature's exact float algorithms cost in speed: writing Python's `repr`
//! and reading json numbers with them, beside core's table-driven formatting (`{:?}`, the
//! same shortest digits) and parsing (`str::parse`) on the same values. Run with
//! `cargo bench -p pyro5-core --features small --bench float`.

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use pyro5_core::ser::{float, json};

/// Typical values: sensor readings, short decimals, 17-digit doubles, large and tiny ones.
fn values() -> Vec<f64> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..64)
        .map(|i| match i % 4 {
            0 => (next() % 4000) as f64 / 100.0,
            1 => (next() % 1000) as f64 / 8.0,
            2 => f64::from_bits(next() % (0x7fe << 52)),
            _ => (next() >> 11) as f64 * 1e-300,
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let values = values();
    let texts: Vec<String> = values
        .iter()
        .map(|&v| {
            let mut s = String::new();
            float::write_repr(&mut s, v).unwrap();
            s
        })
        .collect();
    let mut group = c.benchmark_group("64 floats");
    let mut out = String::with_capacity(64);
    group.bench_function("write repr (exact, feature small)", |b| {
        b.iter(|| {
            for &v in &values {
                out.clear();
                float::write_repr(&mut out, black_box(v)).unwrap();
            }
        })
    });
    group.bench_function("write {:?} (core)", |b| {
        b.iter(|| {
            for &v in &values {
                out.clear();
                write!(out, "{:?}", black_box(v)).unwrap();
            }
        })
    });
    group.bench_function("read json number (exact, feature small)", |b| {
        b.iter(|| {
            for t in &texts {
                black_box(json::from_slice::<f64>(black_box(t.as_bytes())).unwrap());
            }
        })
    });
    group.bench_function("read str::parse (core)", |b| {
        b.iter(|| {
            for t in &texts {
                black_box(black_box(t.as_str()).parse::<f64>().unwrap());
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
