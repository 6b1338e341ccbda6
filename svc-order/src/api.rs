//! The OrderService gRPC API: decode, authorize, run the use case, encode. Access levels
//! come from the contract (the platform's access layer); on top of that every USER RPC
//! acts on the caller's own cart and orders only — another user's order is NOT_FOUND,
//! exactly like one that does not exist. Admins may read and cancel any order.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use chrono::{DateTime, Utc};
use mart_platform::{
    auth::{self, Principal},
    db::{self, is_unique_violation},
    error::{FieldViolation, Violations},
    outbox::relay::RelayWaker,
    paging,
    wire::timestamp,
};
use mart_proto::{
    common,
    order::{self as pb, order_service_server::OrderService},
};
use sea_orm::DatabaseConnection;
use tonic::{Request, Response, Status};

use crate::{
    domain::{
        self, Actor, CancellationSource, Change, IdempotencyKey, Money, OrderStatus, PricedCart, Quantity, cart,
        checkout::{self, SnapshotError},
    },
    error::Error,
    events::{self, Moved},
    peers::{AddressBook, Catalog},
    store::{
        carts,
        orders::{self, Filter, NewOrder},
    },
};

/// The longest note or cancellation reason.
const MAX_NOTE: usize = 500;

/// The longest carrier name or tracking number.
const MAX_SHIPPING_FIELD: usize = 100;

/// The OrderService implementation.
pub struct OrderApi {
    db: DatabaseConnection,
    /// Nudged after every commit that wrote events.
    relay: RelayWaker,
    /// Current names and prices.
    catalog: Catalog,
    /// Shipping addresses.
    address_book: AddressBook,
    /// `MART_ORDER_MAX_QUANTITY`.
    max_quantity: u32,
}

