//! Properties of the decoder and encoder that must hold for every input.

use proptest::prelude::*;
use pyro5_core::limits::Limits;
use pyro5_core::wire::{
    Annotation, AnnotationId, CorrelationId, DecodeError, Decoder, Flags, HEADER_LEN, Header, MessageKind,
    OutgoingMessage, Progress, SerializerId, encode,
};

/// An owned description of a message, for comparing what went in with what came out.
#[derive(Clone, Debug, PartialEq)]
struct Msg {
    kind: u8,
    serializer: u8,
    flags: u16,
    seq: u16,
    corr: Option<[u8; 16]>,
    annotations: Vec<([u8; 4], Vec<u8>)>,
    payload: Vec<u8>,
}

impl Msg {
    fn encode(&self) -> Vec<u8> {
        let list: Vec<Annotation<'_>> =
            self.annotations.iter().map(|(id, v)| Annotation::new(AnnotationId::new(*id).unwrap(), v)).collect();
        let msg = OutgoingMessage {
            kind: MessageKind::from(self.kind),
            serializer: SerializerId::from(self.serializer),
            flags: Flags::from_bits(self.flags),
            seq: self.seq,
            correlation_id: self.corr.map(CorrelationId),
            annotations: &list,
            compress: false,
        };
        let mut out =
            vec![0u8; 40 + self.payload.len() + self.annotations.iter().map(|a| 8 + a.1.len()).sum::<usize>()];
        let n = encode(&msg, &self.payload, &mut out, Limits::default()).unwrap();
        assert_eq!(n, out.len());
        out
    }

    /// What a receiver sees: the encoder clears COMPRESSED and sets CORR_ID for an id.
    fn received(&self) -> Msg {
        let mut m = self.clone();
        m.flags &= !Flags::COMPRESSED.bits();
        if m.corr.is_some() {
            m.flags |= Flags::CORR_ID.bits();
        }
        m.corr = Some(m.corr.unwrap_or([0; 16]));
        m
    }

    fn from_decoded(m: &pyro5_core::wire::Message<'_>) -> Msg {
        let h = m.header();
        Msg {
            kind: h.kind.into(),
            serializer: h.serializer.into(),
            flags: h.flags.bits(),
            seq: h.seq,
            corr: Some(h.correlation_id.0),
            annotations: m.annotations().map(|(id, v)| (id.to_bytes(), v.to_vec())).collect(),
            payload: m.payload().unwrap().to_vec(),
        }
    }
}

fn msg() -> impl Strategy<Value = Msg> {
    (
        any::<u8>(),
        any::<u8>(),
        any::<u16>(),
        any::<u16>(),
        proptest::option::of(any::<[u8; 16]>()),
        proptest::collection::vec(
            (proptest::array::uniform4(0u8..128), proptest::collection::vec(any::<u8>(), 0..20)),
            0..4,
        ),
        proptest::collection::vec(any::<u8>(), 0..300),
    )
        .prop_map(|(kind, serializer, flags, seq, corr, annotations, payload)| Msg {
            kind,
            serializer,
            flags,
            seq,
            corr,
            annotations,
            payload,
        })
}

/// Decode `stream` fed in the given chunk sizes (cycled); returns the messages.
fn decode_chunked(stream: &[u8], cuts: &[usize]) -> Result<Vec<Msg>, DecodeError> {
    let mut storage = vec![0u8; 4096];
    let mut decoder = Decoder::new(&mut storage[..], Limits::default());
    let mut out = Vec::new();
    let mut rest = stream;
    let mut i = 0;
    while !rest.is_empty() {
        let take = cuts[i % cuts.len()].clamp(1, rest.len());
        i += 1;
        let mut piece = &rest[..take];
        rest = &rest[take..];
        while !piece.is_empty() {
            match decoder.feed(piece)? {
                Progress::NeedMore => piece = &[],
                Progress::Complete { consumed } => {
                    assert!(consumed <= piece.len(), "consumed more than given");
                    out.push(Msg::from_decoded(&decoder.message().unwrap()));
                    piece = &piece[consumed..];
                }
            }
        }
    }
    assert!(!decoder.is_mid_message());
    Ok(out)
}

