//! Cart changes. Each one first touches the cart (creates its row, bumps its version) in
//! the changing transaction, so a PlaceOrder in flight either sees the change or fails on
//! the version it swaps. Carts announce nothing: there are no events to relay.

use mart_platform::{db, error::FieldViolation};

use super::Commands;
use crate::{domain::Quantity, error::Error, store::carts};

impl Commands {
    /// Adds `quantity` units of `product_id` to `user_id`'s cart, as a new line or onto the
    /// existing one. Only what the catalog sells goes in; its price is looked up when the
    /// cart is shown, never taken.
    pub async fn add_to_cart(&self, user_id: &str, product_id: &str, quantity: Quantity) -> Result<(), Error> {
        let product_id = product_id.to_owned();
        let catalog = self.catalog.products(std::slice::from_ref(&product_id)).await?;
        match catalog.get(&product_id) {
            None => return Err(FieldViolation::new("product_id", "no such product").into()),
            Some(product) if !product.orderable => {
                return Err(FieldViolation::new("product_id", "archived: no longer sold").into());
            }
            Some(_) => {}
        }
        let txn = db::begin_write(&self.db).await?;
        carts::touch(&txn, user_id).await?;
        if !carts::add(&txn, user_id, &product_id, quantity.get(), self.max_quantity).await? {
            return Err(FieldViolation::new(
                "quantity",
                format!("the line would hold more than {} units", self.max_quantity),
            )
            .into());
        }
        txn.commit().await?;
        Ok(())
    }

    /// Sets the quantity of `product_id`'s line in `user_id`'s cart; NOT_FOUND if the cart
    /// has no such line.
    pub async fn set_in_cart(&self, user_id: &str, product_id: &str, quantity: Quantity) -> Result<(), Error> {
        let txn = db::begin_write(&self.db).await?;
        carts::touch(&txn, user_id).await?;
        if !carts::set(&txn, user_id, product_id, quantity.get()).await? {
            return Err(Error::NotFound("cart item"));
        }
        txn.commit().await?;
        Ok(())
    }

    /// Removes `product_id`'s line from `user_id`'s cart; NOT_FOUND if there was none.
    pub async fn remove_from_cart(&self, user_id: &str, product_id: &str) -> Result<(), Error> {
        let txn = db::begin_write(&self.db).await?;
        carts::touch(&txn, user_id).await?;
        if !carts::remove(&txn, user_id, product_id).await? {
            return Err(Error::NotFound("cart item"));
        }
        txn.commit().await?;
        Ok(())
    }

    /// Empties `user_id`'s cart.
    pub async fn clear_cart(&self, user_id: &str) -> Result<(), Error> {
        let txn = db::begin_write(&self.db).await?;
        carts::touch(&txn, user_id).await?;
        carts::clear(&txn, user_id).await?;
        txn.commit().await?;
        Ok(())
    }
}
