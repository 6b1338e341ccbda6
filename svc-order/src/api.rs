//! The OrderService gRPC API: authorize, parse the request into domain values
//! (`api/wire.rs`), run a command ([`crate::commands`]) or a read, encode. Access levels
//! come from the contract (the platform's access layer); on top of that every USER RPC
//! acts on the caller's own cart and orders only — another user's order is NOT_FOUND,
//! exactly like one that does not exist. Admins may read and cancel any order.
//!
//! PlaceOrder is refused (FAILED_PRECONDITION, HTTP 409) while the caller has
//! `MART_ORDER_MAX_OPEN_UNPAID` unpaid orders open (`TOO_MANY_UNPAID_ORDERS`), or while
//! `MART_ORDER_MAX_OPEN_UNPAID_PER_ADDRESS` are open from the client address the edge
//! passes on in `x-mart-client-ip` (`TOO_MANY_UNPAID_ORDERS_FROM_ADDRESS`); the message
//! names the limit. Paying or cancelling an order, or its payment deadline passing, frees
//! a place.
//!
//! WatchOrder streams an order ([`crate::watch`]) to its customer or an admin; beyond
//! `MART_ORDER_MAX_WATCHERS_PER_USER` streams of one account (`TOO_MANY_WATCHES`) or
//! `MART_ORDER_MAX_WATCHERS` of the process (`WATCH_CAPACITY`) it is RESOURCE_EXHAUSTED.
//! GetSalesReport (ADMIN) sums the orders paid per UTC day ([`crate::store::sales`]).

use chrono::Utc;
use futures::{StreamExt as _, stream::BoxStream};
use mart_platform::{
    auth::{self, Principal},
    error::{Violations, reply},
    fields,
    paging::{self, PageTokens},
    rpc,
};
use mart_proto::order::{self as pb, order_service_server::OrderService};
use sea_orm::DatabaseConnection;
use serde::{Deserialize, Serialize};
use tonic::{Request, Response, Status};

use crate::{
    commands::Commands,
    domain::{Actor, CancellationSource, Change, OrderStatus, cart},
    error::Error,
    peers::Catalog,
    store::{
        carts,
        orders::{self, Filter},
        sales,
    },
    watch::Watching,
};

mod wire;

use wire::{cart_to_proto, order_to_proto};

/// The OrderService implementation.
pub struct OrderApi {
    /// Every change goes through these.
    commands: Commands,
    /// For the reads.
    db: DatabaseConnection,
    /// Current names, variants and prices, to show a cart.
    catalog: Catalog,
    /// Issues and checks the lists' page tokens.
    tokens: PageTokens,
    /// `MART_ORDER_MAX_QUANTITY`.
    max_quantity: u32,
    /// Opens WatchOrder's streams.
    watching: Watching,
}

impl OrderApi {
    /// The API changing state through `commands`, reading `db`, pricing carts with
    /// `catalog`, paging lists with `tokens` and streaming orders through `watching`; a
    /// cart line holds at most `max_quantity` units.
    pub fn new(
        commands: Commands,
        db: DatabaseConnection,
        catalog: Catalog,
        tokens: PageTokens,
        max_quantity: u32,
        watching: Watching,
    ) -> Self {
        Self { commands, db, catalog, tokens, max_quantity, watching }
    }
}

#[tonic::async_trait]
impl OrderService for OrderApi {
    type WatchOrderStream = BoxStream<'static, Result<pb::WatchOrderResponse, Status>>;

    async fn get_cart(&self, request: Request<pb::GetCartRequest>) -> Result<Response<pb::GetCartResponse>, Status> {
        let me = auth::principal(&request)?;
        reply::<_, Error>(async { Ok(pb::GetCartResponse { cart: Some(self.cart(&me.user_id).await?) }) }.await)
    }

