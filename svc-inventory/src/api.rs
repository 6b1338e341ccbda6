//! The InventoryService gRPC API. Access levels come from the contract (the platform's
//! access layer); GetStock shows on-hand and reserved counts to admins only.
//!
//! Stock is per variant. GetStock answers with every variant and the product's total;
//! the admin's calls are about one variant, named in `variant_id` or, for a product with
//! only one, implied. A variant id that is not the product's is INVALID_ARGUMENT naming
//! `variant_id` (the product exists; the call is wrong), as is a missing one where the
//! product has several.

use mart_platform::{
    auth::{self, Principal},
    error::{FieldViolation, Violations, reply},
    fields, paging,
    wire::timestamp,
};
use mart_proto::inventory::{self as pb, inventory_service_server::InventoryService};
use sea_orm::DatabaseConnection;
use tonic::{Request, Response, Status};

use crate::{
    commands::{self, Commands},
    domain::{Adjustment, MAX_REASON, MovementKind, StockTake},
    error::Error,
    store::{movements, stock},
};

/// The most product ids BatchGetStock answers at once.
const MAX_BATCH: usize = 500;

/// The InventoryService implementation.
pub struct InventoryApi {
    /// For the reads.
    db: DatabaseConnection,
    /// For the changes.
    commands: Commands,
    /// Signs the ledger's page tokens.
    tokens: paging::PageTokens,
}

impl InventoryApi {
    /// The API reading `db` and changing it through `commands`, paging with `tokens`.
    pub fn new(db: DatabaseConnection, commands: Commands, tokens: paging::PageTokens) -> Self {
        Self { db, commands, tokens }
    }
}

/// Where a page of a variant's ledger ended: the last movement's id (ids are UUIDv7, so
/// their order is the ledger's).
#[derive(serde::Serialize, serde::Deserialize)]
struct MovementCursor {
    id: String,
}

#[tonic::async_trait]
impl InventoryService for InventoryApi {
    async fn get_stock(&self, request: Request<pb::GetStockRequest>) -> Result<Response<pb::GetStockResponse>, Status> {
        let admin = request.extensions().get::<Principal>().is_some_and(Principal::is_admin);
        let request = request.into_inner();
        reply::<_, Error>(
            async {
                let product_id = fields::id("product_id", &request.product_id)?;
                let levels = stock::of_product(&self.db, &product_id).await?;
                if levels.is_empty() {
                    return Err(Error::NotFound);
                }
                Ok(pb::GetStockResponse {
                    stock: Some(total(&product_id, &levels, admin)),
                    variants: levels.iter().map(|level| to_proto(level, admin)).collect(),
                })
            }
            .await,
        )
    }

    async fn adjust_stock(
        &self,
        request: Request<pb::AdjustStockRequest>,
    ) -> Result<Response<pb::AdjustStockResponse>, Status> {
        let me = auth::principal(&request)?;
        let request = request.into_inner();
        reply::<_, Error>(
            async {
                let change = Adjustment::try_from(&request).map_err(Error::Invalid)?;
                let level = self.commands.adjust(&change, &me.user_id).await?;
                Ok(pb::AdjustStockResponse { stock: Some(to_proto(&level, true)) })
            }
            .await,
        )
    }

    async fn set_stock(&self, request: Request<pb::SetStockRequest>) -> Result<Response<pb::SetStockResponse>, Status> {
        let me = auth::principal(&request)?;
        let request = request.into_inner();
        reply::<_, Error>(
            async {
                let take = StockTake::try_from(&request).map_err(Error::Invalid)?;
                let level = self.commands.take_stock(&take, &me.user_id).await?;
                Ok(pb::SetStockResponse { stock: Some(to_proto(&level, true)) })
            }
            .await,
        )
    }

    async fn list_stock_movements(
        &self,
        request: Request<pb::ListStockMovementsRequest>,
    ) -> Result<Response<pb::ListStockMovementsResponse>, Status> {
        let request = request.into_inner();
        reply::<_, Error>(
            async {
                let mut violations = Violations::new();
                let product_id = violations.check(fields::id("product_id", &request.product_id));
                let variant_id = violations.check(fields::optional_id("variant_id", &request.variant_id)).flatten();
                let limit = violations.check(paging::page_size(request.page_size)).unwrap_or(paging::DEFAULT_PAGE_SIZE);
                // A token is bound to the product and variant whose ledger it pages, as the
                // request named them: the only filters.
                let fingerprint = paging::fingerprint("ListStockMovements", &(&product_id, &variant_id));
                let before = violations
                    .check(self.tokens.read::<MovementCursor>(&request.page_token, fingerprint))
                    .flatten()
                    .map(|cursor| cursor.id);
                violations.finish().map_err(Error::Invalid)?;
                let Some(product_id) = product_id else { return Err(Error::Invalid(vec![])) };
                let variant_id = commands::variant_of(&self.db, &product_id, variant_id.as_deref()).await?;

                let rows = movements::list(&self.db, &variant_id, before.as_deref(), limit + 1).await?;
                let (rows, next_page_token) = paging::split(rows, limit, |last| {
                    self.tokens.issue(fingerprint, &MovementCursor { id: last.id.clone() })
                });
                Ok(pb::ListStockMovementsResponse {
                    movements: rows.iter().map(movement_to_proto).collect(),
                    next_page_token,
                })
            }
            .await,
        )
    }

