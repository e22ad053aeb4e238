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

    async fn later(&self) {}

    fn generic<T: Default>(&self) -> u32 {
        0
    }
}

fn main() {}
