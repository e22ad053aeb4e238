use pyro5_macros::expose;

struct Thermo;

#[expose]
impl Thermo {
    #[getter]
    fn verbose(&self, level: u32) -> bool {
        level > 0
    }

    #[setter]
    fn loud(&mut self, value: bool) {
        let _ = value;
    }

    #[setter(name = "quiet")]
    fn hush(&mut self) {}
}

fn main() {}
