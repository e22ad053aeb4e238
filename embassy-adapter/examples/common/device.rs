//! The demo device object of the examples and firmware: a thermostat-like device with a
//! few typed methods, one raising a Python `ValueError`, a oneway call, a property and an
//! item stream. No allocator: strings come borrowed from the request, the stream is a
//! cursor stream.

use pyro5_core::server::{PyException, Replied, Reply, StreamCursor};
use pyro5_macros::expose;

/// How many readings [`Device::readings`] streams.
pub const READINGS: u64 = 5;

/// The device: its state is what the methods read and change.
pub struct Device {
    /// The name it reports.
    pub name: &'static str,
    /// The temperature it regulates to, in °C (5 to 30).
    pub setpoint: f32,
    /// Blinks asked for so far (by the oneway `blink`).
    pub blinks: u32,
    /// Operating mode (a read-write property).
    pub mode: u8,
}

impl Device {
    /// A device called `name`, set to 20 °C.
    pub const fn new(name: &'static str) -> Self {
        Self { name, setpoint: 20.0, blinks: 0, mode: 0 }
    }
}

#[expose]
impl Device {
    /// `a + b`.
    fn add(&self, a: i64, b: i64) -> i64 {
        a.wrapping_add(b)
    }

    /// The text back, unchanged (any length that fits the connection's message storage).
    fn echo(&self, text: &str, reply: Reply<'_, '_>) -> Replied {
        reply.ok(&text)
    }

    /// The measured temperature, in °C.
    fn temperature(&self) -> f32 {
        self.setpoint - 0.5
    }

    /// Change the setpoint; a `ValueError` outside 5..=30 °C.
    fn set_setpoint(&mut self, celsius: f32) -> Result<f32, PyException<&'static str>> {
        if !(5.0..=30.0).contains(&celsius) {
            return Err(PyException::value_error("setpoint out of range 5..30"));
        }
        self.setpoint = celsius;
        Ok(celsius)
    }

    /// Blink the LED `times` times; nothing is answered.
    #[oneway]
    fn blink(&mut self, times: u32) {
        self.blinks = self.blinks.wrapping_add(times);
    }

    /// How many blinks were asked for.
    fn blinks(&self) -> u32 {
        self.blinks
    }

    /// The last readings, one item at a time.
    #[stream]
    fn readings(&mut self, cursor: &mut StreamCursor) -> Option<f32> {
        *cursor += 1;
        (*cursor <= READINGS).then(|| self.setpoint + *cursor as f32 / 10.0)
    }

    /// The device's name.
    #[getter]
    fn name(&self) -> &'static str {
        self.name
    }

    /// The operating mode.
    #[getter]
    fn mode(&self) -> u8 {
        self.mode
    }

    /// Change the operating mode.
    #[setter]
    fn set_mode(&mut self, value: u8) {
        self.mode = value;
    }
}
