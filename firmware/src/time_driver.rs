//! An `embassy-time` driver on the SysTick timer, which every Cortex-M has: SysTick
//! interrupts at [`TICK_HZ`](embassy_time_driver::TICK_HZ) (the `tick-hz-*` feature of
//! `embassy-time`; 100 Hz here) count the time, and the timers due are woken from an
//! `embassy-time-queue-utils` queue.
//!
//! A periodic tick keeps it simple and free of races between the counter and the alarm, at
//! the price of a wake-up per tick and a resolution of one tick (10 ms), plenty for network
//! timeouts. A tick lost (interrupts masked for longer than a tick, or an emulator that
//! drops SysTick interrupts) slows the time down; it never runs fast.
//! Nothing here is board specific except the core clock given to [`init`].

use core::cell::RefCell;
use core::task::Waker;

use cortex_m::peripheral::SYST;
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::exception;
use critical_section::Mutex;
use embassy_time_driver::{Driver, TICK_HZ};
use embassy_time_queue_utils::Queue;

/// The SysTick reload value must fit its 24-bit counter.
const SYST_MAX_RELOAD: u32 = 0x00FF_FFFF;

struct State {
    /// Ticks since [`init`].
    now: u64,
    /// The tick at which the queue must next be looked at (`u64::MAX`: nothing queued).
    alarm: u64,
    queue: Queue,
}

struct SysTickDriver {
    state: Mutex<RefCell<State>>,
}

impl SysTickDriver {
    /// One SysTick period has passed.
    fn tick(&self) {
        critical_section::with(|cs| {
            let mut state = self.state.borrow_ref_mut(cs);
            state.now += 1;
            if state.now >= state.alarm {
                let now = state.now;
                state.alarm = state.queue.next_expiration(now);
            }
        });
    }
}

impl Driver for SysTickDriver {
    fn now(&self) -> u64 {
        critical_section::with(|cs| self.state.borrow_ref(cs).now)
    }

    fn schedule_wake(&self, at: u64, waker: &Waker) {
        critical_section::with(|cs| {
            let mut state = self.state.borrow_ref_mut(cs);
            if state.queue.schedule_wake(at, waker) {
                // Wakes what is already due and finds the next expiration.
                let now = state.now;
                state.alarm = state.queue.next_expiration(now);
            }
        });
    }
}

embassy_time_driver::time_driver_impl!(static DRIVER: SysTickDriver = SysTickDriver {
    state: Mutex::new(RefCell::new(State { now: 0, alarm: u64::MAX, queue: Queue::new() })),
});

#[exception]
fn SysTick() {
    DRIVER.tick();
}

/// Start the time: SysTick counts the core clock (`core_clock_hz`, e.g. 25 MHz on MPS2
/// AN386) and interrupts [`TICK_HZ`] times a second. Time stands still until this is
/// called.
///
/// # Panics
/// If `core_clock_hz` is not a multiple of the tick rate or a tick is longer than SysTick's
/// 24-bit counter can count (more than 16.7 M core cycles).
pub fn init(mut syst: SYST, core_clock_hz: u32) {
    let tick_hz = u32::try_from(TICK_HZ).unwrap_or(u32::MAX);
    let cycles = core_clock_hz / tick_hz;
    assert!(cycles >= 1 && cycles * tick_hz == core_clock_hz && cycles - 1 <= SYST_MAX_RELOAD);
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(cycles - 1);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
}
