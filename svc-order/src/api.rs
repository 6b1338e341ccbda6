//! The OrderService gRPC API: authorize, parse the request into domain values
//! (`api/wire.rs`), run a command ([`crate::commands`]) or a read, encode. Access levels
//! come from the contract (the platform's access layer); on top of that every USER RPC
//! acts on the caller's own cart and orders only — another user's order is NOT_FOUND,
//! exactly like one that does not exist. Admins may read and cancel any order.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use mart_platform::{
    auth::{self, Principal},
    error::{FieldViolation, Violations},
    paging,
};
use mart_proto::order::{self as pb, order_service_server::OrderService};
use sea_orm::DatabaseConnection;
use tonic::{Request, Response, Status};

use crate::{
    commands::Commands,
    domain::{self, Actor, CancellationSource, Change, OrderStatus, cart},
    error::Error,
    peers::Catalog,
    store::{
        carts,
        orders::{self, Filter},
    },
};

mod wire;

use wire::{cart_to_proto, order_to_proto};

/// The OrderService implementation.
pub struct OrderApi {
    /// Every change goes through these.
    commands: Commands,
    /// For the reads.
    db: DatabaseConnection,
    /// Current names and prices, to show a cart.
    catalog: Catalog,
    /// `MART_ORDER_MAX_QUANTITY`.
    max_quantity: u32,
}

impl OrderApi {
    /// The API changing state through `commands`, reading `db` and pricing carts with
    /// `catalog`; a cart line holds at most `max_quantity` units.
    pub fn new(commands: Commands, db: DatabaseConnection, catalog: Catalog, max_quantity: u32) -> Self {
        Self { commands, db, catalog, max_quantity }
    }
}

fn reply<T>(result: Result<T, Error>) -> Result<Response<T>, Status> {
    result.map(Response::new).map_err(Status::from)
}

#[tonic::async_trait]
impl OrderService for OrderApi {
    async fn get_cart(&self, request: Request<pb::GetCartRequest>) -> Result<Response<pb::GetCartResponse>, Status> {
        let me = auth::principal(&request)?;
        reply(async { Ok(pb::GetCartResponse { cart: Some(self.cart(&me.user_id).await?) }) }.await)
    }

    async fn add_cart_item(
        &self,
        request: Request<pb::AddCartItemRequest>,
    ) -> Result<Response<pb::AddCartItemResponse>, Status> {
        let me = auth::principal(&request)?;
        let request = request.into_inner();
        reply(
            async {
                let (product_id, quantity) = wire::add_cart_item(&request, self.max_quantity)?;
                self.commands.add_to_cart(&me.user_id, &product_id, quantity).await?;
                Ok(pb::AddCartItemResponse { cart: Some(self.cart(&me.user_id).await?) })
            }
            .await,
        )
    }

    async fn update_cart_item(
        &self,
        request: Request<pb::UpdateCartItemRequest>,
    ) -> Result<Response<pb::UpdateCartItemResponse>, Status> {
        let me = auth::principal(&request)?;
        let request = request.into_inner();
        reply(
            async {
                match wire::update_cart_item(&request, self.max_quantity)? {
                    (product_id, None) => self.commands.remove_from_cart(&me.user_id, &product_id).await?,
                    (product_id, Some(quantity)) => {
                        self.commands.set_in_cart(&me.user_id, &product_id, quantity).await?;
                    }
                }
                Ok(pb::UpdateCartItemResponse { cart: Some(self.cart(&me.user_id).await?) })
            }
            .await,
        )
    }

    async fn remove_cart_item(
        &self,
        request: Request<pb::RemoveCartItemRequest>,
    ) -> Result<Response<pb::RemoveCartItemResponse>, Status> {
        let me = auth::principal(&request)?;
        let request = request.into_inner();
        reply(
            async {
                let product_id = domain::id("product_id", &request.product_id)?;
                self.commands.remove_from_cart(&me.user_id, &product_id).await?;
                Ok(pb::RemoveCartItemResponse { cart: Some(self.cart(&me.user_id).await?) })
            }
            .await,
        )
    }

