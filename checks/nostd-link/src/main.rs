//! A freestanding program using pyro5-core's decoder, encoder and URI parser, and serving an
//! `#[expose]`d object through the daemon's connection state machine: no std, no allocator,
//! no runtime. It only has to link.
#![no_std]
#![no_main]

use core::cell::RefCell;
use core::hint::black_box;
use core::panic::PanicInfo;

use pyro5_core::limits::Limits;
use pyro5_core::server::{
    CallContext, ConnectionId, ObjectTable, PyException, Server, ServerConfig, ServerConnection, StreamCursor, Streams,
};
use pyro5_core::uri::Uri;
use pyro5_core::wire::{Decoder, MessageKind, OutgoingMessage, Progress, SerializerId, encode};
use pyro5_macros::expose;

static FRAME: &[u8] = include_bytes!("../../../testdata/messages/annotations_custom.bin");

/// A sensor as a microcontroller would serve it.
struct Thermo {
    celsius: f32,
    verbose: bool,
    beeps: u8,
}

#[expose]
impl Thermo {
    fn read(&self) -> f32 {
        self.celsius
    }

    fn set(&mut self, value: f32, unit: Option<&str>) -> Result<f32, PyException<&'static str>> {
        let celsius = if unit == Some("F") { (value - 32.0) / 1.8 } else { value };
        if celsius < -273.15 {
            return Err(PyException::value_error("below absolute zero"));
        }
        self.celsius = celsius;
        Ok(celsius)
    }

    #[oneway]
    fn beep(&mut self, times: u8) {
        self.beeps = self.beeps.wrapping_add(times);
    }

    fn seq(&self, ctx: &CallContext<'_>) -> u16 {
        ctx.seq
    }

    #[getter]
    fn verbose(&self) -> bool {
        self.verbose
    }

    #[setter]
    fn set_verbose(&mut self, value: bool) {
        self.verbose = value;
    }

    #[stream]
    fn readings(&mut self, cursor: &mut StreamCursor) -> Option<f32> {
        *cursor += 1;
        (*cursor <= 3).then_some(self.celsius)
    }
}

/// Entry point for the linker; never actually run.
#[unsafe(no_mangle)]
pub extern "C" fn _start() -> ! {
    let mut storage = [0u8; 512];
    let mut decoder = Decoder::new(&mut storage[..], Limits::default());
    let mut seq = 0;
    if let Ok(Progress::Complete { .. }) = decoder.feed(black_box(FRAME))
        && let Some(m) = decoder.message()
    {
        seq = m.header().seq;
    }
    let mut out = [0u8; 128];
    let msg = OutgoingMessage::new(MessageKind::Result, SerializerId::Json, seq);
    let _ = black_box(encode(&msg, black_box(b"null"), &mut out, Limits::default()));
    let _ = black_box(Uri::parse(black_box("PYRO:obj@[::1]:9090")));
    serve(black_box(FRAME));
    loop {
        core::hint::spin_loop();
    }
}

/// Serve the `Thermo` to whatever `input` holds, so that its generated dispatch is linked.
fn serve(mut input: &[u8]) {
    let thermo = RefCell::new(Thermo { celsius: 20.0, verbose: false, beeps: 0 });
    let mut objects = ObjectTable::<2>::new();
    let _ = objects.register("thermo", &thermo);
    let streams = RefCell::new(Streams::<2>::new());
    let config = ServerConfig::default();
    let server = Server::new(&objects, &streams, &config);
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 512]);
    let seed = black_box([7; 32]);
    let mut connection = ServerConnection::new(ConnectionId(1), None, &mut rx[..], &mut tx[..], &config, 0, seed);
    let mut now = 0;
    while !connection.is_closed() {
        connection.serve_ready(&server);
        let sent = black_box(connection.tx_pending()).len();
        now += 1;
        connection.tx_advance(sent, now);
        connection.handle_timeout(now, &server);
        let taken = connection.feed(input, now);
        input = input.get(taken..).unwrap_or_default();
        if taken == 0 && input.is_empty() && connection.wants_read() {
            connection.commit(0, now);
        }
    }
    connection.close(&server);
}

#[panic_handler]
fn panic(_: &PanicInfo) -> ! {
    loop {
        core::hint::spin_loop();
    }
}
