//! Pyro5's `diffie-hellman` example: a `KeyExchange` per connection (multiplexed server,
//! registered in the name server as `example.dh.keyexchange`) that makes a Diffie-Hellman
//! key pair in RFC 3526's 2048-bit group 14, takes the client's public key, a Python `int`
//! of some 2048 bits, and answers its own; both sides then print the same shared key, the
//! SHA-256 of the shared secret's big-endian bytes.

use num_bigint::BigUint;
use pyro5_examples::{Class, serve};
use pyro5_std::core::ser::value::Value;
use pyro5_std::core::server::{PyException, VALUE_ERROR};
use pyro5_std::{Config, Daemon, InstanceMode, ServerType, expose};
use sha2::{Digest, Sha256};

/// RFC 3526's 2048-bit MODP group (14), the prime.
const GROUP_14: &str = "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3BE39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA051015728E5A8AACAA68FFFFFFFFFFFFFFFF";

/// The private key's size, as the example's (`num_bits=544`).
const PRIVATE_KEY_BYTES: usize = 544 / 8;

/// One side of the exchange.
struct DiffieHellman {
    prime: BigUint,
    private_key: BigUint,
    public_key: BigUint,
}

impl DiffieHellman {
    fn new() -> Result<Self, getrandom::Error> {
        let prime = BigUint::parse_bytes(GROUP_14.as_bytes(), 16).unwrap_or_default();
        let mut random = [0u8; PRIVATE_KEY_BYTES];
        getrandom::fill(&mut random)?;
        let private_key = BigUint::from_bytes_be(&random);
        let public_key = BigUint::from(2u8).modpow(&private_key, &prime);
        Ok(Self { prime, private_key, public_key })
    }

    /// Whether `key` is a public key of the group: between 2 and p - 1, and a quadratic
    /// residue.
    fn is_public_key(&self, key: &BigUint) -> bool {
        let one = BigUint::from(1u8);
        let p_minus_1 = &self.prime - &one;
        *key > BigUint::from(2u8) && *key < p_minus_1 && key.modpow(&(&p_minus_1 >> 1), &self.prime) == one
    }

    /// The shared key with the holder of `other`: SHA-256 of the shared secret's bytes, as
    /// Python's `secret.to_bytes(secret.bit_length() // 8 + 1, 'big')` writes them.
    fn shared_key(&self, other: &BigUint) -> Vec<u8> {
        let secret = other.modpow(&self.private_key, &self.prime);
        let size = usize::try_from(secret.bits() / 8 + 1).unwrap_or(0);
        let bytes = secret.to_bytes_be();
        let mut padded = vec![0u8; size.saturating_sub(bytes.len())];
        padded.extend_from_slice(&bytes);
        Sha256::digest(&padded).to_vec()
    }
}

struct KeyExchange {
    dh: DiffieHellman,
}

impl KeyExchange {
    fn new() -> Self {
        println!("New KeyExchange, initializing Diffie-Hellman");
        // The system's random source failing leaves nothing sensible to do.
        let dh = DiffieHellman::new().unwrap_or_else(|e| panic!("no random numbers: {e}"));
        Self { dh }
    }
}

#[expose]
impl KeyExchange {
    /// Take the client's public key (a Python `int`), answer ours.
    fn exchange_key(&mut self, other_public_key: Value) -> Result<Value, PyException<&'static str>> {
        println!("received a public key, calculating shared secret...");
        let other = match &other_public_key {
            Value::BigInt(text) => BigUint::parse_bytes(text.as_bytes(), 10),
            Value::Int(n) => u128::try_from(*n).ok().map(BigUint::from),
            _ => None,
        };
        let other = other.filter(|key| self.dh.is_public_key(key));
        let Some(other) = other else {
            return Err(PyException::new(VALUE_ERROR, "other key is not a valid public key"));
        };
        let key = self.dh.shared_key(&other);
        println!("shared secret key =  {}", key.iter().map(|b| format!("{b:02x}")).collect::<String>());
        Ok(Value::BigInt(self.dh.public_key.to_str_radix(10)))
    }
}

fn main() -> pyro5_examples::Result {
    // As the example's `config.SERVERTYPE = "multiplex"`.
    let mut config = Config::from_env()?;
    config.servertype = ServerType::Multiplex;
    let daemon = Daemon::with_config(&config)?;
    let class = Class::new("__main__.KeyExchange", InstanceMode::Session, KeyExchange::new, "example.dh.keyexchange");
    serve(vec![class], Some(daemon), true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_sides_make_the_same_key_and_refuse_a_bad_public_key() {
        let (a, b) = (DiffieHellman::new().unwrap(), DiffieHellman::new().unwrap());
        assert!(a.is_public_key(&b.public_key) && b.is_public_key(&a.public_key));
        assert_eq!(a.shared_key(&b.public_key), b.shared_key(&a.public_key));
        assert_ne!(a.public_key, b.public_key);
        assert!(!a.is_public_key(&BigUint::from(2u8)));
        assert!(!a.is_public_key(&(&a.prime - BigUint::from(1u8))));
    }
}