    async fn clear_cart(
        &self,
        request: Request<pb::ClearCartRequest>,
    ) -> Result<Response<pb::ClearCartResponse>, Status> {
        let me = auth::principal(&request)?;
        reply(
            async {
                self.commands.clear_cart(&me.user_id).await?;
                Ok(pb::ClearCartResponse {})
            }
            .await,
        )
    }

    async fn place_order(
        &self,
        request: Request<pb::PlaceOrderRequest>,
    ) -> Result<Response<pb::PlaceOrderResponse>, Status> {
        let me = auth::principal(&request)?;
        let header = request.metadata().get("idempotency-key").map(|value| value.to_str().map(str::to_owned));
        let request = request.into_inner();
        reply(
            async {
                let place = wire::place_order(&request, header)?;
                let order = self.commands.place_order(&me.user_id, &place).await?;
                Ok(pb::PlaceOrderResponse { order: Some(order_to_proto(&order)) })
            }
            .await,
        )
    }

    async fn get_order(&self, request: Request<pb::GetOrderRequest>) -> Result<Response<pb::GetOrderResponse>, Status> {
        let me = auth::principal(&request)?;
        let request = request.into_inner();
        reply(
            async {
                let order_id = domain::id("order_id", &request.order_id)?;
                let order = orders::find(&self.db, &order_id, owner(&me)).await?.ok_or(Error::NotFound("order"))?;
                let order = orders::full(&self.db, order).await?.ok_or(Error::NotFound("order"))?;
                Ok(pb::GetOrderResponse { order: Some(order_to_proto(&order)) })
            }
            .await,
        )
    }

    async fn list_orders(
        &self,
        request: Request<pb::ListOrdersRequest>,
    ) -> Result<Response<pb::ListOrdersResponse>, Status> {
        let me = auth::principal(&request)?;
        let request = request.into_inner();
        reply(
            async {
                let mut violations = Violations::new();
                let status = violations.check(wire::status_filter(request.status));
                let filter = Filter { user_id: Some(me.user_id.clone()), status: status.flatten() };
                let (orders, next_page_token) =
                    self.page(filter, request.page_size, &request.page_token, violations).await?;
                Ok(pb::ListOrdersResponse { orders, next_page_token })
            }
            .await,
        )
    }

    async fn cancel_order(
        &self,
        request: Request<pb::CancelOrderRequest>,
    ) -> Result<Response<pb::CancelOrderResponse>, Status> {
        let me = auth::principal(&request)?;
        let request = request.into_inner();
        reply(
            async {
                let source = if me.is_admin() { CancellationSource::Admin } else { CancellationSource::User };
                let (order_id, change) = wire::cancel_order(&request, source)?;
                let order = self.commands.move_order(&order_id, owner(&me), &change, &actor(&me)).await?;
                Ok(pb::CancelOrderResponse { order: Some(order_to_proto(&order)) })
            }
            .await,
        )
    }

    async fn list_all_orders(
        &self,
        request: Request<pb::ListAllOrdersRequest>,
    ) -> Result<Response<pb::ListAllOrdersResponse>, Status> {
        let request = request.into_inner();
        reply(
            async {
                let mut violations = Violations::new();
                let status = violations.check(wire::status_filter(request.status));
                let user_id = request.user_id.trim();
                let user_id = if user_id.is_empty() { None } else { violations.check(domain::id("user_id", user_id)) };
                let filter = Filter { user_id, status: status.flatten() };
                let (orders, next_page_token) =
                    self.page(filter, request.page_size, &request.page_token, violations).await?;
                Ok(pb::ListAllOrdersResponse { orders, next_page_token })
            }
            .await,
        )
    }

    async fn ship_order(
        &self,
        request: Request<pb::ShipOrderRequest>,
    ) -> Result<Response<pb::ShipOrderResponse>, Status> {
        let me = auth::principal(&request)?;
        let request = request.into_inner();
        reply(
            async {
                let (order_id, change) = wire::ship_order(&request)?;
                let order = self.commands.move_order(&order_id, None, &change, &actor(&me)).await?;
                Ok(pb::ShipOrderResponse { order: Some(order_to_proto(&order)) })
            }
            .await,
        )
    }

