//! Cart changes. Each one first touches the cart (creates its row, bumps its version) in
//! the changing transaction, so a PlaceOrder in flight either sees the change or fails on
//! the version it swaps. Carts announce nothing: there are no events to relay.

use mart_platform::{db, error::FieldViolation};

use super::Commands;
use crate::{
    domain::{Choice, Quantity},
    error::Error,
    store::carts,
};

impl Commands {
    /// Adds `quantity` units of the variant `choice` names to `user_id`'s cart, as a new
    /// line or onto that variant's line. Only what the catalog sells goes in, and only one
    /// thing: a product with several variants is refused until the client names one. Its
    /// price is looked up when the cart is shown, never taken.
    pub async fn add_to_cart(&self, user_id: &str, choice: &Choice, quantity: Quantity) -> Result<(), Error> {
        let catalog = self.catalog.variants(&[choice.id().to_owned()]).await?;
        let variant = choice.resolve(&catalog)?;
        let txn = db::begin_write(&self.db).await?;
        carts::touch(&txn, user_id).await?;
        let line = (variant.variant_id.as_str(), variant.product_id.as_str());
        if !carts::add(&txn, user_id, line, quantity.get(), self.max_quantity).await? {
            return Err(FieldViolation::new(
                "quantity",
                format!("the line would hold more than {} units", self.max_quantity),
            )
            .into());
        }
        txn.commit().await?;
        Ok(())
    }

    /// Sets the quantity of the line of variant `variant_id` in `user_id`'s cart; NOT_FOUND
    /// if the cart has no such line.
    pub async fn set_in_cart(&self, user_id: &str, variant_id: &str, quantity: Quantity) -> Result<(), Error> {
        let txn = db::begin_write(&self.db).await?;
        carts::touch(&txn, user_id).await?;
        if !carts::set(&txn, user_id, variant_id, quantity.get()).await? {
            return Err(Error::NotFound("cart item"));
        }
        txn.commit().await?;
        Ok(())
    }

    /// Removes the line of variant `variant_id` from `user_id`'s cart; NOT_FOUND if there
    /// was none.
    pub async fn remove_from_cart(&self, user_id: &str, variant_id: &str) -> Result<(), Error> {
        let txn = db::begin_write(&self.db).await?;
        carts::touch(&txn, user_id).await?;
        if !carts::remove(&txn, user_id, variant_id).await? {
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
