//! A polled `embassy-net` driver for the SMSC LAN9118 Ethernet controller of the Arm MPS2
//! boards (at `0x4020_0000` on the AN385/AN386, and in QEMU's models of them).
//!
//! Programmed I/O, no interrupts: frames move through the chip's data FIFOs one 32-bit word
//! at a time, with a status FIFO per direction. Receiving drains every frame the chip holds
//! on each poll (QEMU drops frames once its receive status FIFO is full), and the driver
//! asks to be polled again at once: an idle device spins its core.
//!
//! The only `unsafe` is the volatile access to the chip's registers, in `Registers`.
#![allow(unsafe_code)]

use core::sync::atomic::{AtomicBool, Ordering};
use core::task::Context;

use embassy_net_driver::{Capabilities, HardwareAddress, LinkState};

/// Where the MPS2 AN385/AN386 map the chip.
pub const MPS2_BASE: usize = 0x4020_0000;

/// Whether a driver owns the chip.
static TAKEN: AtomicBool = AtomicBool::new(false);

/// The largest Ethernet frame handled, without FCS.
const MTU: usize = 1514;

// Register offsets (SMSC LAN9118 datasheet, "System control and status registers").
const RX_DATA_FIFO: usize = 0x00;
const TX_DATA_FIFO: usize = 0x20;
const RX_STATUS_FIFO: usize = 0x40;
const TX_STATUS_FIFO: usize = 0x48;
const ID_REV: usize = 0x50;
const BYTE_TEST: usize = 0x64;
const RX_CFG: usize = 0x6c;
const TX_CFG: usize = 0x70;
const HW_CFG: usize = 0x74;
const RX_FIFO_INF: usize = 0x7c;
const TX_FIFO_INF: usize = 0x80;
const MAC_CSR_CMD: usize = 0xa4;
const MAC_CSR_DATA: usize = 0xa8;

// MAC CSR indices and bits.
const MAC_CR: u32 = 1;
const MAC_ADDRH: u32 = 2;
const MAC_ADDRL: u32 = 3;
const MAC_CR_TXEN: u32 = 1 << 3;
const MAC_CR_RXEN: u32 = 1 << 2;
const MAC_CR_FDPX: u32 = 1 << 20;
const CSR_BUSY: u32 = 1 << 31;
const CSR_READ: u32 = 1 << 30;

const HW_CFG_SRST: u32 = 1;
const TX_CFG_TX_ON: u32 = 1 << 1;
const TX_CMD_A_FIRST: u32 = 1 << 13;
const TX_CMD_A_LAST: u32 = 1 << 12;
const RX_STS_ERROR: u32 = 1 << 15;

/// The value BYTE_TEST reads when the chip is there and the bus is 32 bits wide.
const BYTE_TEST_VALUE: u32 = 0x8765_4321;

/// Why the chip could not be brought up.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Error {
    /// [`Lan9118::take`] was called before: one driver owns the chip.
    Taken,
    /// Nothing answers like a LAN9118 at the address (BYTE_TEST read this).
    NotFound(u32),
    /// The soft reset did not finish.
    ResetTimeout,
}

/// The chip's registers at a base address. Only [`Lan9118::take`] makes one, for the
/// board's chip, once: its accesses cannot race another owner.
struct Registers {
    base: usize,
}

impl Registers {
    fn read(&self, offset: usize) -> u32 {
        // SAFETY: `base` is the board's LAN9118 register block (MPS2_BASE, owned by the one
        // driver `Lan9118::take` made); `offset` is one of its 32-bit registers; a read has
        // no effect on memory, only on the chip's FIFOs.
        unsafe { core::ptr::read_volatile((self.base + offset) as *const u32) }
    }

    fn write(&self, offset: usize, value: u32) {
        // SAFETY: as for `read`: a 32-bit device register, written with a volatile store.
        unsafe { core::ptr::write_volatile((self.base + offset) as *mut u32, value) }
    }

    fn wait_csr(&self) -> bool {
        (0..10_000).any(|_| self.read(MAC_CSR_CMD) & CSR_BUSY == 0)
    }

    fn mac_read(&self, index: u32) -> u32 {
        self.wait_csr();
        self.write(MAC_CSR_CMD, CSR_BUSY | CSR_READ | index);
        self.wait_csr();
        self.read(MAC_CSR_DATA)
    }

    fn mac_write(&self, index: u32, value: u32) {
        self.wait_csr();
        self.write(MAC_CSR_DATA, value);
        self.write(MAC_CSR_CMD, CSR_BUSY | index);
        self.wait_csr();
    }
}

/// The driver: owns the chip and one frame buffer per direction.
pub struct Lan9118 {
    regs: Registers,
    mac: [u8; 6],
    rx: [u8; MTU + 4],
    rx_len: usize,
    tx: [u8; MTU],
    /// Frames dropped because they were damaged or too large.
    pub dropped: u32,
}

