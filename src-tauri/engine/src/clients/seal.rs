//! Sealing what Gatehouse keeps of client configs. A backup is a copy of a
//! client's file as it was, plain-text secrets included, and a connect's
//! record holds the entries' original text: both are written encrypted
//! (XChaCha20-Poly1305) under a random key kept in the OS keychain, so no
//! secret reaches Gatehouse's data directory in the clear, and restore still
//! gets the original bytes back exactly.

use std::sync::OnceLock;

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use crate::{Keychain, SecretStore, SecretValue};

/// What a sealed file starts with.
const MAGIC: &[u8] = b"gatehouse-sealed-1\n";
/// The keychain entry of the key (`_gatehouse/BACKUP_KEY`; no registered
/// server can be named `_gatehouse`).
const KEY_OWNER: &str = "_gatehouse";
const KEY_NAME: &str = "BACKUP_KEY";
const NONCE_LEN: usize = 24;

/// Encrypts `plain` for the data directory.
pub fn seal(plain: &[u8]) -> Result<Vec<u8>, String> {
    let cipher = XChaCha20Poly1305::new(key()?.into());
    let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
    let sealed = cipher
        .encrypt(&nonce, plain)
        .map_err(|_| "cannot encrypt the backup".to_string())?;
    Ok([MAGIC, nonce.as_slice(), &sealed].concat())
}

/// Decrypts what [`seal`] wrote.
pub fn unseal(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let body = bytes
        .strip_prefix(MAGIC)
        .filter(|b| b.len() > NONCE_LEN)
        .ok_or("not a Gatehouse backup")?;
    let (nonce, sealed) = body.split_at(NONCE_LEN);
    XChaCha20Poly1305::new(key()?.into())
        .decrypt(XNonce::from_slice(nonce), sealed)
        .map_err(|_| {
            "the backup cannot be decrypted with the key in the OS keychain (was the keychain entry _gatehouse/BACKUP_KEY replaced?)".to_string()
        })
}

/// The key, read from the OS keychain (created there the first time) once
/// per process.
fn key() -> Result<&'static [u8; 32], String> {
    static KEY: OnceLock<Result<[u8; 32], String>> = OnceLock::new();
    KEY.get_or_init(|| load_or_create(&Keychain))
        .as_ref()
        .map_err(|e| format!("cannot use the backup key in the OS keychain: {e}"))
}

fn load_or_create(store: &dyn SecretStore) -> Result<[u8; 32], String> {
    if let Some(stored) = store.get(KEY_OWNER, KEY_NAME).map_err(|e| e.to_string())? {
        return decode(stored.expose());
    }
    let fresh = XChaCha20Poly1305::generate_key(&mut OsRng);
    let hex: String = fresh.iter().map(|b| format!("{b:02x}")).collect();
    store
        .set(KEY_OWNER, KEY_NAME, &SecretValue::new(hex))
        .map_err(|e| e.to_string())?;
    // Another process may have stored its own meanwhile: the keychain's wins.
    let stored = store
        .get(KEY_OWNER, KEY_NAME)
        .map_err(|e| e.to_string())?
        .ok_or("the key vanished from the keychain")?;
    decode(stored.expose())
}

fn decode(hex: &str) -> Result<[u8; 32], String> {
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect::<Option<_>>()
        .ok_or("the stored key is not hex")?;
    bytes
        .try_into()
        .map_err(|_| "the stored key is not 32 bytes".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_bytes_hide_the_text_and_open_to_it_exactly() {
        let plain = b"{\"env\": {\"TOKEN\": \"sk-seal-canary-1234\"}}\n";
        let sealed = seal(plain).unwrap();
        assert!(!sealed.windows(10).any(|w| w == b"seal-canar"));
        assert_ne!(seal(plain).unwrap(), sealed, "a fresh nonce each time");
        assert_eq!(unseal(&sealed).unwrap(), plain);

        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(unseal(&tampered).is_err());
        assert!(unseal(b"plain text").is_err());
    }
}