impl OrderApi {
    /// The API over `db`, asking `catalog` and `address_book`, waking `relay` after
    /// writing events; a cart line holds at most `max_quantity` units.
    pub fn new(
        db: DatabaseConnection,
        relay: RelayWaker,
        catalog: Catalog,
        address_book: AddressBook,
        max_quantity: u32,
    ) -> Self {
        Self { db, relay, catalog, address_book, max_quantity }
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
                let mut violations = Violations::new();
                let product_id = violations.check(domain::id("product_id", &request.product_id));
                let quantity = violations.check(Quantity::parse("quantity", request.quantity, self.max_quantity));
                violations.finish()?;
                let (Some(product_id), Some(quantity)) = (product_id, quantity) else {
                    return Err(Error::Invalid(vec![]));
                };

                // Only what the catalog sells goes in; its price is looked up, never taken.
                let catalog = self.catalog.products(std::slice::from_ref(&product_id)).await?;
                match catalog.get(&product_id) {
                    None => return Err(FieldViolation::new("product_id", "no such product").into()),
                    Some(product) if !product.orderable => {
                        return Err(FieldViolation::new("product_id", "archived: no longer sold").into());
                    }
                    Some(_) => {}
                }
                let txn = db::begin_write(&self.db).await?;
                carts::touch(&txn, &me.user_id).await?;
                if !carts::add(&txn, &me.user_id, &product_id, quantity.get(), self.max_quantity).await? {
                    return Err(FieldViolation::new(
                        "quantity",
                        format!("the line would hold more than {} units", self.max_quantity),
                    )
                    .into());
                }
                txn.commit().await?;
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
                let mut violations = Violations::new();
                let product_id = violations.check(domain::id("product_id", &request.product_id));
                // 0 removes the line; anything else must be a quantity a line may hold.
                let quantity = match request.quantity {
                    0 => Some(None),
                    n => violations.check(Quantity::parse("quantity", n, self.max_quantity)).map(Some),
                };
                violations.finish()?;
                let (Some(product_id), Some(quantity)) = (product_id, quantity) else {
                    return Err(Error::Invalid(vec![]));
                };

                let txn = db::begin_write(&self.db).await?;
                carts::touch(&txn, &me.user_id).await?;
                let found = match quantity {
                    None => carts::remove(&txn, &me.user_id, &product_id).await?,
                    Some(quantity) => carts::set(&txn, &me.user_id, &product_id, quantity.get()).await?,
                };
                if !found {
                    return Err(Error::NotFound("cart item"));
                }
                txn.commit().await?;
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
                let txn = db::begin_write(&self.db).await?;
                carts::touch(&txn, &me.user_id).await?;
                if !carts::remove(&txn, &me.user_id, &product_id).await? {
                    return Err(Error::NotFound("cart item"));
                }
                txn.commit().await?;
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
                let txn = db::begin_write(&self.db).await?;
                carts::touch(&txn, &me.user_id).await?;
                carts::clear(&txn, &me.user_id).await?;
                txn.commit().await?;
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
                let mut violations = Violations::new();
                let address_id = violations.check(domain::id("address_id", &request.address_id));
                let note = match request.note.as_deref() {
                    None => Some(None),
                    Some(note) => violations
                        .check(domain::text("note", note, MAX_NOTE, false))
                        .map(|note| (!note.is_empty()).then_some(note)),
                };
                let key = match header {
                    Some(Err(_)) => {
                        violations.add("request_id", "the Idempotency-Key header must be visible ASCII");
                        None
                    }
                    Some(Ok(header)) => violations.check(IdempotencyKey::resolve(Some(&header), &request.request_id)),
                    None => violations.check(IdempotencyKey::resolve(None, &request.request_id)),
                };
                violations.finish()?;
                let (Some(address_id), Some(note), Some(key)) = (address_id, note, key) else {
                    return Err(Error::Invalid(vec![]));
                };
                let order = self.place(&me.user_id, &address_id, note.as_deref(), key.as_ref()).await?;
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
                Ok(pb::GetOrderResponse { order: Some(order_to_proto(&self.full(order).await?)) })
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
                let status = violations.check(status_filter(request.status));
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
                let mut violations = Violations::new();
                let order_id = violations.check(domain::id("order_id", &request.order_id));
                let reason = violations.check(domain::text("reason", &request.reason, MAX_NOTE, false));
                violations.finish()?;
                let (Some(order_id), Some(reason)) = (order_id, reason) else { return Err(Error::Invalid(vec![])) };
                let source = if me.is_admin() { CancellationSource::Admin } else { CancellationSource::User };
                let change = Change::Cancelled { source, reason };
                let order = self.drive(&order_id, owner(&me), &change, &actor(&me)).await?;
                Ok(pb::CancelOrderResponse { order: Some(order) })
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
                let status = violations.check(status_filter(request.status));
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
                let mut violations = Violations::new();
                let order_id = violations.check(domain::id("order_id", &request.order_id));
                let carrier = violations.check(domain::text("carrier", &request.carrier, MAX_SHIPPING_FIELD, true));
                let tracking_number = violations.check(domain::text(
                    "tracking_number",
                    &request.tracking_number,
                    MAX_SHIPPING_FIELD,
                    false,
                ));
                violations.finish()?;
                let (Some(order_id), Some(carrier), Some(tracking_number)) = (order_id, carrier, tracking_number)
                else {
                    return Err(Error::Invalid(vec![]));
                };
                let change = Change::Shipped { carrier, tracking_number };
                let order = self.drive(&order_id, None, &change, &actor(&me)).await?;
                Ok(pb::ShipOrderResponse { order: Some(order) })
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
                let order = self.drive(&order_id, None, &Change::Delivered, &actor(&me)).await?;
                Ok(pb::DeliverOrderResponse { order: Some(order) })
            }
            .await,
        )
    }
}

