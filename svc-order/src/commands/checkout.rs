//! PlaceOrder: the cart becomes an order (PENDING) with a snapshot of its lines (per
//! variant) and of the shipping address, the cart is emptied, and OrderPlaced goes out,
//! in one transaction; idempotent per client key, and refused while the account (or its
//! client address) has as many unpaid orders open as the caps allow.

use chrono::Utc;
use mart_platform::{
    db::{self, is_unique_violation},
    error::FieldViolation,
};
use sea_orm::DatabaseTransaction;

use super::Commands;
use crate::{
    domain::{
        Actor, ClientAddress, IdempotencyKey, OrderStatus, PlaceOrder,
        checkout::{self, SnapshotError},
    },
    error::Error,
    events,
    store::{
        carts,
        history::{self, Entry},
        orders::{self, NewOrder},
    },
};

impl Commands {
    /// Turns `user_id`'s cart into the order `request` asks for, or returns the order an
    /// earlier call with the same key placed.
    ///
    /// Two guards make this safe under concurrency without locks held across the calls to
    /// the catalog and the address book: the unique index on (user, key) lets exactly one
    /// of several calls with one key insert an order (the others find it), and the cart's
    /// version, compared and swapped in the inserting transaction, makes sure the order is
    /// made of exactly the cart that was read — a cart changed meanwhile, or already taken
    /// by another order, fails the call instead of ordering twice or losing a line.
    ///
    /// The caps on open unpaid orders are counted in the inserting transaction, under
    /// locks every PlaceOrder of the account (its cart row) and from the address (its
    /// bucket row) takes first ([`Commands::within_caps`]): of concurrent calls, each counts
    /// the orders of those that committed before it, so together they never pass a cap.
    pub async fn place_order(&self, user_id: &str, request: &PlaceOrder) -> Result<orders::Full, Error> {
        let address_id = request.address_id.as_str();
        let note = request.note.as_deref();
        let key = request.key.as_ref();
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
        let ids: Vec<String> = cart.items.iter().map(|item| item.variant_id.clone()).collect();
        let catalog = self.catalog.variants(&ids).await?;
        let (lines, total) = checkout::snapshot(&cart.items, &catalog).map_err(|error| match error {
            SnapshotError::NotOrderable(violations) => Error::Invalid(violations),
            SnapshotError::Money(error) => Error::Pricing(error),
            SnapshotError::Empty => FieldViolation::new("cart", "is empty").into(),
        })?;
        let address = self.address_book.address(user_id, address_id).await?;

        let id = uuid::Uuid::now_v7().to_string();
        let txn = db::begin_write(&self.db).await?;
        if let Some(order) = self.within_caps(&txn, user_id, request).await? {
            // A concurrent call with the same key committed while this one waited.
            txn.rollback().await?;
            return self.replay(order, &cart, address_id).await;
        }
        let new = NewOrder {
            id: &id,
            user_id,
            idempotency_key: key.map(IdempotencyKey::as_str),
            lines: &lines,
            total: &total,
            address: &address,
            note,
            client: request.client.as_ref(),
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
        let actor = Actor::Customer(user_id.to_owned());
        let entry = Entry {
            order_id: &id,
            from: None,
            to: OrderStatus::Pending,
            actor: &actor,
            note: "order placed",
            event_id: None,
        };
        history::record(&txn, entry).await?;
        events::placed(&txn, &id, user_id, &lines, &total).await?;
        txn.commit().await?;
        self.relay.wake();
        tracing::info!(order.id = %id, lines = lines.len(), total.minor = total.amount_minor, total.currency = %total.currency, "order placed");
        let order = orders::find(&self.db, &id, None).await?.ok_or(Error::NotFound("order"))?;
        orders::full(&self.db, order).await?.ok_or(Error::NotFound("order"))
    }

    /// Checks, in PlaceOrder's transaction `txn`, that `user_id` may open one more unpaid
    /// order from where `request` came, else [`Error::TooManyUnpaid`] naming the cap. First
    /// it takes the locks that make the count hold until commit: the address's bucket,
    /// then the cart row (always in that order, so no two calls can wait on each other in a
    /// cycle).
    /// SQLite has one writer at a time already (`begin_write`); PostgreSQL needs the locks.
    ///
    /// An order placed meanwhile by a concurrent call with the same key is returned
    /// instead, for the caller to replay: that call is a retry, not one order more.
    async fn within_caps(
        &self,
        txn: &DatabaseTransaction,
        user_id: &str,
        request: &PlaceOrder,
    ) -> Result<Option<orders::Model>, Error> {
        let client = request.client.as_ref().filter(|_| self.caps.per_address > 0);
        if let Some(client) = client {
            orders::lock_address(txn, client).await?;
        }
        carts::lock(txn, user_id).await?;
        if let Some(key) = &request.key
            && let Some(order) = orders::find_by_key(txn, user_id, key.as_str()).await?
        {
            return Ok(Some(order));
        }
        let account = if self.caps.per_account > 0 { orders::count_open_unpaid(txn, user_id).await? } else { 0 };
        let address = match client {
            Some(client) => Some(orders::count_open_unpaid_from(txn, client).await?),
            None => None,
        };
        self.caps.admit(account, address).map_err(|cap| {
            tracing::info!(user_id, client = request.client.as_ref().map(ClientAddress::as_str), %cap, "order refused");
            Error::TooManyUnpaid(cap)
        })?;
        Ok(None)
    }

    /// The order a repeated PlaceOrder gets: the one its key placed, if the call asks for
    /// the same thing (same address; the same cart, or the emptied cart that order left).
    async fn replay(&self, order: orders::Model, cart: &carts::Cart, address_id: &str) -> Result<orders::Full, Error> {
        let order = orders::full(&self.db, order).await?.ok_or(Error::NotFound("order"))?;
        let ordered: Vec<(String, u32)> = order
            .lines
            .iter()
            .map(|line| (line.variant_id.clone(), u32::try_from(line.quantity).unwrap_or(u32::MAX)))
            .collect();
        let same_cart = cart.items.is_empty() || checkout::same_lines(&ordered, &cart.items);
        if order.order.address_id != address_id || !same_cart {
            return Err(Error::KeyReused);
        }
        Ok(order)
    }
}
