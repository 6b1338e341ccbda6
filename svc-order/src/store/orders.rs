//! The `orders`, `order_lines`, `order_rejected_lines` and `order_address_locks` tables.
//! An order's status changes only through [`apply`], a conditional update: of two
//! concurrent moves from one status, exactly one finds the row still there. Every update of
//! an order row ([`apply`], [`record_refund`]) sets `updated_at`, which WatchOrder's re-read
//! compares ([`versions`]).

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use mart_platform::{
    db,
    money::{Currency, Money},
};
use sea_orm::{Condition, QueryOrder, QuerySelect, Set, entity::prelude::*, sea_query::Expr};

use crate::domain::{Change, ClientAddress, OrderLine, OrderStatus, ShippingAddress, ShortLine};

/// An order.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "orders")]
pub struct Model {
    /// UUIDv7: also the newest-first order of lists.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The customer.
    pub user_id: String,
    /// `OrderStatus`.
    pub status: String,
    /// The client's idempotency key; unique per user (an index), absent if none was sent.
    pub idempotency_key: Option<String>,
    /// Sum of the line totals, in minor units.
    pub total_minor: i64,
    /// Currency of every amount of the order.
    pub currency: String,
    /// The address book entry the shipping address was copied from.
    pub address_id: String,
    /// Its label.
    pub address_label: String,
    /// Street and number.
    pub address_line1: String,
    /// More address.
    pub address_line2: String,
    /// City.
    pub address_city: String,
    /// Postal code.
    pub address_postal_code: String,
    /// Country code.
    pub address_country: String,
    /// Latitude.
    pub address_latitude: Option<f64>,
    /// Longitude.
    pub address_longitude: Option<f64>,
    /// The customer's note.
    pub note: Option<String>,
    /// Set on RESERVED (and announced in OrderAwaitingPayment, so svc-payment expires the
    /// payment at the same instant): the sweeper cancels the order unpaid after it
    /// (`lifecycle::expires_at`). A column, so the deadline survives restarts.
    pub payment_deadline: Option<DateTimeUtc>,
    /// svc-payment's id, once paid.
    pub payment_id: Option<String>,
    /// Carrier, once shipped.
    pub carrier: Option<String>,
    /// Tracking number, once shipped.
    pub tracking_number: Option<String>,
    /// `CancellationSource`, once cancelled.
    pub cancellation_source: Option<String>,
    /// Why it was cancelled.
    pub cancellation_reason: Option<String>,
    /// When it was placed.
    pub created_at: DateTimeUtc,
    /// When it last changed.
    pub updated_at: DateTimeUtc,
    /// When it was paid.
    pub paid_at: Option<DateTimeUtc>,
    /// When it was shipped.
    pub shipped_at: Option<DateTimeUtc>,
    /// When it was delivered.
    pub delivered_at: Option<DateTimeUtc>,
    /// When it was cancelled or rejected.
    pub closed_at: Option<DateTimeUtc>,
    /// The client address it was placed from (`ClientAddress`), kept while the order is
    /// open and unpaid — what `MART_ORDER_MAX_OPEN_UNPAID_PER_ADDRESS` counts — and cleared
    /// by the move that ends that, so no address stays stored longer than it is needed.
    pub client_address: Option<String>,
    /// Money given back so far, in minor units of the order's currency: the largest
    /// cumulative total a PaymentRefunded told ([`record_refund`]); 0 when none.
    pub refunded_minor: i64,
}

/// No navigable relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// The status, as the domain knows it.
    pub fn status(&self) -> Result<OrderStatus, DbErr> {
        OrderStatus::parse(&self.status)
            .ok_or_else(|| DbErr::Custom(format!("order {} has an unknown status {:?}", self.id, self.status)))
    }

    /// The total. A currency this shop does not know is corrupt data.
    pub fn total(&self) -> Result<Money, DbErr> {
        Money::from_stored(self.total_minor, &self.currency)
            .map_err(|error| DbErr::Custom(format!("order {} has an unreadable total: {error}", self.id)))
    }

    /// The currency of every amount of the order.
    pub fn currency(&self) -> Result<Currency, DbErr> {
        Ok(self.total()?.currency)
    }
}

