//! The admin RPC's authentication, shared by the sequencer (which checks tokens) and its
//! clients (the batcher reporting its DA backlog), so both sides use one implementation.
//!
//! It is the Engine API's: every request carries `Authorization: Bearer <JWT>`, a JWT signed
//! with HS256 under a 32-byte secret shared through a file (geth's `jwt.hex` format), whose
//! `iat` claim is within [`MAX_CLOCK_DRIFT_SECS`] of the server's clock, so a captured token
//! soon stops working. Pure functions: the caller supplies the clock.

use alloy_primitives::B256;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

/// Largest difference between a token's `iat` and the node's clock (the Engine API's 60 s).
pub const MAX_CLOCK_DRIFT_SECS: u64 = 60;

/// The 32-byte HS256 secret admin tokens are signed with.
#[derive(Clone)]
pub struct JwtSecret([u8; 32]);

impl std::fmt::Debug for JwtSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never logged.
        f.write_str("JwtSecret(..)")
    }
}

/// Why a JWT secret file was refused.
#[derive(Debug, thiserror::Error)]
#[error("the admin JWT secret must be 32 bytes as 64 hex digits (optionally 0x-prefixed)")]
pub struct BadSecret;

impl JwtSecret {
    /// The secret from `text`: 64 hex digits, optionally `0x`-prefixed, surrounding whitespace
    /// ignored (the format of geth's and reth's `jwt.hex`).
    pub fn parse(text: &str) -> Result<Self, BadSecret> {
        let hex = text.trim();
        let hex = hex.strip_prefix("0x").unwrap_or(hex);
        let bytes: B256 = hex.parse().map_err(|_| BadSecret)?;
        if hex.len() != 64 {
            return Err(BadSecret);
        }
        Ok(Self(bytes.0))
    }

    /// A secret of these bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC accepts keys of any length.
        Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length")
    }

    /// A token issued now (`iat` = `now_secs`), as a client of the admin port sends it.
    pub fn token(&self, now_secs: u64) -> String {
        let header = base64url(br#"{"alg":"HS256","typ":"JWT"}"#);
        let claims = base64url(json!({ "iat": now_secs }).to_string().as_bytes());
        let signing_input = format!("{header}.{claims}");
        let mut mac = self.mac();
        mac.update(signing_input.as_bytes());
        let signature = base64url(&mac.finalize().into_bytes());
        format!("{signing_input}.{signature}")
    }

    /// Whether `token` is an HS256 JWT signed with this secret whose `iat` is within
    /// [`MAX_CLOCK_DRIFT_SECS`] of `now_secs`. The signature is checked (in constant time)
    /// before the claims are read.
    pub fn verify(&self, token: &str, now_secs: u64) -> bool {
        let mut parts = token.split('.');
        let (Some(header), Some(claims), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return false;
        };
        let Some(signature) = base64url_decode(signature) else {
            return false;
        };
        let mut mac = self.mac();
        mac.update(header.as_bytes());
        mac.update(b".");
        mac.update(claims.as_bytes());
        if mac.verify_slice(&signature).is_err() {
            return false;
        }
        let header: Option<Value> =
            base64url_decode(header).and_then(|bytes| serde_json::from_slice(&bytes).ok());
        if header.as_ref().and_then(|header| header["alg"].as_str()) != Some("HS256") {
            return false;
        }
        let claims: Option<Value> =
            base64url_decode(claims).and_then(|bytes| serde_json::from_slice(&bytes).ok());
        let Some(issued) = claims.as_ref().and_then(|claims| claims["iat"].as_u64()) else {
            return false;
        };
        issued.abs_diff(now_secs) <= MAX_CLOCK_DRIFT_SECS
    }
}

const BASE64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Unpadded base64url (RFC 7515 §2).
fn base64url(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, byte)| n | u32::from(*byte) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(BASE64URL[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

/// Decodes unpadded base64url; `None` for any other input.
fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    if text.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut n = 0u32;
    let mut bits = 0;
    for byte in text.bytes() {
        let value = BASE64URL.iter().position(|c| *c == byte)? as u32;
        n = n << 6 | value;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((n >> bits) as u8);
            n &= (1 << bits) - 1;
        }
    }
    // Canonical encodings leave no set bits behind.
    (n == 0).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_round_trips_and_rejects_garbage() {
        for length in 0..40 {
            let bytes: Vec<u8> = (0..length).map(|i| (i * 73 + 5) as u8).collect();
            let text = base64url(&bytes);
            assert!(!text.contains('='));
            assert_eq!(base64url_decode(&text), Some(bytes));
        }
        assert_eq!(base64url(b"hello"), "aGVsbG8");
        assert_eq!(base64url_decode("a"), None);
        assert_eq!(base64url_decode("a+b/"), None);
        assert_eq!(base64url_decode("aGVsbG9"), None, "set trailing bits");
    }

    #[test]
    fn tokens_verify_only_with_the_secret_and_a_fresh_iat() {
        let secret = JwtSecret::from_bytes([7; 32]);
        let token = secret.token(1_000);
        assert!(secret.verify(&token, 1_000));
        assert!(secret.verify(&token, 1_060));
        assert!(!secret.verify(&token, 1_061), "stale");
        assert!(!secret.verify(&token, 939), "from the future");
        assert!(!JwtSecret::from_bytes([8; 32]).verify(&token, 1_000));
        let mut tampered = token.clone();
        tampered.insert(tampered.len() - 2, 'A');
        assert!(!secret.verify(&tampered, 1_000));
        for bad in ["", "a.b", "a.b.c.d", "...", &token[..token.len() - 1]] {
            assert!(!secret.verify(bad, 1_000), "{bad}");
        }
        // A token signed with the right key but claiming another algorithm.
        let header = base64url(br#"{"alg":"none"}"#);
        let claims = base64url(br#"{"iat":1000}"#);
        let mut mac = secret.mac();
        mac.update(format!("{header}.{claims}").as_bytes());
        let signature = base64url(&mac.finalize().into_bytes());
        assert!(!secret.verify(&format!("{header}.{claims}.{signature}"), 1_000));
    }

    #[test]
    fn secrets_parse_as_geth_writes_them() {
        let hex = "11".repeat(32);
        assert!(JwtSecret::parse(&hex).is_ok());
        assert!(JwtSecret::parse(&format!("0x{hex}\n")).is_ok());
        assert!(JwtSecret::parse(&hex[..62]).is_err());
        assert!(JwtSecret::parse("zz").is_err());
    }
}
