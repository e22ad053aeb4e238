//! Pyro5's `filetransfer` example: a `FileServer` per connection that hands out large
//! binary data four ways: as one `bytes` result, as an item stream of chunks, as an item
//! stream whose chunks travel in each reply's `FDAT` response annotation (the items are the
//! position and a checksum), and by a raw socket beside the daemon, the "blob socket",
//! where a client sends the 36-character id of a blob it asked for and reads its bytes to
//! the end. Served as `example.filetransfer` in the daemon, without a name server; the
//! client asks for the URI.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::thread;

use pyro5_examples::daemon;
use pyro5_std::core::ser::value::Value;
use pyro5_std::{Annotated, AnnotationId, InstanceMode, expose};

/// The annotation the file's chunks travel in.
const FDAT: AnnotationId = match AnnotationId::new(*b"FDAT") {
    Ok(id) => id,
    Err(_) => panic!("annotation ids are ASCII"),
};

/// The file the annotation stream sends: `1234567890!` five million times, as Python's
/// writes it.
const FILE_PIECE: &[u8] = b"1234567890!";
const FILE_SIZE: u64 = 5000 * 1000 * FILE_PIECE.len() as u64;
/// The largest chunk of the file in one annotation.
const ANNOTATION_SIZE: u64 = 500_000;

/// Blobs asked for and not fetched yet: their size by id.
type Blobs = Arc<Mutex<HashMap<String, usize>>>;

/// What a client asked for by id from the blob socket.
struct BlobSocket {
    blobs: Blobs,
    /// The socket's address, as Python's `getsockname()`: host and port.
    address: (String, u16),
}

impl BlobSocket {
    /// A socket on `host`, any port, served by a thread of its own.
    fn start(host: &str) -> std::io::Result<Arc<Self>> {
        let listener = TcpListener::bind((host, 0))?;
        let local = listener.local_addr()?;
        let socket = Arc::new(Self { blobs: Blobs::default(), address: (local.ip().to_string(), local.port()) });
        let serving = Arc::clone(&socket);
        thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let socket = Arc::clone(&serving);
                thread::spawn(move || socket.serve(client));
            }
        });
        Ok(socket)
    }

    /// Read the id a client sends, send it the blob's bytes, close.
    fn serve(&self, mut client: TcpStream) {
        let mut id = [0u8; 36];
        if client.read_exact(&mut id).is_err() {
            return;
        }
        let id = String::from_utf8_lossy(&id).into_owned();
        let peer = client.peer_addr().map(|a| format!("('{}', {})", a.ip(), a.port())).unwrap_or_default();
        println!("{peer} requesting file id {id}");
        let Some(size) = self.blobs.lock().unwrap_or_else(PoisonError::into_inner).remove(&id) else {
            println!("no data for given id");
            return;
        };
        println!("...from memory");
        let chunk = [b'x'; 512_000];
        let mut left = size;
        while left > 0 {
            let n = left.min(chunk.len());
            if client.write_all(&chunk[..n]).is_err() {
                return;
            }
            left -= n;
        }
    }

    /// A new blob of `size` bytes: its id and where to fetch it.
    fn prepare(&self, size: usize) -> (String, (String, u16)) {
        let id = uuid4();
        self.blobs.lock().unwrap_or_else(PoisonError::into_inner).insert(id.clone(), size);
        (id, self.address.clone())
    }
}

/// A random UUID as Python's `str(uuid.uuid4())` prints it.
fn uuid4() -> String {
    let hex = format!("{:032x}", (fastrand::u128(..) & !(0xf << 76) & !(0x3 << 62)) | (0x4 << 76) | (0x2 << 62));
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

/// Python's `zlib.crc32`.
fn crc32(data: &[u8]) -> u32 {
    !data.iter().fold(!0u32, |crc, &byte| {
        (0..8).fold(crc ^ u32::from(byte), |crc, _| if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 })
    })
}

