use pyro5_macros::expose;

struct Thermo;

#[expose]
impl Thermo {
    fn read(&self) -> f64 {
        0.0
    }

    #[pyro5(name = "read")]
    fn read_again(&self) -> f64 {
        0.0
    }

    #[getter]
    fn mode(&self) -> u32 {
        0
    }

    #[getter(name = "mode")]
    fn mode_again(&self) -> u32 {
        0
    }

    #[pyro5(name = "mode")]
    fn set_mode_now(&self) {}
}

trait Sensor {
    fn read(&self) -> f64;
}

#[expose]
impl Sensor for Thermo {
    fn read(&self) -> f64 {
        0.0
    }
}

fn main() {}
