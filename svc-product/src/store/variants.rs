//! The `variants` table (the things a customer buys) and `variant_options` (one row per
//! option value of a variant: what the option filters and facet counts query).

use chrono::{DateTime, Utc};
use mart_platform::money::Money;
use sea_orm::{IntoActiveModel, QueryOrder, Set, entity::prelude::*};

use crate::domain::{OptionValue, VariantStatus, fold, variant::combination_key};

/// One variant.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "variants")]
pub struct Model {
    /// UUIDv7; a default variant's id is its product's id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Its product.
    pub product_id: String,
    /// Its place among the product's variants (creation order).
    pub position: i32,
    /// Unique across the catalog: the index decides races.
    #[sea_orm(unique)]
    pub sku: String,
    /// Its option values as JSON `[["Size","M"],…]`, in the product's option order.
    pub option_values: String,
    /// The folded combination (see [`combination_key`]); unique within the product.
    pub option_key: String,
    /// Its own price in minor units of the shop currency; `None`: the product's.
    pub price_minor: Option<i64>,
    /// `active` or `archived`.
    pub status: String,
    /// The product image it shows.
    pub image_id: Option<String>,
    /// Units available as svc-inventory last announced (see `stock_version`).
    pub available: i64,
    /// The version of svc-inventory's stock row that `available` is from: announcements
    /// with a higher one replace it. `-1`: never heard (a variant migrated from before
    /// variants existed, until svc-inventory is asked).
    pub stock_version: i64,
    /// When it was created.
    pub created_at: DateTimeUtc,
    /// When it last changed.
    pub updated_at: DateTimeUtc,
}

/// No navigable relations; the foreign key is declared in the migration.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// Its option values; a row that does not parse is a corrupt row.
    pub fn values(&self) -> Result<Vec<OptionValue>, serde_json::Error> {
        serde_json::from_str(&self.option_values)
    }

    /// What it costs, given its product's price.
    pub fn unit_price(&self, product_price: Money) -> Money {
        match self.price_minor {
            Some(amount) => Money { amount_minor: amount, ..product_price },
            None => product_price,
        }
    }

    /// Whether it can be bought (its product's status aside).
    pub fn is_active(&self) -> bool {
        self.status == VariantStatus::Active.as_str()
    }
}

/// A new variant's row.
pub struct NewRow<'a> {
    /// Its id.
    pub id: String,
    /// Its product.
    pub product_id: &'a str,
    /// Its place.
    pub position: i32,
    /// Its SKU.
    pub sku: &'a str,
    /// Its option values.
    pub option_values: &'a [OptionValue],
    /// Its own price.
    pub price: Option<Money>,
    /// Its image.
    pub image_id: Option<String>,
    /// Units on hand it starts with (it is announced with them, so that is what is available).
    pub initial_stock: i32,
}

/// Inserts a new active variant and its option rows. Fails with a unique violation when its
/// SKU or combination is taken.
pub async fn insert<C: ConnectionTrait>(db: &C, row: NewRow<'_>, now: DateTime<Utc>) -> Result<Model, DbErr> {
    let model = ActiveModel {
        id: Set(row.id.clone()),
        product_id: Set(row.product_id.to_owned()),
        position: Set(row.position),
        sku: Set(row.sku.to_owned()),
        option_values: Set(serde_json::to_string(row.option_values).map_err(|e| DbErr::Custom(e.to_string()))?),
        option_key: Set(combination_key(row.option_values)),
        price_minor: Set(row.price.map(|p| p.amount_minor)),
        status: Set(VariantStatus::Active.as_str().to_owned()),
        image_id: Set(row.image_id),
        available: Set(row.initial_stock.into()),
        stock_version: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;
    let options: Vec<options::ActiveModel> = row
        .option_values
        .iter()
        .enumerate()
        .map(|(position, (name, value))| options::ActiveModel {
            variant_id: Set(row.id.clone()),
            product_id: Set(row.product_id.to_owned()),
            position: Set(i32::try_from(position).unwrap_or(i32::MAX)),
            name: Set(name.clone()),
            value: Set(value.clone()),
            name_key: Set(fold(name)),
            value_key: Set(fold(value)),
        })
        .collect();
    if !options.is_empty() {
        options::Entity::insert_many(options).exec_without_returning(db).await?;
    }
    Ok(model)
}

/// Inserts the default variants (`(product_id, sku)`, no stock) of products inserted in
/// bulk ([`super::products::insert_many`]), in few statements. No events.
pub async fn insert_defaults<C: ConnectionTrait>(
    db: &C,
    products: Vec<(String, String)>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let mut rows = products
        .into_iter()
        .map(|(product_id, sku)| ActiveModel {
            id: Set(product_id.clone()),
            product_id: Set(product_id),
            position: Set(0),
            sku: Set(sku),
            option_values: Set("[]".to_owned()),
            option_key: Set(String::new()),
            price_minor: Set(None),
            status: Set(VariantStatus::Active.as_str().to_owned()),
            image_id: Set(None),
            available: Set(0),
            stock_version: Set(0),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(50).collect();
        Entity::insert_many(chunk).exec_without_returning(db).await?;
    }
    Ok(())
}

/// The variants of `product_id` in order, archived ones included.
pub async fn of_product<C: ConnectionTrait>(db: &C, product_id: &str) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::ProductId.eq(product_id))
        .order_by_asc(Column::Position)
        .order_by_asc(Column::Id)
        .all(db)
        .await
}