/// The lines of orders.
pub mod lines {
    use sea_orm::entity::prelude::*;

    use crate::domain::OptionValue;

    /// One variant of an order, as it was when placed.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "order_lines")]
    pub struct Model {
        /// The order.
        #[sea_orm(primary_key, auto_increment = false)]
        pub order_id: String,
        /// Its place in the order (the cart's order).
        #[sea_orm(primary_key, auto_increment = false)]
        pub position: i32,
        /// The product.
        pub product_id: String,
        /// The variant's SKU then.
        pub sku: String,
        /// The product's name then.
        pub name: String,
        /// Its unit price then, in the order's currency.
        pub unit_price_minor: i64,
        /// Units.
        pub quantity: i64,
        /// Unit price × quantity.
        pub line_total_minor: i64,
        /// The variant (for lines from before variants, the product's id: its default
        /// variant).
        pub variant_id: String,
        /// The variant's option values then: a JSON array of `OptionValue` (`[]` for a
        /// default variant, and for lines from before variants).
        pub option_values: String,
        /// The variant's image then; empty for none.
        pub image_url: String,
    }

    /// No navigable relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    impl Model {
        /// The option values; an error if the stored JSON does not read (corrupt data).
        pub fn option_values(&self) -> Result<Vec<OptionValue>, DbErr> {
            serde_json::from_str(&self.option_values).map_err(|error| {
                DbErr::Custom(format!(
                    "line {} of order {} has unreadable option values: {error}",
                    self.position, self.order_id
                ))
            })
        }
    }

    /// `values` as the `option_values` column stores them.
    pub fn encode_option_values(values: &[OptionValue]) -> String {
        // A list of plain string pairs always serializes.
        serde_json::to_string(values).unwrap_or_else(|_| "[]".to_owned())
    }
}

/// Why orders were rejected.
pub mod rejected {
    use sea_orm::entity::prelude::*;

    /// A line inventory could not reserve.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "order_rejected_lines")]
    pub struct Model {
        /// The order.
        #[sea_orm(primary_key, auto_increment = false)]
        pub order_id: String,
        /// Its place in inventory's answer.
        #[sea_orm(primary_key, auto_increment = false)]
        pub position: i32,
        /// The product.
        pub product_id: String,
        /// Units asked for.
        pub requested: i32,
        /// Units there were.
        pub available: i32,
        /// The variant (for lines from before variants, the product's id).
        pub variant_id: String,
    }

    /// No navigable relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The rows PlaceOrder locks before counting the unpaid orders open from a client
/// address: one per bucket of addresses ([`ADDRESS_LOCKS`] of them, made when first
/// needed), so the table stays small and holds no address.
pub mod address_locks {
    use sea_orm::entity::prelude::*;

    /// One bucket of client addresses.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "order_address_locks")]
    pub struct Model {
        /// `0..ADDRESS_LOCKS`: a hash of the address.
        #[sea_orm(primary_key, auto_increment = false)]
        pub bucket: i32,
    }

