//! The signing key ring's operator commands (`svc-user keys …`).

use sea_orm::{DatabaseConnection, DbErr};

use crate::{
    keys::{self, Sealer},
    store::signing_keys,
};

/// Creates a new signing key and retires the others; its `kid`. Retired keys stay
/// published until the tokens they signed have expired.
pub async fn rotate(db: &DatabaseConnection, sealer: &Sealer) -> Result<String, DbErr> {
    let txn = mart_platform::db::begin_write(db).await?;
    let kid = keys::create(&txn, sealer).await?;
    signing_keys::retire_all_but(&txn, &kid).await?;
    txn.commit().await?;
    Ok(kid)
}

/// Removes key `kid` at once: it is no longer published, so verifiers drop it at their next
/// refresh and refuse the tokens it signed. When it was the signing key a new one is
/// created first. The key signing from now on, or `None` when there is no key `kid`.
pub async fn retire(db: &DatabaseConnection, sealer: &Sealer, kid: &str) -> Result<Option<String>, DbErr> {
    let txn = mart_platform::db::begin_write(db).await?;
    let Some(signing) = signing_keys::active(&txn).await? else {
        return Ok(None);
    };
    let signing = if signing.kid == kid {
        let new = keys::create(&txn, sealer).await?;
        signing_keys::retire_all_but(&txn, &new).await?;
        new
    } else {
        signing.kid
    };
    if !signing_keys::delete(&txn, kid).await? {
        return Ok(None);
    }
    txn.commit().await?;
    tracing::warn!(kid, "retired a token signing key: its tokens are refused from now on");
    Ok(Some(signing))
}
