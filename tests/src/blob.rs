//! Serialized blobs with the real Python Pyro5 (`tests/python/blob_peer.py`), for the blob
//! tests and benchmark: our dispatcher, which passes blobs on unread, and Python's
//! dispatcher and listener.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;

use pyro5_std::core::ser::value::Value;
use pyro5_std::{Proxy, Reraise, SerializedBlob, expose};

use crate::{python, workspace_root};

/// Passes blobs on to the listeners of their topic (their `info`), without reading them:
/// the answers of the listeners, in the order they registered.
pub struct Dispatcher {
    listeners: Mutex<HashMap<String, Vec<Proxy>>>,
    /// Pass blobs on through the async proxy instead of the std one.
    through_async: bool,
}

impl Dispatcher {
    /// A dispatcher with no listeners; `through_async`: it passes blobs on through
    /// `pyro5_tokio::Proxy` (a runtime made for each call) instead of the std proxy.
    pub fn new(through_async: bool) -> Self {
        Self { listeners: Mutex::default(), through_async }
    }
}

#[expose(class = "blobtest.Dispatcher")]
impl Dispatcher {
    fn register(&self, topic: String, listener: Proxy) {
        self.listeners.lock().unwrap().entry(topic).or_default().push(listener);
    }

    fn process_blob(&self, blob: SerializedBlob<'_>) -> Result<Vec<Value>, Reraise> {
        let topic: String = blob.info().unwrap_or_default();
        let listeners = self.listeners.lock().unwrap();
        let mut answers = Vec::new();
        for listener in listeners.get(&topic).into_iter().flatten() {
            let answer = if self.through_async {
                let listener = pyro5_tokio::Proxy::from_state(listener.to_state(), &pyro5_std::Config::default())
                    .expect("the same proxy, async");
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
                runtime.block_on(listener.call_blob("process_blob", &blob))?
            } else {
                listener.call_blob("process_blob", &blob)?
            };
            answers.push(answer);
        }
        Ok(answers)
    }
}

/// Python's dispatcher and listener (`blob_peer.py serve`), stopped when dropped.
pub struct PythonPeer {
    child: Child,
    _stdin: ChildStdin,
    /// The dispatcher's URI.
    pub dispatcher: String,
    /// The listener's URI.
    pub listener: String,
}

impl PythonPeer {
    /// Start them, their proxies passing blobs on in `serializer`.
    pub fn start(serializer: &str) -> Self {
        let mut child = Command::new(python())
            .arg(workspace_root().join("tests/python/blob_peer.py"))
            .args(["serve", serializer])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the Python daemon");
        let stdin = child.stdin.take().expect("piped");
        let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
        let mut uri = || lines.next().expect("a URI").expect("its output");
        let (dispatcher, listener) = (uri(), uri());
        Self { child, _stdin: stdin, dispatcher, listener }
    }
}

impl Drop for PythonPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
