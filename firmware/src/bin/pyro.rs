//! A device object served to Python with Pyro5 on port 9999, [`CONNECTIONS`] at once, each
//! with [`SOCKET_BUFFER`]-byte socket buffers and [`MESSAGE`]-byte request and reply
//! buffers. From Python:
//!
//! ```python
//! import Pyro5.api
//! device = Pyro5.api.Proxy("PYRO:device@10.0.2.15:9999")
//! device._pyroSerializer = "json"    # or "serpent", the default
//! device.temperature()               # 21.5
//! device.set_setpoint(40)            # ValueError: setpoint out of range 5..30 °C
//! device.set_setpoint(22.5)          # 22.5
//! device.blink(3)                    # oneway: returns at once
//! device.setpoint                    # 22.5, a property
//! device.blinks                      # 3
//! ```
#![no_std]
#![no_main]

use core::cell::RefCell;

use embassy_executor::Spawner;
use embassy_time::{Duration, Instant};
use pyro5_core::server::{ObjectTable, PyException, Server, ServerConfig, Streams};
use pyro5_embassy::{ConnectionStorage, SeededEntropy, ServeConfig, serve};
use pyro5_firmware::{CONNECTIONS, SOCKET_BUFFER};
use pyro5_macros::expose;

/// The Pyro port.
const PORT: u16 = 9999;

/// Bytes of each connection's request buffer, and of its reply buffer.
const MESSAGE: usize = 1024;

/// The setpoints the device accepts, in °C.
const SETPOINTS: core::ops::RangeInclusive<f32> = 5.0..=30.0;

/// What Python sees as class `Device`: a temperature sensor and a heater's setpoint.
struct Device {
    setpoint: f32,
    blinks: u32,
}

#[expose]
impl Device {
    /// The temperature in °C (a stand-in for an ADC: it wanders with the uptime).
    fn temperature(&self) -> f32 {
        let wander = (Instant::now().as_millis() % 1000) as f32 / 1000.0;
        20.0 + wander
    }

    /// Set the setpoint; `ValueError` outside 5..30 °C.
    fn set_setpoint(&mut self, celsius: f32) -> Result<f32, PyException<&'static str>> {
        if !SETPOINTS.contains(&celsius) {
            return Err(PyException::value_error("setpoint out of range 5..30 °C"));
        }
        self.setpoint = celsius;
        Ok(celsius)
    }

    /// Blink the status LED `times` times (oneway: the caller does not wait).
    #[oneway]
    fn blink(&mut self, times: u8) {
        self.blinks = self.blinks.wrapping_add(u32::from(times));
    }

    /// `device.setpoint`: a read-only property.
    #[getter]
    fn setpoint(&self) -> f32 {
        self.setpoint
    }

    /// `device.blinks`: how often the LED has blinked.
    #[getter]
    fn blinks(&self) -> u32 {
        self.blinks
    }
}

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    let stack = pyro5_firmware::start(spawner);

    let device = RefCell::new(Device { setpoint: 20.0, blinks: 0 });
    let mut objects = ObjectTable::<1>::new();
    if objects.register("device", &device).is_err() {
        panic!("object table full");
    }
    let streams = RefCell::new(Streams::<1>::new());
    let config =
        ServerConfig { location: "10.0.2.15:9999", server_type: "pyro5-rs firmware", ..ServerConfig::default() };
    let server = Server { registry: &objects, streams: &streams, config: &config, handshake: None };
    let serve_config = ServeConfig { idle_timeout: Some(Duration::from_secs(60)), ..ServeConfig::new(PORT) };
    // A board would seed from its RNG or unique id.
    let entropy = SeededEntropy::new(0x5eed_5eed_5eed_5eed);
    let mut connections = [const { ConnectionStorage::<SOCKET_BUFFER, MESSAGE>::new() }; CONNECTIONS];
    serve(stack, &server, &serve_config, &entropy, &mut connections).await
}
