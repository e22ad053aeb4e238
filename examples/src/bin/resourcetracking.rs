//! Pyro5's `resourcetracking` example: one `Service` for everyone (the `single` instance
//! mode) that allocates named (fictional) resources for its clients and tracks each for the
//! client's connection (Pyro's `current_context.track_resource`). A client that frees its
//! resources untracks them; one whose connection ends first (killed, aborted) has them
//! closed by the daemon. The daemon says so when a client disconnects, with the resources
//! still tracked for it (Python's example overrides `clientDisconnect`). Served as `service`
//! in the daemon, without a name server; the client asks for the URI.

use std::sync::{Arc, Mutex, Weak};

use pyro5_examples::{Class, daemon, python_address, serve};
use pyro5_std::core::server::CallContext;
use pyro5_std::{InstanceMode, Resource, Resources, expose};

/// The service's resources, shared with each resource (which leaves it when closed).
type Collection = Arc<Mutex<Vec<Arc<NamedResource>>>>;

/// A fictional resource that must be freed again.
struct NamedResource {
    name: String,
    collection: Weak<Mutex<Vec<Arc<NamedResource>>>>,
}

impl Resource for NamedResource {
    fn close(&self) {
        println!("Resource: closing {}", self.name);
        if let Some(collection) = self.collection.upgrade() {
            collection.lock().unwrap().retain(|r| !std::ptr::eq(Arc::as_ptr(r), self));
        }
    }
}

struct Service {
    resources: Collection,
    tracked: Resources,
}

#[expose]
impl Service {
    fn allocate(&self, name: String, ctx: &CallContext<'_>) {
        let resource = Arc::new(NamedResource { name: name.clone(), collection: Arc::downgrade(&self.resources) });
        self.resources.lock().unwrap().push(resource.clone());
        self.tracked.track(ctx.connection, &resource);
        let client = ctx.client.map(python_address).unwrap_or_else(|| "None".into());
        println!("service: allocated resource {name}  for client {client}");
    }

    fn free(&self, name: &str, ctx: &CallContext<'_>) {
        let freed: Vec<Arc<NamedResource>> = {
            let mut resources = self.resources.lock().unwrap();
            let (freed, kept) = resources.drain(..).partition(|r| r.name == name);
            *resources = kept;
            freed
        };
        for resource in freed {
            resource.close();
            self.tracked.untrack(ctx.connection, &resource);
        }
    }

    fn list(&self) -> Vec<String> {
        self.resources.lock().unwrap().iter().map(|r| r.name.clone()).collect()
    }
}

/// A Python list of strings as `print` shows it: `['a', 'b']`.
fn python_list(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
    format!("[{}]", quoted.join(", "))
}

fn main() -> pyro5_examples::Result {
    let daemon = daemon()?;
    let (peers, tracked) = (daemon.peers(), daemon.resources());
    daemon.set_disconnect_hook(move |connection| {
        let address = peers.address(connection).map(python_address).unwrap_or_default();
        println!("client disconnects: {address}");
        // The hook sees the resources still tracked; the daemon closes them after it.
        let names: Vec<String> = tracked
            .tracked(connection)
            .iter()
            .filter_map(|r| (r.as_ref() as &dyn std::any::Any).downcast_ref::<NamedResource>().map(|r| r.name.clone()))
            .collect();
        println!("    resources:  {}", python_list(&names));
    });
    let tracked = daemon.resources();
    let service = move || Service { resources: Collection::default(), tracked: tracked.clone() };
    serve(vec![Class::new("__main__.Service", InstanceMode::Single, service, "service")], Some(daemon), false)
}
