//! Resources tracked per client connection (Pyro's `current_context.track_resource`): what a
//! client allocated through its calls and should free itself, closed by the daemon when the
//! client's connection ends first.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

use pyro5_core::server::ConnectionId;

/// Something a client allocated that the daemon closes if the client's connection ends while
/// it is still tracked (Python's resources with a `close` method). A `&dyn Resource` from
/// [`Resources::tracked`] upcasts to `&dyn Any` to be downcast to its type.
pub trait Resource: std::any::Any + Send + Sync {
    /// Free it: the client that allocated it is gone.
    fn close(&self);
}

/// The resources tracked for each connection of a daemon ([`Daemon::resources`]): capture
/// this handle in an object, track what a call allocates for its client (`ctx.connection`)
/// and untrack it when the client frees it. As Python's, the daemon keeps weak references:
/// a resource dropped by its owner meanwhile is not closed. When a connection ends, after
/// the [disconnect hook](super::Daemon::set_disconnect_hook) (which may still list them with
/// [`tracked`](Self::tracked)), its resources still alive are closed. A handle shared with
/// the daemon, cheap to clone.
///
/// [`Daemon::resources`]: super::Daemon::resources
#[derive(Clone, Default)]
pub struct Resources(Arc<Mutex<Tracked>>);

/// The weak references to each connection's resources.
type Tracked = HashMap<ConnectionId, Vec<Weak<dyn Resource>>>;

impl std::fmt::Debug for Resources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let counts: HashMap<u64, usize> = self.lock().iter().map(|(c, r)| (c.0, r.len())).collect();
        f.debug_tuple("Resources").field(&counts).finish()
    }
}

impl Resources {
    /// Close `resource` when `connection` ends, unless it is untracked or dropped before.
    pub fn track<R: Resource + 'static>(&self, connection: ConnectionId, resource: &Arc<R>) {
        let resource: Arc<dyn Resource> = resource.clone();
        let mut tracked = self.lock();
        let list = tracked.entry(connection).or_default();
        list.retain(|r| r.strong_count() > 0);
        if !list.iter().any(|r| same(r, &resource)) {
            list.push(Arc::downgrade(&resource));
        }
    }

    /// Stop tracking `resource` for `connection` (its client freed it).
    pub fn untrack<R: Resource + 'static>(&self, connection: ConnectionId, resource: &Arc<R>) {
        let resource: Arc<dyn Resource> = resource.clone();
        if let Some(list) = self.lock().get_mut(&connection) {
            list.retain(|r| r.strong_count() > 0 && !same(r, &resource));
        }
    }

    /// The resources tracked for `connection` and still alive, in the order tracked.
    pub fn tracked(&self, connection: ConnectionId) -> Vec<Arc<dyn Resource>> {
        self.lock().get(&connection).map(|list| list.iter().filter_map(Weak::upgrade).collect()).unwrap_or_default()
    }

    /// `connection` ended: close what is still tracked for it (a panic in a `close` is
    /// logged and the others are closed still).
    pub(crate) fn close_all(&self, connection: ConnectionId) {
        let Some(list) = self.lock().remove(&connection) else { return };
        for resource in list.iter().filter_map(Weak::upgrade) {
            if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| resource.close())).is_err() {
                log::error!("connection {}: closing a tracked resource panicked", connection.0);
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, Tracked> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Whether `weak` points at `resource`.
fn same(weak: &Weak<dyn Resource>, resource: &Arc<dyn Resource>) -> bool {
    std::ptr::addr_eq(weak.as_ptr(), Arc::as_ptr(resource))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    struct Counted(AtomicUsize);

    impl Resource for Counted {
        fn close(&self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn what_is_still_tracked_and_alive_is_closed_once() {
        let resources = Resources::default();
        let (a, b, c) = (ConnectionId(1), ConnectionId(2), ConnectionId(3));
        let kept = Arc::new(Counted(AtomicUsize::new(0)));
        let freed = Arc::new(Counted(AtomicUsize::new(0)));
        let dropped = Arc::new(Counted(AtomicUsize::new(0)));
        let other = Arc::new(Counted(AtomicUsize::new(0)));
        resources.track(a, &kept);
        resources.track(a, &kept);
        resources.track(a, &freed);
        resources.track(a, &dropped);
        resources.track(b, &other);
        resources.untrack(a, &freed);
        let watch = Arc::downgrade(&dropped);
        drop(dropped);
        assert_eq!(resources.tracked(a).len(), 1, "tracked once, the freed and the dropped ones left out");
        resources.close_all(a);
        resources.close_all(a);
        resources.close_all(c);
        assert_eq!(kept.0.load(Ordering::SeqCst), 1);
        assert_eq!(freed.0.load(Ordering::SeqCst), 0);
        assert!(watch.upgrade().is_none());
        assert_eq!(other.0.load(Ordering::SeqCst), 0, "another connection's");
        assert!(resources.tracked(a).is_empty());
    }
}
