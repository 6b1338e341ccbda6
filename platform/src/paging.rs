//! Paging, the same for every list RPC (`mart.common.v1`, "Paging convention"): how a
//! requested `page_size` becomes a row limit, and the page tokens that carry a client to
//! the next page.
//!
//! A token is opaque to clients, tamper-checked, and bound to the query that issued it:
//! `base64url(version ‖ mac ‖ fingerprint ‖ cursor)`, where `fingerprint` is a digest of
//! the list's name and its filters and order ([`fingerprint`], 16 bytes), `cursor` the JSON
//! of where the page ended (the last row's sort key and id), and `mac` the first 16 bytes
//! of HMAC-SHA256(key, version ‖ fingerprint ‖ cursor). The key is 32 random bytes created
//! at a service's first start and kept in its own database (table `page_token_key`, made by
//! [`Migration`]), so tokens stay valid across restarts and replicas, and a client can
//! neither forge a cursor nor reuse a token with other filters (INVALID_ARGUMENT naming
//! `page_token`).

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use rand::RngCore;
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, Set};
use sea_orm_migration::prelude::*;
use serde::{Serialize, de::DeserializeOwned};
use sha2::{Digest, Sha256};

use crate::{db, error::FieldViolation};

/// The page size when the request gives none.
pub const DEFAULT_PAGE_SIZE: u64 = 20;

/// The largest page a list RPC returns; larger requests are clamped to it.
pub const MAX_PAGE_SIZE: u64 = 100;

/// The number of items a page holds for a requested `page_size`: 0 means the default (20),
/// anything above 100 is clamped to 100, negative values are a violation of `page_size`.
pub fn page_size(requested: i32) -> Result<u64, FieldViolation> {
    match requested {
        0 => Ok(DEFAULT_PAGE_SIZE),
        n if n < 0 => Err(FieldViolation::new("page_size", "must not be negative")),
        n => Ok((n as u64).min(MAX_PAGE_SIZE)),
    }
}

/// The token layout; a different first byte is not one of ours.
const VERSION: u8 = 1;

/// Bytes of the MAC kept in a token: 128 bits, beyond guessing.
const MAC_LEN: usize = 16;

/// Bytes of a query fingerprint.
const FINGERPRINT_LEN: usize = 16;

/// What a token is bound to: a digest of the list and its query.
pub type Fingerprint = [u8; FINGERPRINT_LEN];

/// The fingerprint of a query of the list `list` (its RPC, say "ListOrders") with the
/// filters and order `query`: every field that decides which rows come in which order.
pub fn fingerprint(list: &str, query: &impl Serialize) -> Fingerprint {
    let mut hasher = Sha256::new();
    hasher.update(list.as_bytes());
    hasher.update([0]);
    // Serialising a plain struct of strings, numbers and enums cannot fail; if it ever
    // did, every query would share one digest, which only weakens the mismatch check.
    hasher.update(serde_json::to_vec(query).unwrap_or_default());
    let mut out = [0u8; FINGERPRINT_LEN];
    out.copy_from_slice(&hasher.finalize()[..FINGERPRINT_LEN]);
    out
}

/// The page of `rows` (fetched with a limit one above `limit`, to learn whether more
/// follow) and the token of the next page: empty when this is the last.
pub fn split<T>(mut rows: Vec<T>, limit: u64, token: impl FnOnce(&T) -> String) -> (Vec<T>, String) {
    if rows.len() as u64 <= limit {
        return (rows, String::new());
    }
    rows.truncate(limit as usize);
    let next = rows.last().map(token).unwrap_or_default();
    (rows, next)
}