/// The variants of every product in `product_ids`, in order per product.
pub async fn of_products<C: ConnectionTrait>(db: &C, product_ids: &[String]) -> Result<Vec<Model>, DbErr> {
    if product_ids.is_empty() {
        return Ok(Vec::new());
    }
    Entity::find()
        .filter(Column::ProductId.is_in(product_ids.iter().cloned()))
        .order_by_asc(Column::ProductId)
        .order_by_asc(Column::Position)
        .order_by_asc(Column::Id)
        .all(db)
        .await
}

/// The variants among `ids`.
pub async fn find_many<C: ConnectionTrait>(db: &C, ids: &[String]) -> Result<Vec<Model>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Entity::find().filter(Column::Id.is_in(ids.iter().cloned())).all(db).await
}

/// Which of `skus` are variants' already.
pub async fn with_skus<C: ConnectionTrait>(db: &C, skus: &[String]) -> Result<Vec<String>, DbErr> {
    if skus.is_empty() {
        return Ok(Vec::new());
    }
    let found = Entity::find().filter(Column::Sku.is_in(skus.iter().cloned())).all(db).await?;
    Ok(found.into_iter().map(|v| v.sku).collect())
}

/// Writes `variant` with `change` applied at `now`.
pub async fn update<C: ConnectionTrait>(
    db: &C,
    variant: Model,
    now: DateTime<Utc>,
    change: impl FnOnce(&mut ActiveModel),
) -> Result<Model, DbErr> {
    let mut row = variant.into_active_model();
    change(&mut row);
    row.updated_at = Set(now);
    row.update(db).await
}

/// Archives every active variant of `product_id`.
pub async fn archive_all<C: ConnectionTrait>(db: &C, product_id: &str, now: DateTime<Utc>) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::Status, VariantStatus::Archived.as_str().into())
        .col_expr(Column::UpdatedAt, now.into())
        .filter(Column::ProductId.eq(product_id))
        .filter(Column::Status.eq(VariantStatus::Active.as_str()))
        .exec(db)
        .await?;
    Ok(())
}

/// Clears `image_id` from the variants of `product_id` showing it.
pub async fn forget_image<C: ConnectionTrait>(db: &C, product_id: &str, image_id: &str) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::ImageId, Option::<String>::None.into())
        .filter(Column::ProductId.eq(product_id))
        .filter(Column::ImageId.eq(image_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Records that the variant `id` has `available` units as of stock version `version`,
/// unless a newer version was recorded already. Returns its product's id when it changed.
pub async fn record_stock<C: ConnectionTrait>(
    db: &C,
    id: &str,
    available: i64,
    version: i64,
) -> Result<Option<String>, DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::Available, available.into())
        .col_expr(Column::StockVersion, version.into())
        .filter(Column::Id.eq(id))
        .filter(Column::StockVersion.lt(version))
        .exec(db)
        .await?;
    if result.rows_affected == 0 {
        return Ok(None);
    }
    Ok(Entity::find_by_id(id.to_owned()).one(db).await?.map(|v| v.product_id))
}

/// The variants svc-inventory was never asked about (migrated ones), at most `limit`.
pub async fn never_heard<C: ConnectionTrait>(db: &C, limit: u64) -> Result<Vec<Model>, DbErr> {
    use sea_orm::QuerySelect;
    Entity::find().filter(Column::StockVersion.lt(0)).limit(limit).all(db).await
}

/// One option value of one variant.
pub mod options {
    use sea_orm::entity::prelude::*;

    /// A row of `variant_options`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "variant_options")]
    pub struct Model {
        /// The variant.
        #[sea_orm(primary_key, auto_increment = false)]
        pub variant_id: String,
        /// The option's name, folded.
        #[sea_orm(primary_key, auto_increment = false)]
        pub name_key: String,
        /// The variant's product.
        pub product_id: String,
        /// The option's place among the product's options.
        pub position: i32,
        /// The option's name as the shop wrote it.
        pub name: String,
        /// The value as the shop wrote it.
        pub value: String,
        /// The value, folded.
        pub value_key: String,
    }

    /// No navigable relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
