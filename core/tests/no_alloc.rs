//! Decoding and encoding allocate nothing (with or without the `alloc` feature, for
//! uncompressed messages), counted by a counting global allocator in this test binary.

use pyro5_core::limits::Limits;
use pyro5_core::wire::{Annotation, AnnotationId, Decoder, HEADER_LEN, Header, OutgoingMessage, encode};

const FRAME: &[u8] = include_bytes!("../../testdata/messages/annotations_custom.bin");

/// Allocations made by `f` (counted by allocation-counter's global allocator).
fn allocations_during(f: impl FnOnce()) -> u64 {
    allocation_counter::measure(f).count_total
}

#[test]
fn decoding_and_encoding_a_call_frame_allocates_nothing() {
    // The counter sees allocations at all.
    assert_eq!(allocations_during(|| drop(std::hint::black_box(vec![1u8; 8]))), 1);
    let mut storage = [0u8; 1024];
    let mut out = [0u8; 1024];
    let n = allocations_during(|| {
        let mut decoder = Decoder::new(&mut storage[..], Limits::default());
        for chunk in [FRAME.len(), 1, 5] {
            for piece in FRAME.chunks(chunk) {
                let _ = decoder.feed(piece).unwrap();
            }
            let m = decoder.message().unwrap();
            assert_eq!(m.payload().unwrap(), b"{}");
            let header = Header::parse_bytes(FRAME[..HEADER_LEN].try_into().unwrap()).unwrap();
            let mut list = [Annotation::new(AnnotationId::STREAM, b""); 2];
            for (slot, (id, v)) in list.iter_mut().zip(m.annotations()) {
                *slot = Annotation::new(id, v);
            }
            let msg = OutgoingMessage::from_header(&header, &list);
            let len = encode(&msg, m.payload().unwrap(), &mut out, Limits::default()).unwrap();
            assert_eq!(&out[..len], FRAME);
        }
    });
    assert_eq!(n, 0, "the wire layer allocated {n} times");

    // Growable storage allocates for its first message and then reuses its memory.
    #[cfg(feature = "alloc")]
    {
        let mut decoder = Decoder::new(Vec::new(), Limits::default());
        assert!(matches!(decoder.feed(FRAME).unwrap(), pyro5_core::wire::Progress::Complete { .. }));
        let n = allocations_during(|| {
            for _ in 0..100 {
                assert!(matches!(decoder.feed(FRAME).unwrap(), pyro5_core::wire::Progress::Complete { .. }));
            }
        });
        assert_eq!(n, 0, "a warm Vec-backed decoder allocated {n} times");
    }
}