    /// No navigable relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// How many buckets the client addresses are spread over for locking. Two addresses in one
/// bucket only take turns placing orders (a few milliseconds); they are still counted apart.
pub const ADDRESS_LOCKS: u32 = 1024;

/// An order with its lines.
#[derive(Clone, Debug, PartialEq)]
pub struct Full {
    /// The order row.
    pub order: Model,
    /// Its lines, in order.
    pub lines: Vec<lines::Model>,
    /// Its short lines, if rejected.
    pub rejected: Vec<rejected::Model>,
}

/// What a new order is made of.
#[derive(Debug)]
pub struct NewOrder<'a> {
    /// Its id.
    pub id: &'a str,
    /// The customer.
    pub user_id: &'a str,
    /// The idempotency key, if any.
    pub idempotency_key: Option<&'a str>,
    /// The snapshot of the cart.
    pub lines: &'a [OrderLine],
    /// Their sum.
    pub total: &'a Money,
    /// The snapshot of the address.
    pub address: &'a ShippingAddress,
    /// The customer's note.
    pub note: Option<&'a str>,
    /// Where the call came from, if known.
    pub client: Option<&'a ClientAddress>,
    /// Now.
    pub now: DateTime<Utc>,
}

/// Inserts `order` as PENDING with its lines. A second order with the same user and
/// idempotency key fails on the unique index (`db::is_unique_violation`): that, not a read,
/// decides which of two concurrent duplicates wins.
pub async fn insert<C: ConnectionTrait>(db: &C, order: NewOrder<'_>) -> Result<(), DbErr> {
    let address = order.address;
    ActiveModel {
        id: Set(order.id.to_owned()),
        user_id: Set(order.user_id.to_owned()),
        status: Set(OrderStatus::Pending.as_str().to_owned()),
        idempotency_key: Set(order.idempotency_key.map(ToOwned::to_owned)),
        total_minor: Set(order.total.amount_minor),
        currency: Set(order.total.currency.code().to_owned()),
        address_id: Set(address.address_id.clone()),
        address_label: Set(address.label.clone()),
        address_line1: Set(address.line1.clone()),
        address_line2: Set(address.line2.clone()),
        address_city: Set(address.city.clone()),
        address_postal_code: Set(address.postal_code.clone()),
        address_country: Set(address.country.clone()),
        address_latitude: Set(address.latitude),
        address_longitude: Set(address.longitude),
        note: Set(order.note.map(ToOwned::to_owned)),
        payment_deadline: Set(None),
        payment_id: Set(None),
        carrier: Set(None),
        tracking_number: Set(None),
        cancellation_source: Set(None),
        cancellation_reason: Set(None),
        created_at: Set(order.now),
        updated_at: Set(order.now),
        paid_at: Set(None),
        shipped_at: Set(None),
        delivered_at: Set(None),
        closed_at: Set(None),
        client_address: Set(order.client.map(|client| client.as_str().to_owned())),
        refunded_minor: Set(0),
    }
    .insert(db)
    .await?;
    let rows = order.lines.iter().enumerate().map(|(position, line)| lines::ActiveModel {
        order_id: Set(order.id.to_owned()),
        position: Set(i32::try_from(position).unwrap_or(i32::MAX)),
        product_id: Set(line.product_id.clone()),
        sku: Set(line.sku.clone()),
        name: Set(line.name.clone()),
        unit_price_minor: Set(line.unit_price.amount_minor),
        quantity: Set(i64::from(line.quantity)),
        line_total_minor: Set(line.line_total.amount_minor),
        variant_id: Set(line.variant_id.clone()),
        option_values: Set(lines::encode_option_values(&line.option_values)),
        image_url: Set(line.image_url.clone()),
    });
    lines::Entity::insert_many(rows).exec_without_returning(db).await?;
    Ok(())
}

/// Order `id`; only if it belongs to `owner` when one is given.
pub async fn find<C: ConnectionTrait>(db: &C, id: &str, owner: Option<&str>) -> Result<Option<Model>, DbErr> {
    let mut query = Entity::find_by_id(id.to_owned());
    if let Some(owner) = owner {
        query = query.filter(Column::UserId.eq(owner));
    }
    query.one(db).await
}

/// `user_id`'s order placed with `key`.
pub async fn find_by_key<C: ConnectionTrait>(db: &C, user_id: &str, key: &str) -> Result<Option<Model>, DbErr> {
    Entity::find().filter(Column::UserId.eq(user_id)).filter(Column::IdempotencyKey.eq(key)).one(db).await
}

/// When each of the orders `ids` last changed (`updated_at`, which every update of an
/// order row sets): what the watchers' re-read compares. Unknown ids are left out.
pub async fn versions<C: ConnectionTrait>(db: &C, ids: &[String]) -> Result<Vec<(String, DateTime<Utc>)>, DbErr> {
    Entity::find()
        .select_only()
        .column(Column::Id)
        .column(Column::UpdatedAt)
        .filter(Column::Id.is_in(ids.iter().cloned()))
        .into_tuple()
        .all(db)
        .await
}

/// `orders` with their lines (and short lines).
pub async fn with_lines<C: ConnectionTrait>(db: &C, orders: Vec<Model>) -> Result<Vec<Full>, DbErr> {
    let ids: Vec<String> = orders.iter().map(|o| o.id.clone()).collect();
    let mut lines: HashMap<String, Vec<lines::Model>> = HashMap::new();
    for line in lines::Entity::find()
        .filter(lines::Column::OrderId.is_in(ids.iter().cloned()))
        .order_by_asc(lines::Column::Position)
        .all(db)
        .await?
    {
        lines.entry(line.order_id.clone()).or_default().push(line);
    }
    let mut rejected: HashMap<String, Vec<rejected::Model>> = HashMap::new();
    for line in rejected::Entity::find()
        .filter(rejected::Column::OrderId.is_in(ids))
        .order_by_asc(rejected::Column::Position)
        .all(db)
        .await?
    {
        rejected.entry(line.order_id.clone()).or_default().push(line);
    }
    Ok(orders
        .into_iter()
        .map(|order| Full {
            lines: lines.remove(&order.id).unwrap_or_default(),
            rejected: rejected.remove(&order.id).unwrap_or_default(),
            order,
        })
        .collect())
}

/// `order` with its lines (and short lines).
pub async fn full<C: ConnectionTrait>(db: &C, order: Model) -> Result<Option<Full>, DbErr> {
    Ok(with_lines(db, vec![order]).await?.pop())
}

/// Moves order `id` from `from` by `change`, setting what the change carries; whether the
/// order was still `from` (only one of two racing moves wins).
pub async fn apply<C: ConnectionTrait>(
    db: &C,
    id: &str,
    from: OrderStatus,
    change: &Change,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let mut update = Entity::update_many()
        .col_expr(Column::Status, Expr::value(change.target().as_str()))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .filter(Column::Status.eq(from.as_str()));
    update = match change {
        Change::StockReserved { payment_deadline } => {
            update.col_expr(Column::PaymentDeadline, Expr::value(*payment_deadline))
        }
        // The payment's id is kept once it pays the order.
        Change::PaymentOpened { .. } => update,
        Change::Rejected { .. } => update.col_expr(Column::ClosedAt, Expr::value(now)),
        Change::Paid { payment_id } => update
            .col_expr(Column::PaymentId, Expr::value(payment_id.clone()))
            .col_expr(Column::PaidAt, Expr::value(now)),
        Change::Cancelled { source, reason } => update
            .col_expr(Column::CancellationSource, Expr::value(source.as_str()))
            .col_expr(Column::CancellationReason, Expr::value(reason.clone()))
            .col_expr(Column::ClosedAt, Expr::value(now)),
        Change::Shipped { carrier, tracking_number } => update
            .col_expr(Column::Carrier, Expr::value(carrier.clone()))
            .col_expr(Column::TrackingNumber, Expr::value(tracking_number.clone()))
            .col_expr(Column::ShippedAt, Expr::value(now)),
        Change::Delivered => update.col_expr(Column::DeliveredAt, Expr::value(now)),
    };
    if !change.target().is_open_unpaid() {
        update = update.col_expr(Column::ClientAddress, Expr::value(Option::<String>::None));
    }
    Ok(update.exec(db).await?.rows_affected == 1)
}

/// The statuses [`OrderStatus::is_open_unpaid`] counts.
fn open_unpaid() -> impl Iterator<Item = &'static str> {
    OrderStatus::ALL.into_iter().filter(|status| status.is_open_unpaid()).map(OrderStatus::as_str)
}