// === use cases shared by the handlers ===

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

    /// Turns `user_id`'s cart into an order, or returns the order an earlier call with
    /// `key` placed.
    ///
    /// Two guards make this safe under concurrency without locks held across the calls to
    /// the catalog and the address book: the unique index on (user, key) lets exactly one
    /// of several calls with one key insert an order (the others find it), and the cart's
    /// version, compared and swapped in the inserting transaction, makes sure the order is
    /// made of exactly the cart that was read — a cart changed meanwhile, or already taken
    /// by another order, fails the call instead of ordering twice or losing a line.
    async fn place(
        &self,
        user_id: &str,
        address_id: &str,
        note: Option<&str>,
        key: Option<&IdempotencyKey>,
    ) -> Result<orders::Full, Error> {
        // The cart first, then the key: an order that emptied the cart is committed with
        // its key, so a cart found empty by its commit is always followed by finding it.
        let cart = carts::load(&self.db, user_id).await?;
        if let Some(key) = key
            && let Some(order) = orders::find_by_key(&self.db, user_id, key.as_str()).await?
        {
            return self.replay(order, &cart, address_id).await;
        }
        if cart.items.is_empty() {
            return Err(FieldViolation::new("cart", "is empty: add products before placing an order").into());
        }
        let ids: Vec<String> = cart.items.iter().map(|item| item.product_id.clone()).collect();
        let catalog = self.catalog.products(&ids).await?;
        let (lines, total) = checkout::snapshot(&cart.items, &catalog).map_err(|error| match error {
            SnapshotError::NotOrderable(violations) => Error::Invalid(violations),
            SnapshotError::Money(error) => Error::Pricing(error),
            SnapshotError::Empty => FieldViolation::new("cart", "is empty").into(),
        })?;
        let address = self.address_book.address(user_id, address_id).await?;

        let id = uuid::Uuid::now_v7().to_string();
        let txn = db::begin_write(&self.db).await?;
        let new = NewOrder {
            id: &id,
            user_id,
            idempotency_key: key.map(IdempotencyKey::as_str),
            lines: &lines,
            total: &total,
            address: &address,
            note,
            now: Utc::now(),
        };
        match orders::insert(&txn, new).await {
            Ok(()) => {}
            Err(error) if is_unique_violation(&error) => {
                // A concurrent call with the same key won; answer with its order.
                txn.rollback().await?;
                let key = key.map(IdempotencyKey::as_str).unwrap_or_default();
                let order = orders::find_by_key(&self.db, user_id, key).await?.ok_or(Error::Database(error))?;
                return self.replay(order, &cart, address_id).await;
            }
            Err(error) => return Err(error.into()),
        }
        if !carts::claim(&txn, user_id, cart.version).await? {
            return Err(Error::CartChanged);
        }
        carts::clear(&txn, user_id).await?;
        events::placed(&txn, &id, user_id, &lines, &total).await?;
        txn.commit().await?;
        self.relay.wake();
        tracing::info!(order.id = %id, lines = lines.len(), total.minor = total.amount_minor, total.currency = %total.currency, "order placed");
        let order = orders::find(&self.db, &id, None).await?.ok_or(Error::NotFound("order"))?;
        self.full(order).await
    }

    /// The order a repeated PlaceOrder gets: the one its key placed, if the call asks for
    /// the same thing (same address; the same cart, or the emptied cart that order left).
    async fn replay(&self, order: orders::Model, cart: &carts::Cart, address_id: &str) -> Result<orders::Full, Error> {
        let order = self.full(order).await?;
        let ordered: Vec<(String, u32)> = order
            .lines
            .iter()
            .map(|line| (line.product_id.clone(), u32::try_from(line.quantity).unwrap_or(u32::MAX)))
            .collect();
        let same_cart = cart.items.is_empty() || checkout::same_lines(&ordered, &cart.items);
        if order.order.address_id != address_id || !same_cart {
            return Err(Error::KeyReused);
        }
        Ok(order)
    }

    /// Moves an order through the lifecycle for an RPC; the order after.
    async fn drive(&self, id: &str, owner: Option<&str>, change: &Change, actor: &Actor) -> Result<pb::Order, Error> {
        let txn = db::begin_write(&self.db).await?;
        match events::drive(&txn, id, owner, change, actor, None).await? {
            Moved::Done => {}
            Moved::Refused(illegal) => return Err(illegal.into()),
            Moved::NotFound => return Err(Error::NotFound("order")),
        }
        txn.commit().await?;
        self.relay.wake();
        let order = orders::find(&self.db, id, None).await?.ok_or(Error::NotFound("order"))?;
        Ok(order_to_proto(&self.full(order).await?))
    }

    async fn full(&self, order: orders::Model) -> Result<orders::Full, Error> {
        let mut full = orders::with_lines(&self.db, vec![order]).await?;
        full.pop().ok_or(Error::NotFound("order"))
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

/// A status filter: UNSPECIFIED means any.
fn status_filter(value: i32) -> Result<Option<OrderStatus>, FieldViolation> {
    let status = pb::OrderStatus::try_from(value).map_err(|_| FieldViolation::new("status", "not an order status"))?;
    Ok(match status {
        pb::OrderStatus::Unspecified => None,
        pb::OrderStatus::Pending => Some(OrderStatus::Pending),
        pb::OrderStatus::AwaitingPayment => Some(OrderStatus::AwaitingPayment),
        pb::OrderStatus::Paid => Some(OrderStatus::Paid),
        pb::OrderStatus::Shipped => Some(OrderStatus::Shipped),
        pb::OrderStatus::Delivered => Some(OrderStatus::Delivered),
        pb::OrderStatus::Rejected => Some(OrderStatus::Rejected),
        pb::OrderStatus::Cancelled => Some(OrderStatus::Cancelled),
    })
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

// === to and from the wire ===

fn money(amount_minor: i64, currency: &str) -> common::Money {
    common::Money { amount_minor, currency: currency.to_owned() }
}

fn wire_money(amount: &Money) -> common::Money {
    money(amount.amount_minor, &amount.currency)
}

fn count(value: impl TryInto<i32>) -> i32 {
    value.try_into().unwrap_or(i32::MAX)
}

fn cart_to_proto(cart: &PricedCart, updated_at: Option<DateTime<Utc>>) -> pb::Cart {
    pb::Cart {
        lines: cart
            .lines
            .iter()
            .map(|line| pb::CartLine {
                product_id: line.product.product_id.clone(),
                sku: line.product.sku.clone(),
                name: line.product.name.clone(),
                unit_price: Some(wire_money(&line.product.price)),
                quantity: count(line.quantity),
                line_total: Some(wire_money(&line.line_total)),
                added_at: Some(timestamp(&line.added_at)),
            })
            .collect(),
        // An empty cart has no prices to take a currency from: zero of none.
        subtotal: Some(cart.subtotal.as_ref().map_or_else(|| money(0, ""), wire_money)),
        item_count: count(cart.item_count),
        updated_at: updated_at.as_ref().map(timestamp),
    }
}

fn status_to_proto(status: Option<OrderStatus>) -> pb::OrderStatus {
    match status {
        None => pb::OrderStatus::Unspecified,
        Some(OrderStatus::Pending) => pb::OrderStatus::Pending,
        Some(OrderStatus::AwaitingPayment) => pb::OrderStatus::AwaitingPayment,
        Some(OrderStatus::Paid) => pb::OrderStatus::Paid,
        Some(OrderStatus::Shipped) => pb::OrderStatus::Shipped,
        Some(OrderStatus::Delivered) => pb::OrderStatus::Delivered,
        Some(OrderStatus::Rejected) => pb::OrderStatus::Rejected,
        Some(OrderStatus::Cancelled) => pb::OrderStatus::Cancelled,
    }
}

fn source_to_proto(source: Option<CancellationSource>) -> pb::CancellationSource {
    match source {
        None => pb::CancellationSource::Unspecified,
        Some(CancellationSource::User) => pb::CancellationSource::User,
        Some(CancellationSource::Admin) => pb::CancellationSource::Admin,
        Some(CancellationSource::PaymentExpired) => pb::CancellationSource::PaymentExpired,
        Some(CancellationSource::PaymentFailed) => pb::CancellationSource::PaymentFailed,
    }
}

fn order_to_proto(full: &orders::Full) -> pb::Order {
    let order = &full.order;
    let currency = order.currency.as_str();
    pb::Order {
        id: order.id.clone(),
        user_id: order.user_id.clone(),
        status: status_to_proto(OrderStatus::parse(&order.status)).into(),
        lines: full
            .lines
            .iter()
            .map(|line| pb::OrderLine {
                product_id: line.product_id.clone(),
                sku: line.sku.clone(),
                name: line.name.clone(),
                unit_price: Some(money(line.unit_price_minor, currency)),
                quantity: count(line.quantity),
                line_total: Some(money(line.line_total_minor, currency)),
            })
            .collect(),
        total: Some(money(order.total_minor, currency)),
        shipping_address: Some(pb::ShippingAddress {
            address_id: order.address_id.clone(),
            label: order.address_label.clone(),
            line1: order.address_line1.clone(),
            line2: order.address_line2.clone(),
            city: order.address_city.clone(),
            postal_code: order.address_postal_code.clone(),
            country: order.address_country.clone(),
            latitude: order.address_latitude,
            longitude: order.address_longitude,
        }),
        note: order.note.clone(),
        rejected_lines: full
            .rejected
            .iter()
            .map(|line| pb::RejectedLine {
                product_id: line.product_id.clone(),
                requested: line.requested,
                available: line.available,
            })
            .collect(),
        shipment: order.carrier.as_ref().map(|carrier| pb::Shipment {
            carrier: carrier.clone(),
            tracking_number: order.tracking_number.clone().unwrap_or_default(),
            shipped_at: order.shipped_at.as_ref().map(timestamp),
        }),
        cancellation_source: source_to_proto(order.cancellation_source.as_deref().and_then(CancellationSource::parse))
            .into(),
        cancellation_reason: order.cancellation_reason.clone().unwrap_or_default(),
        created_at: Some(timestamp(&order.created_at)),
        updated_at: Some(timestamp(&order.updated_at)),
        paid_at: order.paid_at.as_ref().map(timestamp),
        delivered_at: order.delivered_at.as_ref().map(timestamp),
        closed_at: order.closed_at.as_ref().map(timestamp),
    }
}
