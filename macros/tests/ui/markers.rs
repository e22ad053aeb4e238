use pyro5_macros::expose;

struct Thermo;

#[expose]
impl Thermo {
    #[pyro5(fast)]
    fn a(&self) {}

    #[oneway]
    #[getter]
    fn b(&self) -> u32 {
        0
    }

    #[pyro5(skip, oneway)]
    fn c(&self) {}

    #[stream(fast)]
    fn d(&self) {}

    #[pyro5(name = "_hidden")]
    fn e(&self) {}

    #[pyro5(oneway)]
    const LIMIT: u32 = 3;
}

#[expose(klass = "Thermo")]
impl Thermo {
    fn f(&self) {}
}

fn main() {}