/// How many of `user_id`'s orders are open and unpaid.
pub async fn count_open_unpaid<C: ConnectionTrait>(db: &C, user_id: &str) -> Result<u64, DbErr> {
    Entity::find().filter(Column::UserId.eq(user_id)).filter(Column::Status.is_in(open_unpaid())).count(db).await
}

/// How many open unpaid orders were placed from `client`, by any account.
pub async fn count_open_unpaid_from<C: ConnectionTrait>(db: &C, client: &ClientAddress) -> Result<u64, DbErr> {
    Entity::find()
        .filter(Column::ClientAddress.eq(client.as_str()))
        .filter(Column::Status.is_in(open_unpaid()))
        .count(db)
        .await
}

/// Takes, for the rest of the transaction `db`, the lock every PlaceOrder from `client`
/// takes before counting that address's unpaid orders: of two racing calls from one
/// address (through any accounts), the second waits, then counts the first's order.
pub async fn lock_address<C: ConnectionTrait>(db: &C, client: &ClientAddress) -> Result<(), DbErr> {
    use address_locks::{ActiveModel as Lock, Column as L, Entity as Locks};
    let bucket = address_bucket(client);
    if db::lock_row::<Locks, _>(db, L::Bucket, bucket).await? {
        return Ok(());
    }
    // The bucket's first use: of racing inserts one makes the row, the others wait for it.
    db::insert_once(db, Lock { bucket: Set(bucket) }, [L::Bucket]).await?;
    db::lock_row::<Locks, _>(db, L::Bucket, bucket).await?;
    Ok(())
}