    async fn deliver_order(
        &self,
        request: Request<pb::DeliverOrderRequest>,
    ) -> Result<Response<pb::DeliverOrderResponse>, Status> {
        let me = auth::principal(&request)?;
        let request = request.into_inner();
        reply(
            async {
                let order_id = domain::id("order_id", &request.order_id)?;
                let order = self.commands.move_order(&order_id, None, &Change::Delivered, &actor(&me)).await?;
                Ok(pb::DeliverOrderResponse { order: Some(order_to_proto(&order)) })
            }
            .await,
        )
    }
}

// === reads shared by the handlers ===

impl OrderApi {
    /// `user_id`'s cart priced by the catalog now.
    async fn cart(&self, user_id: &str) -> Result<pb::Cart, Error> {
        let stored = carts::load(&self.db, user_id).await?;
        let ids: Vec<String> = stored.items.iter().map(|item| item.product_id.clone()).collect();
        let catalog = if ids.is_empty() { Default::default() } else { self.catalog.products(&ids).await? };
        let (priced, unknown) = cart::price(&stored.items, &catalog)?;
        if !unknown.is_empty() {
            tracing::warn!(user_id, ?unknown, "cart lines the catalog does not know are not shown");
        }
        Ok(cart_to_proto(&priced, stored.updated_at))
    }

    /// One page of orders matching `filter`, newest first, and the next page's token.
    async fn page(
        &self,
        filter: Filter,
        page_size: i32,
        page_token: &str,
        mut violations: Violations,
    ) -> Result<(Vec<pb::Order>, String), Error> {
        let limit = violations.check(paging::page_size(page_size)).unwrap_or(paging::DEFAULT_PAGE_SIZE);
        let before = violations.check(PageToken::decode(page_token, &filter)).flatten();
        violations.finish()?;
        let mut rows = orders::list(&self.db, &filter, before.as_deref(), limit + 1).await?;
        let next = if rows.len() as u64 > limit {
            rows.truncate(limit as usize);
            rows.last().map(|row| PageToken::encode(&row.id, &filter)).unwrap_or_default()
        } else {
            String::new()
        };
        let orders = orders::with_lines(&self.db, rows).await?;
        Ok((orders.iter().map(order_to_proto).collect(), next))
    }
}

/// Whose orders the caller may touch: their own, or (admins) anyone's.
fn owner(me: &Principal) -> Option<&str> {
    if me.is_admin() { None } else { Some(&me.user_id) }
}

fn actor(me: &Principal) -> Actor {
    if me.is_admin() { Actor::Admin(me.user_id.clone()) } else { Actor::Customer(me.user_id.clone()) }
}

/// Page tokens: the last order id of a page with the filters it was listed with, so a
/// token used with other filters is refused rather than silently skipping orders.
struct PageToken;

impl PageToken {
    fn fingerprint(filter: &Filter) -> String {
        format!("{}/{}", filter.status.map_or("", OrderStatus::as_str), filter.user_id.as_deref().unwrap_or(""))
    }

    fn encode(last_id: &str, filter: &Filter) -> String {
        B64.encode(format!("{last_id}\n{}", Self::fingerprint(filter)))
    }

    /// The order id to continue after; `None` for the first page.
    fn decode(token: &str, filter: &Filter) -> Result<Option<String>, FieldViolation> {
        if token.is_empty() {
            return Ok(None);
        }
        let malformed = || FieldViolation::new("page_token", "not a token from a previous page");
        let decoded = B64.decode(token).ok().and_then(|bytes| String::from_utf8(bytes).ok()).ok_or_else(malformed)?;
        let (last_id, fingerprint) = decoded.split_once('\n').ok_or_else(malformed)?;
        if fingerprint != Self::fingerprint(filter) {
            return Err(FieldViolation::new("page_token", "was issued for different filters"));
        }
        Ok(Some(last_id.to_owned()))
    }
}
