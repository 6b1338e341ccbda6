//! The signing key ring's operator commands (`svc-user keys …`).

use sea_orm::{DatabaseConnection, DbErr};

use crate::{keys, store::signing_keys};

/// Creates a new signing key and retires the others; its `kid`. Retired keys stay
/// published until the tokens they signed have expired.
pub async fn rotate(db: &DatabaseConnection) -> Result<String, DbErr> {
    let txn = mart_platform::db::begin_write(db).await?;
    let kid = keys::create(&txn).await?;
    signing_keys::retire_all_but(&txn, &kid).await?;
    txn.commit().await?;
    Ok(kid)
}
