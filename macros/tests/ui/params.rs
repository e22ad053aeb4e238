use pyro5_core::server::{CallContext, StreamCursor, VarArgs};
use pyro5_macros::expose;

struct Thermo;

#[expose]
impl Thermo {
    fn adjust(&mut self, delta: &mut f64) {
        *delta = 0.0;
    }

    fn pair(&self, (a, b): (u32, u32)) -> u32 {
        a + b
    }

    fn show(&self, value: impl core::fmt::Display) {
        let _ = value;
    }

    #[stream]
    fn readings(&mut self, cursor: &mut StreamCursor) -> u64 {
        *cursor
    }

    fn tagged(&self, #[oneway] level: u32) -> u32 {
        level
    }

    fn traced(&self, #[pyro5(name = "ctx")] context: &CallContext<'_>) -> u32 {
        context.seq.into()
    }

    fn renamed(&self, first: u32, #[pyro5(name = "first")] second: u32) -> u32 {
        first + second
    }

    #[stream]
    fn samples(&mut self, count: u32) -> Option<u32> {
        Some(count)
    }

    #[stream(next = next_sample)]
    fn started(&mut self, count: u32, cursor: &mut StreamCursor) -> StreamCursor {
        *cursor = u64::from(count);
        *cursor
    }

    #[stream(next = next_sample)]
    fn started_without_cursor(&mut self, _count: u32) {}

    fn next_sample(&mut self, _cursor: &mut StreamCursor) -> Option<u32> {
        None
    }

    fn late(&self, more: VarArgs<u32>, last: u32) -> usize {
        more.len() + last as usize
    }

    fn twice(&self, _more: VarArgs<u32>, _again: VarArgs<u32>) {}

    #[getter]
    fn gauge(&self, _more: VarArgs<u32>) -> u32 {
        0
    }
}

fn main() {}
