//! Random ids and secrets, and how secrets are stored.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// `N` random bytes. `rand::rng()` is a CSPRNG (ChaCha, seeded and periodically reseeded from the
/// OS), which is what secrets need.
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    rand::rng().fill_bytes(&mut buf);
    buf
}

/// A random id: 16 bytes (128 bits) as 32 lowercase hex characters. Ids are not secrets, but
/// being random they reveal neither counts nor order, and cannot be enumerated.
pub(crate) fn random_id() -> String {
    hex::encode(random_bytes::<16>())
}

/// A secret: `prefix` followed by 32 random bytes (256 bits) in unpadded base64url (43 chars).
pub(crate) fn random_secret(prefix: &str) -> String {
    let mut s = String::with_capacity(prefix.len() + 43);
    s.push_str(prefix);
    URL_SAFE_NO_PAD.encode_string(random_bytes::<32>(), &mut s);
    s
}

/// How a secret is stored: lowercase hex of SHA-256 of the full secret string. The secrets are
/// 256-bit random strings, so a fast unsalted hash is enough (nothing to brute-force) and lets the
/// store find a secret by an index lookup. Identical to `scope_ingest::hash_token`.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_matches_sha256_hex() {
        // FIPS 180-2 test vector; the same function as scope_ingest::hash_token.
        assert_eq!(
            hash_secret("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn secrets_have_the_documented_shape() {
        let s = random_secret("scope_");
        assert_eq!(s.len(), 6 + 43);
        assert!(
            s[6..]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_ne!(s, random_secret("scope_"));
        let id = random_id();
        assert_eq!(id.len(), 32);
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
    }
}
