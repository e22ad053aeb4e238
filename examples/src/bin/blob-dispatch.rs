//! Pyro5's `blob-dispatch` example, its dispatcher (`dispatcher/dispatcher.py`): one
//! `Dispatcher` for everyone (the `single` instance mode) that keeps, per topic, the
//! listeners registered for it (proxies to the listeners' objects), and passes every blob a
//! client sends on to the listeners of its topic (the blob's `info`) without reading it: the
//! client's `CustomData` reaches the listeners still serialized, and this server knows
//! nothing of its class. Registered by name (`example.blobdispatcher`) in the name server.

use std::collections::BTreeMap;

use pyro5_examples::{Class, serve};
use pyro5_std::{InstanceMode, Proxy, Reraise, SerializedBlob, expose};

#[derive(Default)]
struct Dispatcher {
    listeners: BTreeMap<String, Vec<Proxy>>,
}

#[expose]
impl Dispatcher {
    fn register(&mut self, topic: String, listener: Proxy) {
        println!("New listener for topic {topic} registered: {}", listener.uri());
        self.listeners.entry(topic).or_default().push(listener);
    }

    /// Pass `blob` on to the listeners of its topic, unread.
    fn process_blob(&self, blob: SerializedBlob<'_>) -> Result<(), Reraise> {
        // A topic that is no string (Python would take any hashable value) has no listeners.
        let topic: String = blob.info().unwrap_or_default();
        println!("Dispatching blob with name: {topic}");
        for listener in self.listeners.get(&topic).into_iter().flatten() {
            listener.claim_ownership();
            listener.call_blob::<()>("process_blob", &blob)?;
        }
        Ok(())
    }
}

fn main() -> pyro5_examples::Result {
    serve(
        vec![Class::new("__main__.Dispatcher", InstanceMode::Single, Dispatcher::default, "example.blobdispatcher")],
        None,
        true,
    )
}
