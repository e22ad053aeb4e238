//! A freestanding program using pyro5-core's decoder, encoder and URI parser: no std, no
//! allocator, no runtime. It only has to link.
#![no_std]
#![no_main]

use core::hint::black_box;
use core::panic::PanicInfo;

use pyro5_core::limits::Limits;
use pyro5_core::uri::Uri;
use pyro5_core::wire::{Decoder, MessageKind, OutgoingMessage, Progress, SerializerId, encode};

static FRAME: &[u8] = include_bytes!("../../../../shared/vectors/messages/annotations_custom.bin");

/// Entry point for the linker; never actually run.
#[unsafe(no_mangle)]
pub extern "C" fn _start() -> ! {
    let mut storage = [0u8; 512];
    let mut decoder = Decoder::new(&mut storage[..], Limits::default());
    let mut seq = 0;
    if let Ok(Progress::Complete { .. }) = decoder.feed(black_box(FRAME)) {
        if let Some(m) = decoder.message() {
            seq = m.header().seq;
        }
    }
    let mut out = [0u8; 128];
    let msg = OutgoingMessage::new(MessageKind::Result, SerializerId::Json, seq);
    let _ = black_box(encode(&msg, black_box(b"null"), &mut out, Limits::default()));
    let _ = black_box(Uri::parse(black_box("PYRO:obj@[::1]:9090")));
    loop {
        core::hint::spin_loop();
    }
}

#[panic_handler]
fn panic(_: &PanicInfo) -> ! {
    loop {
        core::hint::spin_loop();
    }
}
