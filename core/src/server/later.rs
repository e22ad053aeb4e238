//! Calls answered by a future (feature `alloc`): what an `async fn` method of an object
//! gives the daemon, and what the daemon gives back to the adapter that runs futures
//! (`docs/objects.md`, "Async methods").
//!
//! An object answers a call with [`Reply::later`](super::Reply::later) and an [`AsyncCall`]:
//! a future that owns everything it needs (the decoded arguments, a handle on the object's
//! state) and ends with an [`AsyncAnswer`]. The adapter takes the call from
//! [`ServerConnection::start`](super::ServerConnection::start) as a [`Later`], runs the
//! future where it runs futures, and hands its answer to
//! [`ServerConnection::finish`](super::ServerConnection::finish). The connection holds the
//! call meanwhile: the client's next request waits, as with any call in progress.

use alloc::boxed::Box;
use core::fmt;
use core::future::Future;
use core::pin::Pin;

use super::{CallHandle, Replied, Reply};

/// Writes the answer an async method computed (a value or an exception), in the request's
/// format, once the connection is ready for it.
pub type AsyncAnswer = Box<dyn FnOnce(Reply<'_, '_>) -> Replied + Send>;

/// The work of an async method's call: a future owning all it uses, ending with the answer.
pub type AsyncCall = Pin<Box<dyn Future<Output = AsyncAnswer> + Send>>;

/// A call an object answered with a future.
pub struct Later {
    /// The call to [`finish`](super::ServerConnection::finish) with the future's answer;
    /// `None` for a oneway call (the connection went on: run the future and drop its answer).
    pub call: Option<CallHandle>,
    /// The method's work.
    pub future: AsyncCall,
}

impl fmt::Debug for Later {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Later").field("call", &self.call).finish_non_exhaustive()
    }
}
