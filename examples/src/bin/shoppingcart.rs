//! Pyro5's `shoppingcart` example, `shopserver.py`: one `Shop` for everyone (the `single`
//! instance mode) with an inventory and the customers in the store. A customer who enters
//! gets a `ShoppingCart` registered in the daemon (a proxy to it: Pyro's autoproxy) and
//! fills it with calls of its own; the shop makes receipts for a customer's name or for a
//! cart handed back to it (the proxy the client holds), and lets a customer leave only with
//! an empty cart, whose registration then ends. Registered by name (`example.shop`) in the
//! name server; the client is `clients.py`.

use std::sync::{Arc, Mutex, PoisonError};

use pyro5_examples::{Class, asctime, daemon, object_id, register_proxy, serve};
use pyro5_std::core::ser::value::Value;
use pyro5_std::core::server::{KEY_ERROR, PyException};
use pyro5_std::{Daemon, InstanceMode, ObjectProxy, Proxy, expose};

/// Python's `Exception`.
const EXCEPTION: &str = "builtins.Exception";

/// What the shop sells, in Python's order.
const INVENTORY: [(&str, f64); 13] = [
    ("paper", 1.25),
    ("bread", 1.50),
    ("meat", 5.99),
    ("milk", 0.80),
    ("fruit", 2.65),
    ("chocolate", 3.99),
    ("pasta", 0.50),
    ("sauce", 1.20),
    ("vegetables", 1.40),
    ("cookies", 1.99),
    ("pizza", 3.60),
    ("shampoo", 2.22),
    ("whiskey", 24.99),
];

/// A shopping cart: its contents, shared by the cart registered in the daemon and the shop.
#[derive(Clone, Default)]
struct ShoppingCart {
    contents: Arc<Mutex<Vec<String>>>,
}

impl ShoppingCart {
    fn contents(&self) -> std::sync::MutexGuard<'_, Vec<String>> {
        self.contents.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cart's number, as Python's `id` of it.
    fn id(&self) -> usize {
        Arc::as_ptr(&self.contents) as usize
    }
}

#[expose(class = "shoppingcart.ShoppingCart")]
impl ShoppingCart {
    fn purchase(&self, item: String) {
        println!("({item} put into shoppingcart {})", self.id());
        self.contents().push(item);
    }

    fn empty(&self) {
        self.contents().clear();
    }

    #[pyro5(name = "getContents")]
    fn get_contents(&self) -> Vec<String> {
        self.contents().clone()
    }
}

/// A customer in the store: their name, their cart and its object id.
struct Customer {
    name: String,
    cart: ShoppingCart,
    id: String,
}

struct Shop {
    daemon: Daemon,
    customers: Vec<Customer>,
}

impl Shop {
    fn customer(&self, name: &str) -> Result<&Customer, PyException<String>> {
        self.customers.iter().find(|c| c.name == name).ok_or_else(|| PyException::new(KEY_ERROR, format!("'{name}'")))
    }

    /// The receipt for `cart`'s contents, which are then taken out.
    fn receipt(cart: &ShoppingCart, name: Option<&str>) -> String {
        let mut receipt = Vec::new();
        if let Some(name) = name.filter(|n| !n.is_empty()) {
            receipt.push(format!("Receipt for {name}."));
        }
        receipt.push(format!("Receipt Date: {}", asctime()));
        let mut total = 0.0;
        for item in cart.contents().iter() {
            let price = INVENTORY.iter().find(|(name, _)| name == item).map_or(0.0, |(_, price)| *price);
            total += price;
            receipt.push(format!("{item:>13}  {price:.2}"));
        }
        receipt.push(String::new());
        receipt.push(format!("{:>13}  {total:.2}", "total:"));
        cart.contents().clear();
        receipt.join("\n")
    }
}

#[expose(class = "__main__.Shop")]
impl Shop {
    /// A new cart for `name`, registered in the daemon: the caller gets a proxy to it.
    fn enter(&mut self, name: String) -> Result<ObjectProxy, PyException<String>> {
        println!("Customer {name} enters the store.");
        println!("Customer takes a shopping cart.");
        let cart = ShoppingCart::default();
        println!("(shoppingcart {} taken)", cart.id());
        let id = object_id();
        let proxy = register_proxy(&self.daemon, cart.clone(), &id)?;
        self.customers.retain(|c| c.name != name);
        self.customers.push(Customer { name, cart, id });
        Ok(proxy)
    }

    fn customers(&self) -> Vec<String> {
        self.customers.iter().map(|c| c.name.clone()).collect()
    }

    /// The inventory, a `dict` in Python's order.
    fn goods(&self) -> Value {
        Value::Dict(
            INVENTORY.iter().map(|(item, price)| (Value::Str((*item).to_string()), Value::Float(*price))).collect(),
        )
    }

    #[pyro5(name = "payByName")]
    fn pay_by_name(&self, name: &str) -> Result<String, PyException<String>> {
        println!("Customer {name} goes to the counter to pay.");
        Ok(Self::receipt(&self.customer(name)?.cart, Some(name)))
    }

    /// The receipt for a cart handed back (a proxy to one of the shop's carts).
    #[pyro5(name = "payCart")]
    fn pay_cart(&self, cart: Proxy, name: Option<String>) -> Result<String, PyException<String>> {
        let uri = cart.uri();
        let customer = self
            .customers
            .iter()
            .find(|c| uri.contains(&format!(":{}@", c.id)))
            .ok_or_else(|| PyException::new(KEY_ERROR, format!("no cart of this shop: {uri}")))?;
        Ok(Self::receipt(&customer.cart, name.as_deref()))
    }

    fn leave(&mut self, name: &str) -> Result<(), PyException<String>> {
        println!("Customer {name} leaves.");
        let customer = self.customer(name)?;
        let contents = customer.cart.contents().clone();
        println!("  their shopping cart contains: {}", python_list(&contents));
        if !contents.is_empty() {
            println!("  it is not empty, they are trying to shoplift!");
            return Err(PyException::new(EXCEPTION, "attempt to steal a full cart prevented".to_string()));
        }
        let id = customer.id.clone();
        self.customers.retain(|c| c.name != name);
        self.daemon.unregister(&id).map_err(|e| PyException::new(KEY_ERROR, e.to_string()))
    }
}

/// A list of strings as Python prints it: `['paper', 'fruit']`.
fn python_list(items: &[String]) -> String {
    let items: Vec<String> = items.iter().map(|item| format!("'{item}'")).collect();
    format!("[{}]", items.join(", "))
}

fn main() -> pyro5_examples::Result {
    let daemon = daemon()?;
    let handle = daemon.clone();
    let shop = move || Shop { daemon: handle.clone(), customers: Vec::new() };
    serve(vec![Class::new("__main__.Shop", InstanceMode::Single, shop, "example.shop")], Some(daemon), true)
}
