//! One in-process network per test: an embassy std executor on a thread of its own running
//! two embassy-net stacks (the device at 10.42.0.1, the client at 10.42.0.2) joined by two
//! channel devices and the link pumps, the device's Pyro daemon, and the scenarios the test
//! thread hands over.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::{Duration as StdDuration, Instant as StdInstant};

use embassy_executor::{Executor, Spawner};
use embassy_net::{Config, IpEndpoint, Ipv4Address, Ipv4Cidr, Runner, Stack, StackResources, StaticConfigV4};
use embassy_net_driver_channel as ch;
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::channel::Channel;
use pyro5_core::server::StreamConfig;

use super::device::{self, Probe, Settings};
use super::link::{self, Faults, LinkControl, MTU};

/// Worlds one test process may create (each takes task slots for good).
const MAX_WORLDS: usize = 32;
/// Frames queued per direction in each channel device.
const QUEUE: usize = 8;

/// The device's address.
pub const DEVICE_IP: Ipv4Address = Ipv4Address::new(10, 42, 0, 1);
/// The client's address.
pub const CLIENT_IP: Ipv4Address = Ipv4Address::new(10, 42, 0, 2);

type Device = ch::Device<'static, MTU>;
type LocalFuture = Pin<Box<dyn Future<Output = ()>>>;

enum Job {
    Run(Box<dyn FnOnce(Net) -> LocalFuture + Send>),
    Stop,
}

type Jobs = Channel<CriticalSectionRawMutex, Job, 4>;

/// The two stacks, as a scenario sees them.
#[derive(Clone, Copy)]
pub struct Net {
    /// The client's stack (10.42.0.2).
    pub client: Stack<'static>,
    /// The device's stack (10.42.0.1), serving [`device::OBJECT`] on [`device::PORT`].
    pub device: Stack<'static>,
}

impl Net {
    /// Where the device's daemon listens.
    pub fn daemon() -> IpEndpoint {
        (DEVICE_IP, device::PORT).into()
    }
}

#[embassy_executor::task(pool_size = 2 * MAX_WORLDS)]
async fn net_task(mut runner: Runner<'static, Device>) -> ! {
    runner.run().await
}

#[embassy_executor::task(pool_size = 2 * MAX_WORLDS)]
async fn pump_task(
    from: ch::TxRunner<'static, MTU>,
    to: ch::RxRunner<'static, MTU>,
    control: Arc<LinkControl>,
    direction: u64,
) -> ! {
    link::pump(from, to, control, direction).await
}

#[embassy_executor::task(pool_size = MAX_WORLDS)]
async fn device_task(stack: Stack<'static>, probe: Arc<Probe>, settings: Settings) -> ! {
    device::run(stack, probe, settings).await
}

#[embassy_executor::task(pool_size = MAX_WORLDS)]
async fn jobs_task(spawner: Spawner, jobs: Arc<Jobs>, net: Net) {
    net.client.wait_config_up().await;
    net.device.wait_config_up().await;
    loop {
        match jobs.receive().await {
            Job::Run(job) => spawner.spawn(job_task(job(net)).expect("a free job slot")),
            Job::Stop => return,
        }
    }
}

#[embassy_executor::task(pool_size = 4 * MAX_WORLDS)]
async fn job_task(job: LocalFuture) {
    job.await;
}

/// A running network; dropping it stops its executor.
pub struct World {
    jobs: Arc<Jobs>,
    stop: Arc<AtomicBool>,
    executor: thread::JoinHandle<()>,
    /// The link's faults and counters.
    pub link: Arc<LinkControl>,
    /// The device object's side effects.
    pub probe: Arc<Probe>,
}

impl World {
    /// Start a network whose link has `faults`, the daemon with Pyro's stream settings.
    pub fn start(faults: Faults) -> Self {
        Self::start_device(faults, Settings::default())
    }

    /// Start a network whose link has `faults`, the daemon's item streams expiring by
    /// `streams`.
    pub fn start_with(faults: Faults, streams: StreamConfig) -> Self {
        Self::start_device(faults, Settings { streams, ..Settings::default() })
    }