    async fn add_cart_item(
        &self,
        request: Request<pb::AddCartItemRequest>,
    ) -> Result<Response<pb::AddCartItemResponse>, Status> {
        let me = auth::principal(&request)?;
        let request = request.into_inner();
        reply::<_, Error>(
            async {
                let (choice, quantity) = wire::add_cart_item(&request, self.max_quantity)?;
                self.commands.add_to_cart(&me.user_id, &choice, quantity).await?;
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
        reply::<_, Error>(
            async {
                match wire::update_cart_item(&request, self.max_quantity)? {
                    (variant_id, None) => self.commands.remove_from_cart(&me.user_id, &variant_id).await?,
                    (variant_id, Some(quantity)) => {
                        self.commands.set_in_cart(&me.user_id, &variant_id, quantity).await?;
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
        reply::<_, Error>(
            async {
                // The path's `product_id` holds the line's variant id (a single-variant
                // product's id is its variant's).
                let variant_id = fields::id("product_id", &request.product_id)?;
                self.commands.remove_from_cart(&me.user_id, &variant_id).await?;
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
        reply::<_, Error>(
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
        // Counted against MART_ORDER_MAX_OPEN_UNPAID_PER_ADDRESS: the end client the edge
        // names (not the edge itself), or whoever called directly.
        let client = rpc::client_ip(&request);
        let request = request.into_inner();
        reply::<_, Error>(
            async {
                let place = wire::place_order(&request, header, client)?;
                let order = self.commands.place_order(&me.user_id, &place).await?;
                Ok(pb::PlaceOrderResponse { order: Some(order_to_proto(&order)?) })
            }
            .await,
        )
    }

    async fn get_order(&self, request: Request<pb::GetOrderRequest>) -> Result<Response<pb::GetOrderResponse>, Status> {
        let me = auth::principal(&request)?;
        let request = request.into_inner();
        reply::<_, Error>(
            async {
                let order_id = fields::id("order_id", &request.order_id)?;
                let order = orders::find(&self.db, &order_id, owner(&me)).await?.ok_or(Error::NotFound("order"))?;
                let order = orders::full(&self.db, order).await?.ok_or(Error::NotFound("order"))?;
                Ok(pb::GetOrderResponse { order: Some(order_to_proto(&order)?) })
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
        reply::<_, Error>(
            async {
                let mut violations = Violations::new();
                let status = violations.check(wire::status_filter(request.status));
                let filter = Filter { user_id: Some(me.user_id.clone()), status: status.flatten() };
                let (orders, next_page_token) =
                    self.page("ListOrders", filter, request.page_size, &request.page_token, violations).await?;
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
        reply::<_, Error>(
            async {
                let source = if me.is_admin() { CancellationSource::Admin } else { CancellationSource::User };
                let (order_id, change) = wire::cancel_order(&request, source)?;
                let order = self.commands.move_order(&order_id, owner(&me), &change, &actor(&me)).await?;
                Ok(pb::CancelOrderResponse { order: Some(order_to_proto(&order)?) })
            }
            .await,
        )
    }

    async fn list_all_orders(
        &self,
        request: Request<pb::ListAllOrdersRequest>,
    ) -> Result<Response<pb::ListAllOrdersResponse>, Status> {
        let request = request.into_inner();
        reply::<_, Error>(
            async {
                let mut violations = Violations::new();
                let status = violations.check(wire::status_filter(request.status));
                let user_id = violations.check(fields::optional_id("user_id", &request.user_id)).flatten();
                let filter = Filter { user_id, status: status.flatten() };
                let (orders, next_page_token) =
                    self.page("ListAllOrders", filter, request.page_size, &request.page_token, violations).await?;
                Ok(pb::ListAllOrdersResponse { orders, next_page_token })
            }
            .await,
        )
    }

    /// The stream opens (or the call fails: NOT_FOUND, RESOURCE_EXHAUSTED) before any
    /// message; a fault while it runs ends it with that error.
    async fn watch_order(
        &self,
        request: Request<pb::WatchOrderRequest>,
    ) -> Result<Response<Self::WatchOrderStream>, Status> {
        let me = auth::principal(&request)?;
        let request = request.into_inner();
        reply::<_, Error>(
            async {
                let order_id = fields::id("order_id", &request.order_id)?;
                let orders = self.watching.open(order_id, owner(&me), &me.user_id).await?;
                let messages = orders.map(|order| {
                    let order = order.and_then(|order| Ok(order_to_proto(&order)?)).map_err(Status::from)?;
                    Ok(pb::WatchOrderResponse { order: Some(order) })
                });
                Ok(messages.boxed())
            }
            .await,
        )
    }

    async fn get_sales_report(
        &self,
        request: Request<pb::GetSalesReportRequest>,
    ) -> Result<Response<pb::GetSalesReportResponse>, Status> {
        let request = request.into_inner();
        reply::<_, Error>(
            async {
                let query = wire::sales_report(&request, Utc::now().date_naive())?;
                let report = sales::report(&self.db, &query).await?;
                Ok(wire::sales_report_to_proto(&query, &report))
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
        reply::<_, Error>(
            async {
                let (order_id, change) = wire::ship_order(&request)?;
                let order = self.commands.move_order(&order_id, None, &change, &actor(&me)).await?;
                Ok(pb::ShipOrderResponse { order: Some(order_to_proto(&order)?) })
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
        reply::<_, Error>(
            async {
                let order_id = fields::id("order_id", &request.order_id)?;
                let order = self.commands.move_order(&order_id, None, &Change::Delivered, &actor(&me)).await?;
                Ok(pb::DeliverOrderResponse { order: Some(order_to_proto(&order)?) })
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
        let ids: Vec<String> = stored.items.iter().map(|item| item.variant_id.clone()).collect();
        let catalog = if ids.is_empty() { Default::default() } else { self.catalog.variants(&ids).await? };
        let (priced, unknown) = cart::price(&stored.items, &catalog)?;
        if !unknown.is_empty() {
            tracing::warn!(user_id, ?unknown, "cart lines the catalog does not know are not shown");
        }
        Ok(cart_to_proto(&priced, stored.updated_at))
    }

    /// One page of the list `list` (its RPC) of orders matching `filter`, newest first, and
    /// the next page's token, bound to both.
    async fn page(
        &self,
        list: &str,
        filter: Filter,
        page_size: i32,
        page_token: &str,
        mut violations: Violations,
    ) -> Result<(Vec<pb::Order>, String), Error> {
        let query = paging::fingerprint(list, &Query::of(&filter));
        let limit = violations.check(paging::page_size(page_size)).unwrap_or(paging::DEFAULT_PAGE_SIZE);
        let after = violations.check(self.tokens.read::<Cursor>(page_token, query)).flatten();
        violations.finish()?;
        let rows = orders::list(&self.db, &filter, after.as_ref().map(|c| c.id.as_str()), limit + 1).await?;
        let (rows, next) = paging::split(rows, limit, |last| self.tokens.issue(query, &Cursor { id: last.id.clone() }));
        let orders = orders::with_lines(&self.db, rows).await?;
        let orders = orders.iter().map(order_to_proto).collect::<Result<_, _>>()?;
        Ok((orders, next))
    }
}

/// Whose orders the caller may touch: their own, or (admins) anyone's.
fn owner(me: &Principal) -> Option<&str> {
    if me.is_admin() { None } else { Some(&me.user_id) }
}

fn actor(me: &Principal) -> Actor {
    if me.is_admin() { Actor::Admin(me.user_id.clone()) } else { Actor::Customer(me.user_id.clone()) }
}

/// What a page token is bound to: every filter that decides which orders a list shows (the
/// order is always newest first). For ListOrders the customer is the caller, so another
/// caller's token is refused too.
#[derive(Serialize)]
struct Query<'a> {
    user_id: Option<&'a str>,
    status: Option<&'static str>,
}

impl<'a> Query<'a> {
    fn of(filter: &'a Filter) -> Self {
        Self { user_id: filter.user_id.as_deref(), status: filter.status.map(OrderStatus::as_str) }
    }
}

/// Where a page ended: its last (oldest) order. Ids are UUIDv7, so they are the sort key.
#[derive(Serialize, Deserialize)]
struct Cursor {
    id: String,
}
