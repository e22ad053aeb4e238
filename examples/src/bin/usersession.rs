//! Pyro5's `usersession` example: a key-value database whose connections refuse to be used
//! by two threads at once, served two ways, registered by name in the name server:
//! - `example.usersession.singletondb`: one object for everyone (`single`) on one database
//!   connection, the user taken from each call's `USER` annotation; concurrent clients
//!   collide on the connection and get its `RuntimeError`;
//! - `example.usersession.sessiondb`: an object per client connection (`session`), each
//!   with a database connection of its own for the user of the call that made it.
//!
//! Users other than `user123` and `admin` get an `AssertionError` ("access denied").

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::Duration;

use pyro5_examples::{Class, serve};
use pyro5_std::core::ser::value::Value;
use pyro5_std::core::server::{CallContext, KEY_ERROR, PyException, RUNTIME_ERROR};
use pyro5_std::core::wire::AnnotationId;
use pyro5_std::{InstanceMode, expose};

type Raised = PyException<String>;

const ASSERTION_ERROR: &str = "builtins.AssertionError";

/// The annotation that names the user.
const USER: AnnotationId = match AnnotationId::new(*b"USER") {
    Ok(id) => id,
    Err(_) => panic!("annotation ids are ASCII"),
};

/// The key-value store, slow on purpose (up to a tenth of a second per access).
#[derive(Default)]
struct Database {
    storage: Mutex<HashMap<String, Value>>,
}

impl Database {
    const ALLOWED_USERS: [&str; 2] = ["user123", "admin"];

    fn delay() {
        thread::sleep(Duration::from_millis(fastrand::u64(0..100)));
    }

    fn set(&self, key: &str, value: Value) {
        Self::delay();
        self.storage.lock().unwrap_or_else(PoisonError::into_inner).insert(key.to_string(), value);
    }

    fn get(&self, key: &str) -> Option<Value> {
        Self::delay();
        self.storage.lock().unwrap_or_else(PoisonError::into_inner).get(key).cloned()
    }
}

/// A connection to the database that only one thread may use at a time: a second one
/// gets an error instead of waiting.
struct Connection {
    db: Arc<Database>,
    user: Option<String>,
    in_use: Mutex<()>,
}

impl Connection {
    fn new(db: &Arc<Database>, user: Option<String>) -> Self {
        Self { db: Arc::clone(db), user, in_use: Mutex::new(()) }
    }

    fn check_user<'u>(&'u self, user: Option<&'u str>) -> Result<&'u str, Raised> {
        match user.or(self.user.as_deref()) {
            Some(user) if Database::ALLOWED_USERS.contains(&user) => Ok(user),
            _ => Err(PyException::new(ASSERTION_ERROR, "access denied".to_string())),
        }
    }

    fn store(&self, key: &str, value: Value, user: Option<&str>) -> Result<(), Raised> {
        let user = self.check_user(user)?;
        let Ok(_using) = self.in_use.try_lock() else {
            return Err(PyException::new(
                RUNTIME_ERROR,
                "ERROR: concurrent connection access (write) by multiple different threads".to_string(),
            ));
        };
        println!("DB: user {user} stores: {key} = {}", show(&value));
        self.db.set(key, value);
        Ok(())
    }

    fn retrieve(&self, key: &str, user: Option<&str>) -> Result<Value, Raised> {
        let user = self.check_user(user)?;
        let Ok(_using) = self.in_use.try_lock() else {
            return Err(PyException::new(
                RUNTIME_ERROR,
                "ERROR: concurrent connection access (read) by multiple different threads".to_string(),
            ));
        };
        println!("DB: user {user} retrieve: {key}");
        self.db.get(key).ok_or_else(|| PyException::new(KEY_ERROR, key.to_string()))
    }
}

/// A value as the server prints it.
fn show(value: &Value) -> String {
    match value {
        Value::Int(n) => n.to_string(),
        Value::Str(text) => text.clone(),
        other => format!("{other:?}"),
    }
}

/// The user a call's `USER` annotation names.
fn user<'c>(ctx: &CallContext<'c>) -> Result<&'c str, Raised> {
    let Some(value) = ctx.annotations.get(USER) else { return Err(PyException::new(KEY_ERROR, "USER".to_string())) };
    std::str::from_utf8(value).map_err(|_| PyException::new(ASSERTION_ERROR, "access denied".to_string()))
}

/// One object and one connection for everyone; calls run at the same time (each on a
/// clone), as on Python's object.
#[derive(Clone)]
struct SingletonDatabase {
    conn: Arc<Connection>,
}

#[expose]
impl SingletonDatabase {
    fn store(&self, key: &str, value: Value, ctx: &CallContext<'_>) -> Result<(), Raised> {
        self.conn.store(key, value, Some(user(ctx)?))
    }

    fn retrieve(&self, key: &str, ctx: &CallContext<'_>) -> Result<Value, Raised> {
        self.conn.retrieve(key, Some(user(ctx)?))
    }

    fn ping(&self) -> &'static str {
        "hi"
    }
}

/// An object per client connection, its database connection made for the user of the
/// first call (the one the object was made for).
struct SessionboundDatabase {
    db: Arc<Database>,
    connection: Option<Connection>,
}

impl SessionboundDatabase {
    fn connection(&mut self, ctx: &CallContext<'_>) -> Result<&Connection, Raised> {
        if self.connection.is_none() {
            let user = user(ctx)?;
            println!("[SessionboundDatabase] new instance and connection for user: {user}");
            self.connection = Some(Connection::new(&self.db, Some(user.to_string())));
        }
        Ok(self.connection.as_ref().expect("made above"))
    }
}

#[expose]
impl SessionboundDatabase {
    fn store(&mut self, key: &str, value: Value, ctx: &CallContext<'_>) -> Result<(), Raised> {
        self.connection(ctx)?.store(key, value, None)
    }

    fn retrieve(&mut self, key: &str, ctx: &CallContext<'_>) -> Result<Value, Raised> {
        self.connection(ctx)?.retrieve(key, None)
    }

    fn ping(&self) -> &'static str {
        "hi"
    }
}

fn main() -> pyro5_examples::Result {
    let database = Arc::new(Database::default());
    println!("[SingletonDatabase] new instance and connection");
    let singleton = SingletonDatabase { conn: Arc::new(Connection::new(&database, None)) };
    serve(
        vec![
            Class::new(
                "server.SingletonDatabase",
                InstanceMode::PerCall,
                move || singleton.clone(),
                "example.usersession.singletondb",
            ),
            Class::new(
                "server.SessionboundDatabase",
                InstanceMode::Session,
                move || SessionboundDatabase { db: Arc::clone(&database), connection: None },
                "example.usersession.sessiondb",
            ),
        ],
        None,
        true,
    )
}
