//! Pyro5's `distributed-computing` example, its dispatcher: a work queue and a result queue
//! shared by the client, which puts work items and gets results, and the workers, which get
//! work items and put results (`getWork` and `getResult` wait up to a timeout, then raise
//! `ValueError`). The items (Python `workitem.Workitem` objects) are kept as the values they
//! arrive as and sent back unchanged. Registered by name
//! (`example.distributed.dispatcher`) in the name server.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use pyro5_examples::{Class, serve};
use pyro5_std::core::ser::value::Value;
use pyro5_std::core::server::PyException;
use pyro5_std::{InstanceMode, expose};

/// A queue of values that a taker waits on.
#[derive(Default)]
struct Queue {
    items: Mutex<VecDeque<Value>>,
    ready: Condvar,
}

impl Queue {
    fn put(&self, item: Value) {
        self.items.lock().unwrap_or_else(PoisonError::into_inner).push_back(item);
        self.ready.notify_one();
    }

    /// The first item, waiting up to `timeout` seconds for one.
    fn get(&self, timeout: f64) -> Option<Value> {
        let deadline = Instant::now() + Duration::try_from_secs_f64(timeout).unwrap_or_default();
        let mut items = self.items.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(item) = items.pop_front() {
                return Some(item);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            items = self.ready.wait_timeout(items, left).unwrap_or_else(PoisonError::into_inner).0;
        }
    }

    fn len(&self) -> usize {
        self.items.lock().unwrap_or_else(PoisonError::into_inner).len()
    }
}

/// One dispatcher for everyone (`single` in Python); its calls run at the same time (each on
/// a clone sharing the queues), so that a worker waiting for work holds up no one.
#[derive(Clone, Default)]
struct DispatcherQueue {
    work: Arc<Queue>,
    results: Arc<Queue>,
}

#[expose(class = "DispatcherQueue")]
impl DispatcherQueue {
    #[pyro5(name = "putWork")]
    fn put_work(&self, item: Value) {
        self.work.put(item);
    }

    #[pyro5(name = "getWork")]
    fn get_work(&self, timeout: Option<f64>) -> Result<Value, PyException<&'static str>> {
        self.work.get(timeout.unwrap_or(5.0)).ok_or(PyException::value_error("no items in queue"))
    }

    #[pyro5(name = "putResult")]
    fn put_result(&self, item: Value) {
        self.results.put(item);
    }

    #[pyro5(name = "getResult")]
    fn get_result(&self, timeout: Option<f64>) -> Result<Value, PyException<&'static str>> {
        self.results.get(timeout.unwrap_or(5.0)).ok_or(PyException::value_error("no result available"))
    }

    #[pyro5(name = "workQueueSize")]
    fn work_queue_size(&self) -> usize {
        self.work.len()
    }

    #[pyro5(name = "resultQueueSize")]
    fn result_queue_size(&self) -> usize {
        self.results.len()
    }
}

fn main() -> pyro5_examples::Result {
    let dispatcher = DispatcherQueue::default();
    serve(
        vec![Class::new(
            "dispatcher.DispatcherQueue",
            InstanceMode::PerCall,
            move || dispatcher.clone(),
            "example.distributed.dispatcher",
        )],
        None,
        true,
    )
}
