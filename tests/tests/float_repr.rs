//! Floats are written as Python's `repr()` writes them, checked on many doubles against the
//! real Python: random bit patterns, short decimals, and values halfway between two
//! shortest texts (where Python takes the even digit).

use pyro5_core::ser::float::write_repr;
use pyro5_interop_tests::run_python;

#[test]
fn floats_print_as_python_repr() {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut values = Vec::new();
    for i in 0..120_000u64 {
        let v = match i % 4 {
            0 => f64::from_bits(next()),
            // Few decimal digits with a binary fraction: where halfway cases live.
            1 => (next() % 1_000_000_000_000_000) as f64 / f64::from(1u32 << (next() % 12)),
            2 => (next() % 100_000) as f64 * 10f64.powi((next() % 40) as i32 - 20),
            _ => f64::from_bits(next() >> (next() % 64)),
        };
        if v.is_finite() {
            values.push(v);
        }
    }
    values.extend([0.0, -0.0, 1e16, 1e-5, 5e-324, f64::MAX, f64::MIN_POSITIVE]);
    values.extend(["-625672384024554.25", "2223007634874.78125"].map(|t| t.parse::<f64>().unwrap()));
    let bits: Vec<String> = values.iter().map(|v| format!("{:016x}", v.to_bits())).collect();
    let python = run_python("float_repr.py", &serde_json::json!(bits));
    let python = python.as_array().unwrap();
    let mut wrong = Vec::new();
    for (v, want) in values.iter().zip(python) {
        let mut ours = String::new();
        write_repr(&mut ours, *v).unwrap();
        if ours != want.as_str().unwrap() {
            wrong.push(format!("{:016x}: ours {ours}, Python {want}", v.to_bits()));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} differ:\n{}",
        wrong.len(),
        values.len(),
        wrong[..wrong.len().min(20)].join("\n")
    );
}