    async fn batch_get_stock(
        &self,
        request: Request<pb::BatchGetStockRequest>,
    ) -> Result<Response<pb::BatchGetStockResponse>, Status> {
        let request = request.into_inner();
        reply::<_, Error>(
            async {
                if request.product_ids.len() > MAX_BATCH {
                    return Err(FieldViolation::new("product_ids", format!("at most {MAX_BATCH} ids")).into());
                }
                let levels = stock::find_many(&self.db, &request.product_ids).await?;
                Ok(pb::BatchGetStockResponse { stocks: levels.iter().map(|level| to_proto(level, true)).collect() })
            }
            .await,
        )
    }
}

// === parsing ===

impl TryFrom<&pb::AdjustStockRequest> for Adjustment {
    type Error = Vec<FieldViolation>;

    fn try_from(request: &pb::AdjustStockRequest) -> Result<Self, Self::Error> {
        let mut violations = Violations::new();
        let product_id = violations.check(fields::id("product_id", &request.product_id));
        let variant_id = violations.check(fields::optional_id("variant_id", &request.variant_id)).flatten();
        if request.delta == 0 {
            violations.add("delta", "must not be zero: positive receives units, negative writes them off");
        }
        let reason = violations.check(fields::line("reason", &request.reason, true, MAX_REASON));
        violations.finish()?;
        let (Some(product_id), Some(reason)) = (product_id, reason) else { return Err(vec![]) };
        Ok(Self { product_id, variant_id, delta: i64::from(request.delta), reason })
    }
}

impl TryFrom<&pb::SetStockRequest> for StockTake {
    type Error = Vec<FieldViolation>;

    fn try_from(request: &pb::SetStockRequest) -> Result<Self, Self::Error> {
        let mut violations = Violations::new();
        let product_id = violations.check(fields::id("product_id", &request.product_id));
        let variant_id = violations.check(fields::optional_id("variant_id", &request.variant_id)).flatten();
        if request.on_hand < 0 {
            violations.add("on_hand", "must not be negative");
        }
        let reason = violations.check(fields::line("reason", &request.reason, true, MAX_REASON));
        violations.finish()?;
        let (Some(product_id), Some(reason)) = (product_id, reason) else { return Err(vec![]) };
        Ok(Self { product_id, variant_id, on_hand: i64::from(request.on_hand), reason })
    }
}

// === encoding ===

fn count(value: i64) -> i32 {
    i32::try_from(value).unwrap_or(if value < 0 { 0 } else { i32::MAX })
}

/// A variant's level; `detail` adds on hand and reserved: for admins and other services.
fn to_proto(level: &stock::Model, detail: bool) -> pb::StockLevel {
    pb::StockLevel {
        product_id: level.product_id.clone(),
        variant_id: level.variant_id.clone(),
        available: count(level.available().max(0)),
        on_hand: detail.then(|| count(level.on_hand)),
        reserved: detail.then(|| count(level.reserved)),
        updated_at: Some(timestamp(&level.updated_at)),
    }
}

/// The product's total over its variants' `levels` (at least one): the sums of what
/// each shows, changed when the latest of them changed.
fn total(product_id: &str, levels: &[stock::Model], detail: bool) -> pb::StockLevel {
    let available: i64 = levels.iter().map(|level| level.available().max(0)).sum();
    let on_hand: i64 = levels.iter().map(|level| level.on_hand).sum();
    let reserved: i64 = levels.iter().map(|level| level.reserved).sum();
    pb::StockLevel {
        product_id: product_id.to_owned(),
        variant_id: String::new(),
        available: count(available),
        on_hand: detail.then(|| count(on_hand)),
        reserved: detail.then(|| count(reserved)),
        updated_at: levels.iter().map(|level| level.updated_at).max().map(|at| timestamp(&at)),
    }
}

fn movement_to_proto(row: &movements::Model) -> pb::StockMovement {
    let kind = match MovementKind::parse(&row.kind) {
        Some(MovementKind::Initial) => pb::StockMovementKind::Initial,
        Some(MovementKind::Adjustment) => pb::StockMovementKind::Adjustment,
        Some(MovementKind::StockTake) => pb::StockMovementKind::StockTake,
        Some(MovementKind::Reservation) => pb::StockMovementKind::Reservation,
        Some(MovementKind::Release) => pb::StockMovementKind::Release,
        Some(MovementKind::Commit) => pb::StockMovementKind::Commit,
        None => pb::StockMovementKind::Unspecified,
    };
    pb::StockMovement {
        id: row.id.clone(),
        product_id: row.product_id.clone(),
        variant_id: row.variant_id.clone(),
        kind: kind.into(),
        on_hand_delta: count(row.on_hand_delta),
        reserved_delta: count(row.reserved_delta),
        on_hand_after: count(row.on_hand_after),
        reserved_after: count(row.reserved_after),
        reason: row.reason.clone(),
        order_id: row.order_id.clone().unwrap_or_default(),
        actor_id: row.actor_id.clone().unwrap_or_default(),
        created_at: Some(timestamp(&row.created_at)),
    }
}
