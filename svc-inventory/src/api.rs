//! The InventoryService gRPC API. Access levels come from the contract (the platform's
//! access layer); GetStock shows on-hand and reserved counts to admins only.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use mart_platform::{
    auth::{self, Principal},
    error::{FieldViolation, Violations},
    paging,
    wire::timestamp,
};
use mart_proto::inventory::{self as pb, inventory_service_server::InventoryService};
use sea_orm::DatabaseConnection;
use tonic::{Request, Response, Status};

use crate::{
    commands::Commands,
    domain::{self, Adjustment, MovementKind, StockTake},
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
}

impl InventoryApi {
    /// The API reading `db` and changing it through `commands`.
    pub fn new(db: DatabaseConnection, commands: Commands) -> Self {
        Self { db, commands }
    }
}

fn reply<T>(result: Result<T, Error>) -> Result<Response<T>, Status> {
    result.map(Response::new).map_err(Status::from)
}

#[tonic::async_trait]
impl InventoryService for InventoryApi {
    async fn get_stock(&self, request: Request<pb::GetStockRequest>) -> Result<Response<pb::GetStockResponse>, Status> {
        let admin = request.extensions().get::<Principal>().is_some_and(Principal::is_admin);
        let request = request.into_inner();
        reply(
            async {
                let product_id = domain::product_id(&request.product_id)?;
                let level = stock::find(&self.db, &product_id).await?.ok_or(Error::NotFound)?;
                Ok(pb::GetStockResponse { stock: Some(to_proto(&level, admin)) })
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
        reply(
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
        reply(
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
        reply(
            async {
                let mut violations = Violations::new();
                let product_id = violations.check(domain::product_id(&request.product_id));
                let limit = violations.check(paging::page_size(request.page_size)).unwrap_or(paging::DEFAULT_PAGE_SIZE);
                let before = if request.page_token.is_empty() {
                    None
                } else {
                    let decoded = B64.decode(&request.page_token).ok().and_then(|b| String::from_utf8(b).ok());
                    if decoded.is_none() {
                        violations.add("page_token", "not a token from a previous page");
                    }
                    decoded
                };
                violations.finish().map_err(Error::Invalid)?;
                let Some(product_id) = product_id else { return Err(Error::Invalid(vec![])) };
                stock::find(&self.db, &product_id).await?.ok_or(Error::NotFound)?;

                let mut rows = movements::list(&self.db, &product_id, before.as_deref(), limit + 1).await?;
                let next_page_token = if rows.len() as u64 > limit {
                    rows.truncate(limit as usize);
                    rows.last().map(|row| B64.encode(&row.id)).unwrap_or_default()
                } else {
                    String::new()
                };
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
        reply(
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
        let product_id = violations.check(domain::product_id(&request.product_id));
        if request.delta == 0 {
            violations.add("delta", "must not be zero: positive receives units, negative writes them off");
        }
        let reason = violations.check(domain::reason(&request.reason));
        violations.finish()?;
        let (Some(product_id), Some(reason)) = (product_id, reason) else { return Err(vec![]) };
        Ok(Self { product_id, delta: i64::from(request.delta), reason })
    }
}

impl TryFrom<&pb::SetStockRequest> for StockTake {
    type Error = Vec<FieldViolation>;

    fn try_from(request: &pb::SetStockRequest) -> Result<Self, Self::Error> {
        let mut violations = Violations::new();
        let product_id = violations.check(domain::product_id(&request.product_id));
        if request.on_hand < 0 {
            violations.add("on_hand", "must not be negative");
        }
        let reason = violations.check(domain::reason(&request.reason));
        violations.finish()?;
        let (Some(product_id), Some(reason)) = (product_id, reason) else { return Err(vec![]) };
        Ok(Self { product_id, on_hand: i64::from(request.on_hand), reason })
    }
}

// === encoding ===

fn count(value: i64) -> i32 {
    i32::try_from(value).unwrap_or(if value < 0 { 0 } else { i32::MAX })
}

/// `detail` adds on hand and reserved: for admins and other services.
fn to_proto(level: &stock::Model, detail: bool) -> pb::StockLevel {
    pb::StockLevel {
        product_id: level.product_id.clone(),
        available: count(level.available().max(0)),
        on_hand: detail.then(|| count(level.on_hand)),
        reserved: detail.then(|| count(level.reserved)),
        updated_at: Some(timestamp(&level.updated_at)),
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