/// `client`'s bucket of [`ADDRESS_LOCKS`]: FNV-1a of its key, the same in every replica and
/// every build (unlike the standard library's hasher, which may change between releases).
fn address_bucket(client: &ClientAddress) -> i32 {
    let hash = client
        .as_str()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3));
    // Below ADDRESS_LOCKS, which fits.
    i32::try_from(hash % u64::from(ADDRESS_LOCKS)).unwrap_or(0)
}

/// Stores why order `id` was rejected.
pub async fn add_rejected_lines<C: ConnectionTrait>(db: &C, id: &str, short_lines: &[ShortLine]) -> Result<(), DbErr> {
    if short_lines.is_empty() {
        return Ok(());
    }
    let rows = short_lines.iter().enumerate().map(|(position, line)| rejected::ActiveModel {
        order_id: Set(id.to_owned()),
        position: Set(i32::try_from(position).unwrap_or(i32::MAX)),
        product_id: Set(line.product_id.clone()),
        requested: Set(line.requested),
        available: Set(line.available),
        variant_id: Set(line.variant_id.clone()),
    });
    rejected::Entity::insert_many(rows).exec_without_returning(db).await?;
    Ok(())
}

/// Which orders a list shows.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Only this customer's.
    pub user_id: Option<String>,
    /// Only in this status.
    pub status: Option<OrderStatus>,
}

/// Up to `limit` orders matching `filter`, newest first, older than order `before` if
/// given.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    filter: &Filter,
    before: Option<&str>,
    limit: u64,
) -> Result<Vec<Model>, DbErr> {
    let mut query = Entity::find();
    if let Some(user_id) = &filter.user_id {
        query = query.filter(Column::UserId.eq(user_id.as_str()));
    }
    if let Some(status) = filter.status {
        query = query.filter(Column::Status.eq(status.as_str()));
    }
    if let Some(before) = before {
        query = query.filter(Column::Id.lt(before));
    }
    query.order_by_desc(Column::Id).limit(limit).all(db).await
}

/// Records that `refunded_total_minor` has been given back from order `id` so far, unless
/// it already says more: refunds may be told twice, or out of order, and the total only
/// grows. Whether it changed.
pub async fn record_refund<C: ConnectionTrait>(
    db: &C,
    id: &str,
    refunded_total_minor: i64,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let update = Entity::update_many()
        .col_expr(Column::RefundedMinor, Expr::value(refunded_total_minor))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .filter(Column::RefundedMinor.lt(refunded_total_minor));
    Ok(update.exec(db).await?.rows_affected == 1)
}

/// Ids of up to `limit` unpaid orders the deadline sweep cancels at `now`, the most overdue
/// first: RESERVED ones whose deadline has passed, AWAITING_PAYMENT ones whose deadline
/// passed more than `grace` ago (`lifecycle::expires_at`).
pub async fn overdue<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
    grace: TimeDelta,
    limit: u64,
) -> Result<Vec<String>, DbErr> {
    let reserved =
        Condition::all().add(Column::Status.eq(OrderStatus::Reserved.as_str())).add(Column::PaymentDeadline.lt(now));
    let awaiting = Condition::all()
        .add(Column::Status.eq(OrderStatus::AwaitingPayment.as_str()))
        .add(Column::PaymentDeadline.lt(now.checked_sub_signed(grace).unwrap_or(DateTime::<Utc>::MIN_UTC)));
    Ok(Entity::find()
        .filter(Condition::any().add(reserved).add(awaiting))
        .order_by_asc(Column::PaymentDeadline)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(|order| order.id)
        .collect())
}