impl Lan9118 {
    /// Take the board's chip (once: it has one), reset it, take its MAC address (as QEMU or
    /// the board's EEPROM set it, or `mac` when it has none), and enable transmit and
    /// receive.
    ///
    /// # Errors
    /// When it was taken before, or no LAN9118 answers at [`MPS2_BASE`].
    pub fn take(mac: [u8; 6]) -> Result<Self, Error> {
        if TAKEN.swap(true, Ordering::AcqRel) {
            return Err(Error::Taken);
        }
        let regs = Registers { base: MPS2_BASE };
        let test = regs.read(BYTE_TEST);
        if test != BYTE_TEST_VALUE {
            return Err(Error::NotFound(test));
        }
        let _ = regs.read(ID_REV);
        regs.write(HW_CFG, HW_CFG_SRST);
        if !(0..100_000).any(|_| regs.read(HW_CFG) & HW_CFG_SRST == 0) {
            return Err(Error::ResetTimeout);
        }
        let low = regs.mac_read(MAC_ADDRL).to_le_bytes();
        let high = regs.mac_read(MAC_ADDRH).to_le_bytes();
        let mut found = [low[0], low[1], low[2], low[3], high[0], high[1]];
        if found == [0; 6] || found == [0xff; 6] {
            found = mac;
            regs.mac_write(MAC_ADDRL, u32::from_le_bytes([mac[0], mac[1], mac[2], mac[3]]));
            regs.mac_write(MAC_ADDRH, u32::from(mac[4]) | (u32::from(mac[5]) << 8));
        }
        // Exact address and broadcast filtering (not promiscuous), full duplex.
        regs.mac_write(MAC_CR, MAC_CR_TXEN | MAC_CR_RXEN | MAC_CR_FDPX);
        regs.write(RX_CFG, 0);
        regs.write(TX_CFG, TX_CFG_TX_ON);
        Ok(Self { regs, mac: found, rx: [0; MTU + 4], rx_len: 0, tx: [0; MTU], dropped: 0 })
    }

    /// The MAC address in use.
    pub fn mac(&self) -> [u8; 6] {
        self.mac
    }

    /// Move the next good frame, if any, into `self.rx`.
    fn poll_receive(&mut self) -> bool {
        while (self.regs.read(RX_FIFO_INF) >> 16) & 0xff != 0 {
            let status = self.regs.read(RX_STATUS_FIFO);
            let len = ((status >> 16) & 0x3fff) as usize;
            let words = len.div_ceil(4);
            let fits = len >= 4 + 14 && len <= self.rx.len() && status & RX_STS_ERROR == 0;
            for i in 0..words {
                let word = self.regs.read(RX_DATA_FIFO).to_le_bytes();
                if fits {
                    let start = i * 4;
                    let end = (start + 4).min(len);
                    self.rx[start..end].copy_from_slice(&word[..end - start]);
                }
            }
            if fits {
                // The chip hands over the frame check sequence too.
                self.rx_len = len - 4;
                return true;
            }
            self.dropped = self.dropped.wrapping_add(1);
        }
        false
    }

    fn tx_space(&self) -> usize {
        (self.regs.read(TX_FIFO_INF) & 0xffff) as usize
    }
}

/// Hand one frame to the chip (the caller checked there is room for it).
fn send(regs: &Registers, frame: &[u8]) {
    // Statuses are not needed: drain them so the status FIFO never fills.
    while (regs.read(TX_FIFO_INF) >> 16) & 0xff != 0 {
        let _ = regs.read(TX_STATUS_FIFO);
    }
    let len = frame.len() as u32;
    regs.write(TX_DATA_FIFO, TX_CMD_A_FIRST | TX_CMD_A_LAST | len);
    regs.write(TX_DATA_FIFO, (len << 16) | len);
    for chunk in frame.chunks(4) {
        let mut word = [0u8; 4];
        word[..chunk.len()].copy_from_slice(chunk);
        regs.write(TX_DATA_FIFO, u32::from_le_bytes(word));
    }
}

impl embassy_net_driver::Driver for Lan9118 {
    type RxToken<'a>
        = RxToken<'a>
    where
        Self: 'a;
    type TxToken<'a>
        = TxToken<'a>
    where
        Self: 'a;

    fn receive(&mut self, cx: &mut Context<'_>) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        if self.tx_space() < MTU + 8 || !self.poll_receive() {
            cx.waker().wake_by_ref();
            return None;
        }
        let Self { rx, rx_len, tx, regs, .. } = self;
        Some((RxToken { frame: &mut rx[..*rx_len] }, TxToken { nic: Transmit { regs, tx } }))
    }

    fn transmit(&mut self, cx: &mut Context<'_>) -> Option<Self::TxToken<'_>> {
        if self.tx_space() < MTU + 8 {
            cx.waker().wake_by_ref();
            return None;
        }
        let Self { tx, regs, .. } = self;
        Some(TxToken { nic: Transmit { regs, tx } })
    }

    fn link_state(&mut self, _cx: &mut Context<'_>) -> LinkState {
        LinkState::Up
    }

    fn capabilities(&self) -> Capabilities {
        let mut caps = Capabilities::default();
        caps.max_transmission_unit = MTU;
        caps.max_burst_size = Some(1);
        caps
    }

    fn hardware_address(&self) -> HardwareAddress {
        HardwareAddress::Ethernet(self.mac)
    }
}

/// A received frame.
pub struct RxToken<'a> {
    frame: &'a mut [u8],
}

impl embassy_net_driver::RxToken for RxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, f: F) -> R {
        f(self.frame)
    }
}

struct Transmit<'a> {
    regs: &'a Registers,
    tx: &'a mut [u8; MTU],
}

/// Room for one frame to send.
pub struct TxToken<'a> {
    nic: Transmit<'a>,
}

impl embassy_net_driver::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let len = len.min(MTU);
        let result = f(&mut self.nic.tx[..len]);
        send(self.nic.regs, &self.nic.tx[..len]);
        result
    }
}
