//! Pyro5's `banks` example: two banks, one object each for everyone (Python's `single`
//! instance mode), registered in the name server under `example.banks.`, where the client
//! finds them by listing that prefix. Both keep accounts by name; the Rabobank's can be
//! overdrawn, the ABN bank's refuse a withdrawal over the balance (`ValueError`). An
//! unknown account raises `KeyError`.

use pyro5_examples::daemon;
use pyro5_std::core::ser::value::Value;
use pyro5_std::core::server::{KEY_ERROR, PyException, VALUE_ERROR};
use pyro5_std::locate::{locate_ns, python_str_repr};
use pyro5_std::{InstanceMode, expose};

type Raised = PyException<&'static str>;

/// The error for an account the bank does not have.
const UNKNOWN: Raised = PyException::new(KEY_ERROR, "unknown account");

/// A bank: its name, whether its accounts refuse to be overdrawn, and the accounts with
/// their balances in the order they were made (as Python's `dict` keeps them).
struct Bank {
    name: &'static str,
    restricted: bool,
    accounts: Vec<(String, f64)>,
}

impl Bank {
    fn new(name: &'static str, restricted: bool) -> Self {
        Self { name, restricted, accounts: Vec::new() }
    }

    fn account(&mut self, name: &str) -> Result<&mut f64, Raised> {
        self.accounts.iter_mut().find(|(n, _)| n == name).map(|(_, balance)| balance).ok_or(UNKNOWN)
    }
}

#[expose(class = "banks.Bank")]
impl Bank {
    fn name(&self) -> &'static str {
        self.name
    }

    #[pyro5(name = "createAccount")]
    fn create_account(&mut self, name: String) -> Result<(), Raised> {
        if self.accounts.iter().any(|(n, _)| *n == name) {
            return Err(PyException::new(VALUE_ERROR, "Account already exists"));
        }
        self.accounts.push((name, 0.0));
        Ok(())
    }

    #[pyro5(name = "deleteAccount")]
    fn delete_account(&mut self, name: &str) -> Result<(), Raised> {
        let at = self.accounts.iter().position(|(n, _)| n == name).ok_or(UNKNOWN)?;
        self.accounts.remove(at);
        Ok(())
    }

    fn deposit(&mut self, name: &str, amount: f64) -> Result<(), Raised> {
        *self.account(name)? += amount;
        Ok(())
    }

    fn withdraw(&mut self, name: &str, amount: f64) -> Result<(), Raised> {
        let restricted = self.restricted;
        let balance = self.account(name)?;
        if restricted && amount > *balance {
            return Err(PyException::new(VALUE_ERROR, "insufficent balance"));
        }
        *balance -= amount;
        Ok(())
    }

    fn balance(&mut self, name: &str) -> Result<f64, Raised> {
        self.account(name).map(|balance| *balance)
    }

    /// Every account's balance, a `dict` in the order the accounts were made.
    #[pyro5(name = "allAccounts")]
    fn all_accounts(&self) -> Value {
        Value::Dict(
            self.accounts.iter().map(|(name, balance)| (Value::Str(name.clone()), Value::Float(*balance))).collect(),
        )
    }
}

fn main() -> pyro5_examples::Result {
    let daemon = daemon()?;
    let mut ns = locate_ns(None, None)?;
    let uri = daemon.register_class(InstanceMode::Single, || Bank::new("Rabobank", false), None)?;
    ns.register("example.banks.rabobank", &uri, false)?;
    let uri = daemon.register_class(InstanceMode::Single, || Bank::new("ABN bank", true), None)?;
    ns.register("example.banks.abn", &uri, false)?;
    println!("available banks:");
    let names: Vec<String> = ns.list(Some("example.banks."))?.into_keys().map(|n| python_str_repr(&n)).collect();
    println!("[{}]", names.join(", "));
    drop(ns);
    println!("Banks are ready for customers.");
    daemon.request_loop()?;
    Ok(())
}
