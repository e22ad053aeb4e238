use pyro5_macros::expose;

struct Thermo;

#[expose]
impl Thermo {
    /// Exposed, but the object can't be moved out of the daemon.
    fn into_parts(self) -> u32 {
        1
    }

    /// A marker on an associated function.
    #[oneway]
    fn create() -> Self {
        Thermo
    }

    #[cfg(test)]
    fn only_in_tests(&self) {}

    /// Async methods run on a clone of the object: `&self` only.
    async fn later(&mut self) {}

    /// Their future outlives the request's bytes.
    async fn borrowed(&self, text: &str) -> usize {
        text.len()
    }

    /// Only Python's arguments.
    async fn with_context(&self, _ctx: &pyro5_core::server::CallContext<'_>) {}

    #[getter]
    async fn reading(&self) -> u32 {
        0
    }

    fn generic<T: Default>(&self) -> u32 {
        0
    }
}

fn main() {}
