//! The checks every served copy of the demo device object
//! (`embassy-adapter/examples/common/device.rs`) must pass, from the real Python client
//! (`tests/python/device_client.py`) run in a network namespace: the serializers it is
//! built with (and the rejection of the others), the `ValueError`, a `TypeError` for a bad call, oneway, the item stream, metadata,
//! `Pyro.Daemon`, a payload larger than one TCP segment, two concurrent clients, reconnects
//! and an unknown object.

use std::time::Duration;

use serde_json::{Value, json};

use crate::netns::Namespace;

/// Every serializer, by Pyro's names.
pub const ALL_SERIALIZERS: &[&str] = &["json", "serpent", "marshal", "msgpack"];

/// Run the Python client against `PYRO:device@<address>:9999` (a device called `name`, built
/// with the serializers `serializers` of [`ALL_SERIALIZERS`]) and check its report; the
/// report, for timings.
///
/// # Panics
/// When any check fails.
pub fn check_device(ns: &Namespace, address: &str, name: &str, serializers: &[&str]) -> Value {
    let uri = format!("PYRO:device@{address}:9999");
    let refused: Vec<&str> = ALL_SERIALIZERS.iter().copied().filter(|s| !serializers.contains(s)).collect();
    let report = ns.run_python(
        "device_client.py",
        &json!({
            "uri": uri,
            "name": name,
            "serializers": serializers,
            "refused": refused,
            "big": 6000,
            "rounds": 100,
            "reconnects": 20,
        }),
        Duration::from_secs(180),
    );
    for serializer in serializers {
        let r = &report["serializers"][serializer];
        assert_eq!(r["error"], "ValueError: setpoint out of range 5..30", "{serializer}");
        assert_eq!(r["type_error"], "Device.add() missing 1 required positional argument: 'b'", "{serializer}");
        assert_eq!(r["oneway"], json!(["blink"]), "{serializer}");
        assert_eq!(r["attrs"], json!(["mode", "name"]), "{serializer}");
    }
    // The order the daemon lists its serializers in: by serializer id.
    let speaks: Vec<&str> =
        ["serpent", "marshal", "json", "msgpack"].into_iter().filter(|s| serializers.contains(s)).collect();
    for serializer in &refused {
        assert_eq!(
            report["refused"][serializer],
            format!(
                "CommunicationError: connection to ('{address}', 9999) rejected: serializer {serializer} is not \
                 supported by this daemon; use one of: {}",
                speaks.join(", ")
            )
        );
    }
    assert_eq!(report["concurrent"], json!([100, 100]));
    assert_eq!(report["reconnects"], 20);
    assert_eq!(
        report["unknown_object"],
        format!("CommunicationError: connection to ('{address}', 9999) rejected: unknown object")
    );
    report
}