/// The bytes of the annotation stream's file from `start`, at most [`ANNOTATION_SIZE`].
fn file_chunk(start: u64) -> &'static [u8] {
    // The file's piece repeated over a chunk and one more piece: every chunk is a slice of it.
    static PIECES: OnceLock<Vec<u8>> = OnceLock::new();
    let pieces = PIECES.get_or_init(|| {
        FILE_PIECE
            .iter()
            .copied()
            .cycle()
            .take(usize::try_from(ANNOTATION_SIZE).unwrap_or(0) + FILE_PIECE.len())
            .collect()
    });
    let len = ANNOTATION_SIZE.min(FILE_SIZE.saturating_sub(start));
    let from = start % FILE_PIECE.len() as u64;
    let to = from + len;
    &pieces[usize::try_from(from).unwrap_or(0)..usize::try_from(to).unwrap_or(0)]
}

struct FileServer {
    blob_socket: Arc<BlobSocket>,
}

#[expose]
impl FileServer {
    fn get_with_pyro(&self, size: usize) -> Value {
        println!("sending {size} bytes");
        Value::Bytes(vec![b'x'; size])
    }

    /// The bytes in a hundred chunks (and the rest in one more).
    fn iterator(&self, size: usize) -> impl Iterator<Item = Value> {
        let chunksize = (size / 100).max(1);
        println!("sending {size} bytes via iterator, chunks of {chunksize} bytes");
        (0..size).step_by(chunksize).map(move |i| Value::Bytes(vec![b'x'; chunksize.min(size - i)]))
    }

    /// The file in chunks of [`ANNOTATION_SIZE`], each in the `FDAT` annotation of its
    /// item's reply; an item is the file position after its chunk and, when asked for, the
    /// chunk's checksum (0 otherwise).
    fn annotation_stream(&self, with_checksum: Option<bool>) -> impl Iterator<Item = Annotated<(u64, u32)>> {
        let with_checksum = with_checksum.unwrap_or(false);
        (0..FILE_SIZE).step_by(ANNOTATION_SIZE as usize).map(move |start| {
            // Printed when the client asks for the first item, as Python's generator does.
            if start == 0 {
                println!(
                    "transmitting file via annotations stream ({FILE_SIZE} bytes in chunks of {ANNOTATION_SIZE})..."
                );
            }
            let chunk = file_chunk(start);
            let checksum = if with_checksum { crc32(chunk) } else { 0 };
            Annotated::new((start + chunk.len() as u64, checksum)).annotate(FDAT, chunk)
        })
    }

    fn prepare_file_blob(&self, size: usize) -> (String, (String, u16)) {
        println!("preparing file-based blob of size {size}");
        self.blob_socket.prepare(size)
    }

    fn prepare_memory_blob(&self, size: usize) -> (String, (String, u16)) {
        println!("preparing in-memory blob of size {size}");
        self.blob_socket.prepare(size)
    }
}

fn main() -> pyro5_examples::Result {
    let daemon = daemon()?;
    let host = daemon.location().rsplit_once(':').map_or("localhost", |(host, _)| host);
    let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
    let blob_socket = BlobSocket::start(&host)?;
    println!("Blob socket available on: ('{}', {})", blob_socket.address.0, blob_socket.address.1);
    let server = move || FileServer { blob_socket: Arc::clone(&blob_socket) };
    let uri = daemon.register_class(InstanceMode::Session, server, Some("example.filetransfer"))?;
    println!("Filetransfer server URI: {uri}");
    daemon.request_loop()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_is_zlibs() {
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn the_file_is_its_piece_repeated() {
        let chunk = file_chunk(ANNOTATION_SIZE * 9 + 3);
        assert_eq!(chunk.len(), 500_000);
        assert_eq!(&chunk[..4], b"3456");
        assert_eq!(file_chunk(FILE_SIZE - 5), b"7890!");
    }

    #[test]
    fn a_uuid4_is_version_4_variant_1() {
        let id = uuid4();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!("89ab".contains(&id[19..20]));
    }
}