/// Issues and reads the page tokens of one service, with its key.
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
    /// Tokens signed with `key` (tests; services [`load`](Self::load) theirs).
    pub fn with_key(key: [u8; 32]) -> Self {
        Self { key }
    }

    /// The service's key from `db`, created on first use. When two replicas start at once,
    /// both get the one that was written first.
    pub async fn load<C: ConnectionTrait>(db: &C) -> Result<Self, DbErr> {
        let mut proposed = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut proposed);
        // Written before it is read, so a reading SQLite transaction never turns into a
        // writing one halfway.
        let row = entity::ActiveModel { id: Set(KEY_ROW), key: Set(proposed.to_vec()) };
        db::insert_once(db, row, [entity::Column::Id]).await?;
        let stored = entity::Entity::find_by_id(KEY_ROW)
            .one(db)
            .await?
            .ok_or_else(|| DbErr::Custom("the page token key vanished after it was written".into()))?;
        let key =
            stored.key.as_slice().try_into().map_err(|_| DbErr::Custom("the page token key is corrupt".into()))?;
        Ok(Self { key })
    }

    /// A token for the page after `cursor` of the query with `fingerprint`.
    pub fn issue(&self, fingerprint: Fingerprint, cursor: &impl Serialize) -> String {
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

    /// The cursor in the request's `page_token`: `None` for the first page (an empty
    /// token), else the cursor, if this service issued the token for the query with
    /// `fingerprint`.
    pub fn read<C: DeserializeOwned>(
        &self,
        token: &str,
        fingerprint: Fingerprint,
    ) -> Result<Option<C>, FieldViolation> {
        if token.trim().is_empty() {
            return Ok(None);
        }
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
        serde_json::from_slice(json).map(Some).map_err(|_| bad())
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

// === the key's table ===

/// The one row of `page_token_key`.
const KEY_ROW: i32 = 1;

mod entity {
    //! `page_token_key`: the service's page token key, one row.

    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "page_token_key")]
    pub struct Model {
        /// Always 1.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: i32,
        /// 32 random bytes.
        pub key: Vec<u8>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Creates the `page_token_key` table. Services with a paged list include it in their
/// migrator, after the outbox's.
#[derive(Debug)]
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m00000000_000001_platform_page_token_key"
    }
}

#[allow(elided_lifetimes_in_paths, reason = "the trait is declared with an elided lifetime")]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use entity::Column;
        manager
            .create_table(
                Table::create()
                    .table(entity::Entity)
                    .if_not_exists()
                    .col(ColumnDef::new(Column::Id).integer().not_null().primary_key())
                    .col(ColumnDef::new(Column::Key).blob().not_null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(entity::Entity).to_owned()).await
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Cursor {
        after: i64,
        id: String,
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn sizes_follow_the_convention() {
        assert_eq!(page_size(0), Ok(20));
        assert_eq!(page_size(1), Ok(1));
        assert_eq!(page_size(100), Ok(100));
        assert_eq!(page_size(101), Ok(100));
        assert_eq!(page_size(i32::MAX), Ok(100));
        assert_eq!(page_size(-1).unwrap_err().field, "page_size");
    }

    #[test]
    fn pages_split_one_row_early() {
        assert_eq!(split(vec![1, 2, 3], 3, |n| n.to_string()), (vec![1, 2, 3], String::new()));
        assert_eq!(split(vec![1, 2, 3, 4], 3, |n| n.to_string()), (vec![1, 2, 3], "3".to_owned()));
        assert_eq!(split(Vec::<i32>::new(), 3, |n| n.to_string()), (vec![], String::new()));
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
    fn fingerprints_tell_queries_apart() {
        let query = |user: &str, status: &str| fingerprint("ListOrders", &(user, status));
        assert_eq!(query("u1", "PAID"), query("u1", "PAID"));
        assert_ne!(query("u1", "PAID"), query("u1", "SHIPPED"));
        assert_ne!(query("u1", "PAID"), query("u2", "PAID"));
        assert_ne!(fingerprint("ListOrders", &()), fingerprint("ListUsers", &()));
    }

    #[test]
    fn tokens_round_trip_and_refuse_tampering() {
        let tokens = PageTokens::with_key([7; 32]);
        let cursor = Cursor { after: 1999, id: "0192-abc".into() };
        let token = tokens.issue([1; 16], &cursor);
        assert_eq!(tokens.read::<Cursor>(&token, [1; 16]).unwrap(), Some(cursor));
        assert_eq!(tokens.read::<Cursor>("", [1; 16]).unwrap(), None, "the first page");

        // Another query's token.
        assert!(tokens.read::<Cursor>(&token, [2; 16]).unwrap_err().description.contains("another query"));
        // Another service's (or key's) token.
        assert!(PageTokens::with_key([8; 32]).read::<Cursor>(&token, [1; 16]).is_err());
        // Any flipped byte.
        let bytes = B64.decode(&token).unwrap();
        for i in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[i] ^= 0x01;
            let read = tokens.read::<Cursor>(&B64.encode(flipped), [1; 16]);
            assert_eq!(read.unwrap_err().field, "page_token", "byte {i}");
        }
        for junk in ["x", "!!!", &B64.encode([VERSION; 40])] {
            assert!(tokens.read::<Cursor>(junk, [1; 16]).is_err(), "{junk}");
        }
        // A token signed right but of another shape of cursor.
        let other = tokens.issue([1; 16], &"just a string");
        assert_eq!(tokens.read::<Cursor>(&other, [1; 16]).unwrap_err().field, "page_token");
    }
}
