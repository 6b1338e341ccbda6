//! svc-product's own background work: asking svc-inventory about variants it never heard
//! of. Every stock change is announced with each variant's available units (see
//! [`crate::reactions`]), so the catalog knows what is in stock without asking — except for
//! variants that existed before variants did: a catalog upgraded from then has every
//! product's default variant marked "never heard" (`stock_version = -1`), and this loop
//! asks svc-inventory for their figures (BatchGetStock), a batch at a time, until none is
//! left. An answer is recorded as version 0, so any announced change (version 1 and up)
//! replaces it; a variant svc-inventory does not know is recorded as none available.
//!
//! [`serve`](crate::serve) runs [`sync`] as the loop [`NAME`], every [`INTERVAL`]; while
//! svc-inventory does not answer, the round fails quietly and is tried again.

use std::time::Duration;

use mart_platform::tasks::Round;
use sea_orm::{DatabaseConnection, TransactionTrait};

use crate::{commands, error::Error, peers::StockClient, store::variants};

/// The loop's name, in its logs.
pub const NAME: &str = "product.stock-sync";

/// How often it looks for variants never heard of.
pub const INTERVAL: Duration = Duration::from_secs(30);

/// The most variants (of at most as many products) one round asks about.
const BATCH: u64 = 100;

/// Asks `stock` about up to [`BATCH`] variants of `db` never heard of and records the
/// answers. [`Round::More`] when it found a full batch.
pub async fn sync(db: &DatabaseConnection, stock: &StockClient) -> Result<Round, Error> {
    let unknown = variants::never_heard(db, BATCH).await?;
    if unknown.is_empty() {
        return Ok(Round::Idle);
    }
    let mut product_ids: Vec<String> = unknown.iter().map(|v| v.product_id.clone()).collect();
    product_ids.sort();
    product_ids.dedup();
    let levels = stock
        .levels(&product_ids)
        .await
        .ok_or_else(|| Error::Internal("svc-inventory did not answer; stock sync postponed".into()))?;
    let answers = unknown.iter().map(|v| (v.id.clone(), levels.get(&v.id).copied().map_or(0, i64::from), 0));
    let txn = db.begin().await?;
    commands::record_stock(&txn, answers.collect::<Vec<_>>()).await?;
    txn.commit().await?;
    tracing::info!(variants = unknown.len(), "recorded the stock of variants from before variants existed");
    Ok(if unknown.len() as u64 == BATCH { Round::More } else { Round::Idle })
}
