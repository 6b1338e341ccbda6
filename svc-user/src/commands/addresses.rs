//! A customer's saved addresses. Every write is scoped by the owner's id, so one user never
//! changes another's.

use mart_platform::db;
use sea_orm::DatabaseConnection;

use crate::{domain::Address, error::Error, store::addresses};

/// Saves `address` for `user_id`; the stored row.
pub async fn add(db: &DatabaseConnection, user_id: String, address: Address) -> Result<addresses::Model, Error> {
    let txn = db::begin_write(db).await?;
    let row = addresses::insert(&txn, user_id, address).await?;
    txn.commit().await?;
    Ok(row)
}

/// Deletes `user_id`'s address `address_id`.
pub async fn delete(db: &DatabaseConnection, user_id: &str, address_id: &str) -> Result<(), Error> {
    let txn = db::begin_write(db).await?;
    // Another user's address is indistinguishable from a missing one.
    if !addresses::delete_owned(&txn, user_id, address_id).await? {
        return Err(Error::NotFound("address"));
    }
    txn.commit().await?;
    Ok(())
}