proptest! {
    #[test]
    fn any_split_of_a_stream_decodes_to_the_same_messages(
        msgs in proptest::collection::vec(msg(), 1..5),
        cuts in proptest::collection::vec(1usize..70, 1..10),
    ) {
        let stream: Vec<u8> = msgs.iter().flat_map(Msg::encode).collect();
        let expected: Vec<Msg> = msgs.iter().map(Msg::received).collect();
        prop_assert_eq!(decode_chunked(&stream, &cuts).unwrap(), expected.clone());
        prop_assert_eq!(decode_chunked(&stream, &[1]).unwrap(), expected.clone());
        prop_assert_eq!(decode_chunked(&stream, &[stream.len()]).unwrap(), expected);
    }

    #[test]
    fn reading_in_place_gives_the_same_messages(msgs in proptest::collection::vec(msg(), 1..4), read_size in 1usize..100) {
        let stream: Vec<u8> = msgs.iter().flat_map(Msg::encode).collect();
        let mut storage = [0u8; 2048];
        let mut decoder = Decoder::new(&mut storage[..], Limits::default());
        let mut got = Vec::new();
        let mut rest = &stream[..];
        while !rest.is_empty() {
            let buf = decoder.read_buf().unwrap();
            prop_assert!(!buf.is_empty());
            let n = buf.len().min(read_size).min(rest.len());
            buf[..n].copy_from_slice(&rest[..n]);
            rest = &rest[n..];
            if let Progress::Complete { consumed } = decoder.commit(n).unwrap() {
                prop_assert_eq!(consumed, n);
                got.push(Msg::from_decoded(&decoder.message().unwrap()));
            }
        }
        prop_assert_eq!(got, msgs.iter().map(Msg::received).collect::<Vec<_>>());
    }

    #[test]
    fn emit_then_parse_is_the_identity(kind: u8, ser: u8, flags: u16, seq: u16, data_len: u32, ann: u32, corr: [u8; 16], reserved: u16) {
        let h = Header {
            kind: kind.into(), serializer: ser.into(), flags: Flags::from_bits(flags), seq, data_len,
            annotations_len: ann, correlation_id: CorrelationId(corr), reserved,
        };
        let mut out = [0u8; HEADER_LEN];
        h.emit(&mut out);
        prop_assert_eq!(Header::parse_bytes(&out).unwrap(), h);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_never_overrun(bytes in proptest::collection::vec(any::<u8>(), 0..600), cut in 1usize..50) {
        let mut storage = [0u8; 256];
        let mut decoder = Decoder::new(&mut storage[..], Limits::with_max_message_size(200));
        for piece in bytes.chunks(cut) {
            let mut piece = piece;
            while !piece.is_empty() {
                match decoder.feed(piece) {
                    Ok(Progress::NeedMore) => break,
                    Ok(Progress::Complete { consumed }) => {
                        prop_assert!(consumed <= piece.len());
                        let m = decoder.message().unwrap();
                        prop_assert!(m.as_bytes().len() <= 240);
                        piece = &piece[consumed..];
                    }
                    Err(_) => break,
                }
            }
        }
    }
}

#[test]
fn a_header_announcing_2_gb_is_refused_before_any_body_is_buffered() {
    let mut header = [0u8; HEADER_LEN];
    let mut h = Header::new(MessageKind::Invoke, SerializerId::Serpent, 1);
    h.data_len = 2_000_000_000;
    h.emit(&mut header);
    // Growable storage: it must not grow.
    #[cfg(feature = "alloc")]
    {
        let mut decoder = Decoder::new(Vec::new(), Limits::default());
        let err = decoder.feed(&header).unwrap_err();
        assert!(matches!(
            err,
            DecodeError::TooLarge { size: 2_000_000_000, max: 1_073_741_824, limited_by_storage: false }
        ));
        assert!(decoder.into_storage().capacity() <= 64, "storage grew for a refused message");
    }
    // A size within the limit: growable storage grows with what arrives, not with what the
    // header announces (a peer announcing 1 GB and sending 10 bytes costs 64 KiB).
    #[cfg(feature = "alloc")]
    {
        let mut big = header;
        big[12..16].copy_from_slice(&1_000_000_000u32.to_be_bytes());
        let mut decoder = Decoder::new(Vec::new(), Limits::default());
        assert_eq!(decoder.feed(&big).unwrap(), Progress::NeedMore);
        assert_eq!(decoder.feed(&[7; 10]).unwrap(), Progress::NeedMore);
        assert!(decoder.into_storage().len() <= 128 * 1024, "storage grew to the announced size");
        // And it still takes a message larger than the first step, in any chunking.
        let payload = vec![9u8; 300_000];
        let msg = OutgoingMessage::new(MessageKind::Invoke, SerializerId::Json, 1);
        let mut out = vec![0u8; 301_000];
        let n = encode(&msg, &payload, &mut out, Limits::default()).unwrap();
        let mut decoder = Decoder::new(Vec::new(), Limits::default());
        let mut got = None;
        for chunk in out[..n].chunks(50_000) {
            got = Some(decoder.feed(chunk).unwrap());
        }
        assert_eq!(got, Some(Progress::Complete { consumed: n % 50_000 }));
        assert_eq!(decoder.message().unwrap().payload().unwrap(), &payload[..]);
    }
    let mut storage = [0u8; 100];
    let mut decoder = Decoder::new(&mut storage[..], Limits::default());
    let err = decoder.feed(&header).unwrap_err();
    assert!(matches!(err, DecodeError::TooLarge { max: 60, limited_by_storage: true, .. }), "{err:?}");
    assert!(err.to_string().contains("receive storage"), "{err}");
}

#[test]
fn tag_and_version_are_checked_as_soon_as_they_arrive() {
    let mut storage = [0u8; 64];
    let mut decoder = Decoder::new(&mut storage[..], Limits::default());
    assert_eq!(decoder.feed(b"GET").unwrap(), Progress::NeedMore);
    let err = decoder.feed(b" ").unwrap_err();
    assert_eq!(err.pyro_message().to_string(), "invalid data");
    let mut decoder = Decoder::new(&mut storage[..], Limits::default());
    assert_eq!(decoder.feed(b"PYRO\x01").unwrap(), Progress::NeedMore);
    let err = decoder.feed(b"\xf5").unwrap_err();
    assert_eq!(err.pyro_message().to_string(), "invalid protocol version: 501");
}

#[test]
fn the_first_read_buf_never_reaches_past_the_header() {
    let mut storage = [0u8; 1024];
    let mut decoder = Decoder::new(&mut storage[..], Limits::default());
    assert_eq!(decoder.read_buf().unwrap().len(), HEADER_LEN);
    let frame = Msg { kind: 4, serializer: 1, flags: 0, seq: 1, corr: None, annotations: vec![], payload: vec![7; 10] }
        .encode();
    decoder.read_buf().unwrap()[..10].copy_from_slice(&frame[..10]);
    assert_eq!(decoder.commit(10).unwrap(), Progress::NeedMore);
    assert_eq!(decoder.read_buf().unwrap().len(), 30);
    decoder.read_buf().unwrap().copy_from_slice(&frame[10..40]);
    assert_eq!(decoder.commit(30).unwrap(), Progress::NeedMore);
    assert_eq!(decoder.read_buf().unwrap().len(), 10, "exactly the body");
}

#[cfg(feature = "alloc")]
#[test]
fn compressed_messages_round_trip_and_clear_the_flag() {
    let payload: Vec<u8> = (0..1000u32).map(|i| (i % 10) as u8 + b'0').collect();
    let msg = OutgoingMessage { compress: true, ..OutgoingMessage::new(MessageKind::Result, SerializerId::Json, 9) };
    let mut out = vec![0u8; 2000];
    let n = encode(&msg, &payload, &mut out, Limits::default()).unwrap();
    assert!(n < 200, "compressed to {n}");
    let parsed = Header::parse_bytes(out[..HEADER_LEN].try_into().unwrap()).unwrap();
    assert!(parsed.flags.contains(Flags::COMPRESSED));
    let mut decoder = Decoder::new(Vec::new(), Limits::default());
    assert_eq!(decoder.feed(&out[..n]).unwrap(), Progress::Complete { consumed: n });
    let m = decoder.message().unwrap();
    assert_eq!(m.payload().unwrap(), &payload[..]);
    assert!(!m.header().flags.contains(Flags::COMPRESSED));
    assert_eq!(m.header().data_len, 1000);
    // 100 bytes stay uncompressed, 101 are compressed even though that makes them bigger.
    let noise: Vec<u8> = (0..101u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    let n = encode(&msg, &noise[..100], &mut out, Limits::default()).unwrap();
    let h = Header::parse_bytes(out[..HEADER_LEN].try_into().unwrap()).unwrap();
    assert!(!h.flags.contains(Flags::COMPRESSED) && n == 140);
    let n = encode(&msg, &noise, &mut out, Limits::default()).unwrap();
    let h = Header::parse_bytes(out[..HEADER_LEN].try_into().unwrap()).unwrap();
    assert!(h.flags.contains(Flags::COMPRESSED) && n > 141, "compressed noise grows: {n}");
}

#[cfg(not(feature = "alloc"))]
#[test]
fn without_alloc_compression_is_a_typed_error() {
    let msg = OutgoingMessage { compress: true, ..OutgoingMessage::new(MessageKind::Result, SerializerId::Json, 9) };
    let mut out = [0u8; 400];
    let err = encode(&msg, &[b'x'; 101], &mut out, Limits::default()).unwrap_err();
    assert!(err.to_string().contains("alloc"), "{err}");
    // 100 bytes need no compression.
    encode(&msg, &[b'x'; 100], &mut out, Limits::default()).unwrap();
}
