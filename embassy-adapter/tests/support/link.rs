//! The wire between the two stacks: a pump per direction moving Ethernet frames from one
//! channel device's transmit queue to the other's receive queue, with faults injected on
//! the way (drops from a seeded PRNG, delays, neighbours swapped, a total cut).

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use embassy_futures::select::{Either, select};
use embassy_net_driver_channel as ch;
use embassy_time::{Duration, Instant, Timer};

/// Largest Ethernet frame (header included) the channel devices carry.
pub const MTU: usize = 1514;

/// Faults the link injects, the same in both directions.
#[derive(Clone, Copy, Debug, Default)]
pub struct Faults {
    /// Frames dropped, in percent (decided by a seeded PRNG per direction).
    pub drop_percent: u32,
    /// After a drop, at least this many frames pass in that direction before the next drop:
    /// a lost segment then costs one retransmission timeout, not a series of doubling ones.
    pub spacing: u32,
    /// Every frame is delivered this much later.
    pub delay: Duration,
    /// Frames held back (in percent) so that the next frame overtakes them.
    pub reorder_percent: u32,
    /// How long a held-back frame waits for a neighbour to overtake it.
    pub reorder_hold: Duration,
    /// Seeds the fault decisions (read when the link starts; each direction draws its own
    /// sequence from it).
    pub seed: u64,
}

/// Shared between the pumps and the test thread: the faults (changeable at any time) and
/// what the pumps did.
#[derive(Debug, Default)]
pub struct LinkControl {
    drop_percent: AtomicU32,
    spacing: AtomicU32,
    delay_us: AtomicU64,
    reorder_percent: AtomicU32,
    reorder_hold_us: AtomicU64,
    cut: AtomicBool,
    seed: AtomicU64,
    forwarded: AtomicU64,
    dropped: AtomicU64,
    reordered: AtomicU64,
}

/// What the link did so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Frames delivered.
    pub forwarded: u64,
    /// Frames dropped (by the drop rate or the cut).
    pub dropped: u64,
    /// Frames delivered before a frame sent earlier in the same direction.
    pub reordered: u64,
}

impl LinkControl {
    /// A link with `faults`.
    pub fn new(faults: Faults) -> Arc<Self> {
        let control = Arc::new(Self::default());
        control.set_faults(faults);
        control
    }

    /// Change the faults from now on.
    pub fn set_faults(&self, faults: Faults) {
        self.drop_percent.store(faults.drop_percent, Ordering::Relaxed);
        self.spacing.store(faults.spacing, Ordering::Relaxed);
        self.delay_us.store(faults.delay.as_micros(), Ordering::Relaxed);
        self.reorder_percent.store(faults.reorder_percent, Ordering::Relaxed);
        self.reorder_hold_us.store(faults.reorder_hold.as_micros(), Ordering::Relaxed);
        self.seed.store(faults.seed, Ordering::Relaxed);
    }

    /// Cut the link (every frame dropped) or mend it.
    pub fn set_cut(&self, cut: bool) {
        self.cut.store(cut, Ordering::Relaxed);
    }

    /// The counters so far.
    pub fn stats(&self) -> LinkStats {
        LinkStats {
            forwarded: self.forwarded.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            reordered: self.reordered.load(Ordering::Relaxed),
        }
    }
}

/// SplitMix64: a small deterministic generator for the fault decisions.
struct Prng(u64);

impl Prng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// True with probability `percent`/100.
    fn chance(&mut self, percent: u32) -> bool {
        percent > 0 && self.next() % 100 < u64::from(percent)
    }
}

struct InFlight {
    due: Instant,
    /// Order in which the frame was sent (to count overtaking).
    sent: u64,
    frame: Vec<u8>,
}

/// Move frames from `from` (what one stack transmits) to `to` (what the other receives),
/// forever; `direction` tells the two pumps of a link apart.
pub async fn pump(
    mut from: ch::TxRunner<'static, MTU>,
    mut to: ch::RxRunner<'static, MTU>,
    control: Arc<LinkControl>,
    direction: u64,
) -> ! {
    let mut prng = Prng(control.seed.load(Ordering::Relaxed) ^ direction.wrapping_mul(0xA076_1D64_78BD_642F));
    let mut queue: VecDeque<InFlight> = VecDeque::new();
    // Frames passed since the last drop.
    let mut since_drop = u32::MAX;
    let mut sent = 0u64;
    let mut delivered_up_to = 0u64;
    loop {
        let next_due = queue.front().map(|f| f.due);
        let deadline = async move {
            match next_due {
                Some(at) => Timer::at(at).await,
                None => core::future::pending().await,
            }
        };
        if let Either::First(frame) = select(from.tx_buf(), deadline).await {
            let frame = frame.to_vec();
            from.tx_done();
            sent += 1;
            let c = &*control;
            let drop = c.cut.load(Ordering::Relaxed) || {
                let lose = prng.chance(c.drop_percent.load(Ordering::Relaxed));
                lose && since_drop >= c.spacing.load(Ordering::Relaxed)
            };
            if drop {
                since_drop = 0;
                c.dropped.fetch_add(1, Ordering::Relaxed);
            } else {
                since_drop = since_drop.saturating_add(1);
                let mut due = Instant::now() + Duration::from_micros(c.delay_us.load(Ordering::Relaxed));
                if prng.chance(c.reorder_percent.load(Ordering::Relaxed)) {
                    due += Duration::from_micros(c.reorder_hold_us.load(Ordering::Relaxed));
                }
                // Sorted by due time, first come first served among equals.
                let at = queue.iter().position(|f| f.due > due).unwrap_or(queue.len());
                queue.insert(at, InFlight { due, sent, frame });
            }
        }
        let now = Instant::now();
        while queue.front().is_some_and(|f| f.due <= now) {
            let Some(f) = queue.pop_front() else { break };
            if f.sent < delivered_up_to {
                control.reordered.fetch_add(1, Ordering::Relaxed);
            }
            delivered_up_to = delivered_up_to.max(f.sent);
            let buf = to.rx_buf().await;
            let len = f.frame.len().min(buf.len());
            buf[..len].copy_from_slice(&f.frame[..len]);
            to.rx_done(len);
            control.forwarded.fetch_add(1, Ordering::Relaxed);
        }
    }
}
