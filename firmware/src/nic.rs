//! A network interface that links without a board: it never receives a frame and drops
//! every frame sent. Its receive path is hidden from the optimizer behind
//! [`black_box`](core::hint::black_box), so the whole of embassy-net and smoltcp that a real
//! Ethernet driver would reach stays in the binary and the sizes measured are a real
//! device's, minus the MAC driver itself.

use core::hint::black_box;
use core::task::Context;

use embassy_net_driver::{Capabilities, Driver, HardwareAddress, LinkState, RxToken, TxToken};

/// The largest Ethernet frame (without FCS).
pub const MTU: usize = 1514;

/// The stub NIC, with a frame buffer each way as a MAC driver has.
pub struct StubNic {
    mac: [u8; 6],
    rx: [u8; MTU],
    tx: [u8; MTU],
}

impl StubNic {
    /// A NIC with MAC address `mac`.
    pub const fn new(mac: [u8; 6]) -> Self {
        Self { mac, rx: [0; MTU], tx: [0; MTU] }
    }
}

/// A received frame.
pub struct Rx<'a> {
    frame: &'a mut [u8],
}

/// Room for a frame to send.
pub struct Tx<'a> {
    buf: &'a mut [u8; MTU],
}

impl RxToken for Rx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, f: F) -> R {
        f(self.frame)
    }
}

impl TxToken for Tx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let frame = &mut self.buf[..len.min(MTU)];
        let result = f(frame);
        // "Sent": the frame is dropped, but it must be built.
        black_box(frame);
        result
    }
}

impl Driver for StubNic {
    type RxToken<'a> = Rx<'a>;
    type TxToken<'a> = Tx<'a>;

    fn receive(&mut self, _cx: &mut Context) -> Option<(Rx<'_>, Tx<'_>)> {
        // Never a frame; the optimizer can't tell.
        let len = black_box(None::<usize>)?;
        Some((Rx { frame: &mut self.rx[..len.min(MTU)] }, Tx { buf: &mut self.tx }))
    }

    fn transmit(&mut self, _cx: &mut Context) -> Option<Tx<'_>> {
        Some(Tx { buf: &mut self.tx })
    }

    fn link_state(&mut self, _cx: &mut Context) -> LinkState {
        LinkState::Up
    }

    fn capabilities(&self) -> Capabilities {
        let mut caps = Capabilities::default();
        caps.max_transmission_unit = MTU;
        caps
    }

    fn hardware_address(&self) -> HardwareAddress {
        HardwareAddress::Ethernet(self.mac)
    }
}
