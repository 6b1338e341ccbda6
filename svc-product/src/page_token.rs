//! Page tokens: opaque to clients, tamper-checked, and bound to the query that issued them.
//!
//! A token is `base64url(version ‖ mac ‖ fingerprint ‖ cursor)`: `fingerprint` is a digest
//! of the query's filters and order (16 bytes), `cursor` the JSON of where the page ended
//! (the last row's sort key and id), and `mac` the first 16 bytes of
//! HMAC-SHA256(key, version ‖ fingerprint ‖ cursor). The key is 32 random bytes created at
//! first start and kept in the service's own database (`settings`), so tokens stay valid
//! across restarts and replicas, and a client can neither forge a cursor nor reuse a token
//! with other filters.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use mart_platform::error::FieldViolation;
use rand::RngCore;
use sea_orm::{ConnectionTrait, DbErr};
use sha2::{Digest, Sha256};

use crate::{domain::Cursor, store::settings};

/// The token layout; a different first byte is not one of ours.
const VERSION: u8 = 1;

/// Bytes of the MAC kept in a token: 128 bits, beyond guessing.
const MAC_LEN: usize = 16;

/// Bytes of a query fingerprint.
const FINGERPRINT_LEN: usize = 16;

/// Issues and reads page tokens with the catalog's key.
#[derive(Clone)]
pub struct PageTokens {
    key: [u8; 32],
}

impl std::fmt::Debug for PageTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageTokens").finish_non_exhaustive()
    }
}

impl PageTokens {
    /// The catalog's key from `db`, created on first use.
    pub async fn load<C: ConnectionTrait>(db: &C) -> Result<Self, DbErr> {
        let mut proposed = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut proposed);
        let stored = settings::get_or_insert(db, settings::PAGE_TOKEN_KEY, &proposed).await?;
        let key = stored.as_slice().try_into().map_err(|_| DbErr::Custom("the page token key is corrupt".into()))?;
        Ok(Self { key })
    }

    /// A token for the page after `cursor` of the query with `fingerprint`.
    pub fn issue(&self, fingerprint: [u8; FINGERPRINT_LEN], cursor: &Cursor) -> String {
        // A cursor is a string and a number or two: serialising it cannot fail.
        let json = serde_json::to_vec(cursor).unwrap_or_default();
        let mut signed = Vec::with_capacity(1 + FINGERPRINT_LEN + json.len());
        signed.push(VERSION);
        signed.extend_from_slice(&fingerprint);
        signed.extend_from_slice(&json);
        let mac = hmac_sha256(&self.key, &signed);
        let mut token = Vec::with_capacity(signed.len() + MAC_LEN);
        token.push(VERSION);
        token.extend_from_slice(&mac[..MAC_LEN]);
        token.extend_from_slice(&signed[1..]);
        B64.encode(token)
    }

    /// The cursor in `token`, if this service issued it for the query with `fingerprint`.
    pub fn read(&self, token: &str, fingerprint: [u8; FINGERPRINT_LEN]) -> Result<Cursor, FieldViolation> {
        let bad = || FieldViolation::new("page_token", "not a token from a previous page");
        let bytes = B64.decode(token.trim()).map_err(|_| bad())?;
        if bytes.len() < 1 + MAC_LEN + FINGERPRINT_LEN || bytes[0] != VERSION {
            return Err(bad());
        }
        let (mac, rest) = bytes[1..].split_at(MAC_LEN);
        let mut signed = Vec::with_capacity(1 + rest.len());
        signed.push(VERSION);
        signed.extend_from_slice(rest);
        if !constant_time_eq(mac, &hmac_sha256(&self.key, &signed)[..MAC_LEN]) {
            return Err(bad());
        }
        let (issued_for, json) = rest.split_at(FINGERPRINT_LEN);
        if issued_for != fingerprint {
            return Err(FieldViolation::new(
                "page_token",
                "issued for another query: keep the filters and order of the first page",
            ));
        }
        serde_json::from_slice(json).map_err(|_| bad())
    }
}

/// HMAC-SHA256 (RFC 2104) over `message`.
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.map(|k| k ^ byte);
    let inner = Sha256::new().chain_update(pad(0x36)).chain_update(message).finalize();
    Sha256::new().chain_update(pad(0x5c)).chain_update(inner).finalize().into()
}

/// Compares without stopping at the first difference, so timing does not tell how much of
/// a forged MAC was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::SortValue;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn hmac_matches_rfc_4231() {
        assert_eq!(
            hex(&hmac_sha256(&[0x0b; 20], b"Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        assert_eq!(
            hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Test case 6: a key longer than the block is hashed first.
        assert_eq!(
            hex(&hmac_sha256(&[0xaa; 131], b"Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn tokens_round_trip_and_refuse_tampering() {
        let tokens = PageTokens { key: [7; 32] };
        let cursor = Cursor { after: SortValue::Price(1999), id: "0192-abc".into() };
        let token = tokens.issue([1; 16], &cursor);
        assert_eq!(tokens.read(&token, [1; 16]).unwrap(), cursor);

        // Another query's token.
        assert!(tokens.read(&token, [2; 16]).unwrap_err().description.contains("another query"));
        // Another service's (or key's) token.
        assert!(PageTokens { key: [8; 32] }.read(&token, [1; 16]).is_err());
        // Any flipped byte.
        let bytes = B64.decode(&token).unwrap();
        for i in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[i] ^= 0x01;
            assert_eq!(tokens.read(&B64.encode(flipped), [1; 16]).unwrap_err().field, "page_token", "byte {i}");
        }
        for junk in ["x", "!!!", "", &B64.encode([VERSION; 40])] {
            assert!(tokens.read(junk, [1; 16]).is_err(), "{junk}");
        }
    }
}