    /// Start a network whose link has `faults`, the daemon configured by `settings`.
    pub fn start_device(faults: Faults, settings: Settings) -> Self {
        let _ = env_logger::builder().is_test(true).try_init();
        let link = LinkControl::new(faults);
        let probe = Arc::new(Probe::default());
        let jobs = Arc::new(Jobs::new());
        let stop = Arc::new(AtomicBool::new(false));
        let (queue, flag, control, effects) = (jobs.clone(), stop.clone(), link.clone(), probe.clone());
        let executor = thread::Builder::new()
            .name("embassy".into())
            .spawn(move || {
                let executor = Box::leak(Box::new(Executor::new()));
                let done = move || flag.load(Ordering::Relaxed);
                executor.run_until(move |spawner| build(spawner, control, effects, queue, settings), done);
            })
            .expect("an executor thread");
        Self { jobs, stop, executor, link, probe }
    }

    /// Run `scenario` on the executor and wait (at most `limit`) for its result.
    ///
    /// # Panics
    /// When the scenario does not finish in time or the executor stopped.
    pub fn run<T, F, Fut>(&self, limit: StdDuration, scenario: F) -> T
    where
        T: Send + 'static,
        F: FnOnce(Net) -> Fut + Send + 'static,
        Fut: Future<Output = T> + 'static,
    {
        let (tx, rx) = mpsc::channel();
        self.spawn(move |net| async move {
            let _ = tx.send(scenario(net).await);
        });
        let until = StdInstant::now() + limit;
        loop {
            match rx.recv_timeout(StdDuration::from_millis(50)) {
                Ok(value) => return value,
                Err(RecvTimeoutError::Timeout) if self.executor.is_finished() => {
                    panic!("the executor stopped: a task panicked (see above)")
                }
                Err(RecvTimeoutError::Timeout) if StdInstant::now() > until => {
                    panic!("the scenario did not finish within {limit:?}")
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => panic!("the scenario was dropped unfinished"),
            }
        }
    }

    /// Run `task` on the executor without waiting for it.
    pub fn spawn<F, Fut>(&self, task: F)
    where
        F: FnOnce(Net) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        self.submit(Job::Run(Box::new(move |net| Box::pin(task(net)))));
    }

    /// Set when the world is dropped (for threads serving it).
    pub fn stopped(&self) -> Arc<AtomicBool> {
        self.stop.clone()
    }

    fn submit(&self, mut job: Job) {
        for _ in 0..1000 {
            match self.jobs.try_send(job) {
                Ok(()) => return,
                Err(embassy_sync::channel::TrySendError::Full(back)) => job = back,
            }
            thread::sleep(StdDuration::from_millis(1));
        }
        panic!("the executor takes no jobs");
    }
}

impl Drop for World {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wakes the executor, which then sees the flag and returns.
        let _ = self.jobs.try_send(Job::Stop);
    }
}

fn build(spawner: Spawner, link: Arc<LinkControl>, probe: Arc<Probe>, jobs: Arc<Jobs>, settings: Settings) {
    let (device, device_link) = stack(spawner, [0x02, 0, 0, 0, 0, 0x01], DEVICE_IP, 0xD1CE);
    let (client, client_link) = stack(spawner, [0x02, 0, 0, 0, 0, 0x02], CLIENT_IP, 0xC11E);
    let (_, device_rx, device_tx) = device_link.split();
    let (_, client_rx, client_tx) = client_link.split();
    spawner.spawn(pump_task(device_tx, client_rx, link.clone(), 1).expect("a free pump slot"));
    spawner.spawn(pump_task(client_tx, device_rx, link, 2).expect("a free pump slot"));
    spawner.spawn(device_task(device, probe, settings).expect("a free device slot"));
    spawner.spawn(jobs_task(spawner, jobs, Net { client, device }).expect("a free jobs slot"));
}

/// A stack on a channel device whose link is up; the channel's lower end is returned for
/// the pumps.
fn stack(spawner: Spawner, mac: [u8; 6], ip: Ipv4Address, seed: u64) -> (Stack<'static>, ch::Runner<'static, MTU>) {
    let state = Box::leak(Box::new(ch::State::<MTU, QUEUE, QUEUE>::new()));
    let (mut runner, device) = ch::new(state, ch::driver::HardwareAddress::Ethernet(mac));
    runner.set_link_state(ch::driver::LinkState::Up);
    let config = Config::ipv4_static(StaticConfigV4 {
        address: Ipv4Cidr::new(ip, 24),
        gateway: None,
        dns_servers: Default::default(),
    });
    let resources = Box::leak(Box::new(StackResources::<8>::new()));
    let (stack, net_runner) = embassy_net::new(device, config, resources, seed);
    spawner.spawn(net_task(net_runner).expect("a free network slot"));
    (stack, runner)
}
