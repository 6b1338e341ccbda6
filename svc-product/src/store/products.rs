//! The `products` table, and the ListProducts query over it.

use chrono::{DateTime, Utc};
use mart_platform::money::{Money, MoneyError};
use sea_orm::{
    Condition, IntoActiveModel, QueryOrder, QuerySelect, Set,
    entity::prelude::*,
    sea_query::{LikeExpr, Order},
};

use crate::domain::{Cursor, NewProduct, ProductChanges, ProductField, ProductQuery, SortKey, SortValue, Status, fold};

/// One product.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "products")]
pub struct Model {
    /// UUIDv7: ids sort by creation time, which is the CREATED order of ListProducts.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Unique: the index decides races between two admins creating one SKU.
    #[sea_orm(unique)]
    pub sku: String,
    /// Display name.
    pub name: String,
    /// The name lower-cased: the NAME sort key (bytewise on both backends).
    pub name_key: String,
    /// May be empty.
    pub description: String,
    /// May be empty.
    pub brand: String,
    /// The brand lower-cased: what the brand filter compares.
    pub brand_key: String,
    /// Name, brand and description lower-cased, one per line: what `q` searches. Folded
    /// here rather than with SQL `LOWER`, which on SQLite folds only ASCII.
    pub search_text: String,
    /// The price in minor units, `>= 0`.
    pub price_minor: i64,
    /// The price's ISO 4217 code.
    pub currency: String,
    /// Its category; the foreign key keeps a category with products from being deleted.
    pub category_id: String,
    /// When it expires, if it does.
    pub expires_at: Option<DateTimeUtc>,
    /// `active` or `archived`.
    pub status: String,
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
    /// The price as stored; a currency code this version does not know is a corrupt row.
    pub fn price(&self) -> Result<Money, MoneyError> {
        Money::from_stored(self.price_minor, &self.currency)
    }
}

/// What `q` searches, from the three searchable fields.
pub fn search_text(name: &str, brand: &str, description: &str) -> String {
    // Query words never contain a line break, so no word can match across two fields.
    format!("{}\n{}\n{}", fold(name), fold(brand), fold(description))
}

/// The row of a new active product `id`, created at `now`.
pub fn new_row(id: String, product: &NewProduct, now: DateTime<Utc>) -> ActiveModel {
    ActiveModel {
        id: Set(id),
        sku: Set(product.sku.as_str().to_owned()),
        name: Set(product.name.as_str().to_owned()),
        name_key: Set(fold(product.name.as_str())),
        description: Set(product.description.clone()),
        brand: Set(product.brand.as_str().to_owned()),
        brand_key: Set(product.brand.key()),
        search_text: Set(search_text(product.name.as_str(), product.brand.as_str(), &product.description)),
        price_minor: Set(product.price.amount_minor),
        currency: Set(product.price.currency.code().to_owned()),
        category_id: Set(product.category_id.clone()),
        expires_at: Set(product.expires_at),
        status: Set(Status::Active.as_str().to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
    }
}

/// Inserts the new active product `id`, created at `now`. Fails with a unique violation
/// when its SKU is taken, and a foreign key violation when its category is gone.
pub async fn insert<C: ConnectionTrait>(
    db: &C,
    id: String,
    product: &NewProduct,
    now: DateTime<Utc>,
) -> Result<Model, DbErr> {
    new_row(id, product, now).insert(db).await
}

/// `product` with `changes` applied, and the fields whose value actually changed; written
/// only when there is one, else `product` as it is with no fields. Fails like [`insert`].
pub async fn update<C: ConnectionTrait>(
    db: &C,
    product: &Model,
    changes: ProductChanges,
) -> Result<(Model, Vec<ProductField>), DbErr> {
    let (changed, fields) = apply(product, changes);
    if fields.is_empty() {
        return Ok((product.clone(), fields));
    }
    Ok((changed.update(db).await?, fields))
}

/// `product` archived at `now`.
pub async fn archive<C: ConnectionTrait>(db: &C, product: Model, now: DateTime<Utc>) -> Result<Model, DbErr> {
    let mut changed = product.into_active_model();
    changed.status = Set(Status::Archived.as_str().to_owned());
    changed.updated_at = Set(now);
    changed.update(db).await
}

/// The row with `changes` applied, and the fields whose value actually changed.
fn apply(product: &Model, changes: ProductChanges) -> (ActiveModel, Vec<ProductField>) {
    let mut changed = product.clone().into_active_model();
    let mut fields = Vec::new();
    let mut text_changed = false;
    if let Some(sku) = changes.sku
        && sku.as_str() != product.sku
    {
        changed.sku = Set(sku.as_str().to_owned());
        fields.push(ProductField::Sku);
    }
    let mut name = product.name.clone();
    if let Some(new) = changes.name
        && new.as_str() != product.name
    {
        name = new.as_str().to_owned();
        changed.name = Set(name.clone());
        changed.name_key = Set(fold(&name));
        fields.push(ProductField::Name);
        text_changed = true;
    }
    let mut description = product.description.clone();
    if let Some(new) = changes.description
        && new != product.description
    {
        description = new;
        changed.description = Set(description.clone());
        fields.push(ProductField::Description);
        text_changed = true;
    }
    let mut brand = product.brand.clone();
    if let Some(new) = changes.brand
        && new.as_str() != product.brand
    {
        brand = new.as_str().to_owned();
        changed.brand = Set(brand.clone());
        changed.brand_key = Set(new.key());
        fields.push(ProductField::Brand);
        text_changed = true;
    }
    if text_changed {
        changed.search_text = Set(search_text(&name, &brand, &description));
    }
    if let Some(price) = changes.price
        && (price.amount_minor, price.currency.code()) != (product.price_minor, product.currency.as_str())
    {
        changed.price_minor = Set(price.amount_minor);
        changed.currency = Set(price.currency.code().to_owned());
        fields.push(ProductField::Price);
    }
    if let Some(category_id) = changes.category_id
        && category_id != product.category_id
    {
        changed.category_id = Set(category_id);
        fields.push(ProductField::CategoryId);
    }
    if let Some(expires_at) = changes.expires_at
        && expires_at != product.expires_at
    {
        changed.expires_at = Set(expires_at);
        fields.push(ProductField::ExpiresAt);
    }
    if !fields.is_empty() {
        changed.updated_at = Set(Utc::now());
    }
    (changed, fields)
}

/// Inserts many rows in few statements (seeding, imports). No events: callers that need
/// them append them in the same transaction.
pub async fn insert_many<C: ConnectionTrait>(db: &C, rows: Vec<ActiveModel>) -> Result<(), DbErr> {
    // 15 columns a row; 50 rows stay far below every backend's bound-parameter limit.
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(50).collect();
        Entity::insert_many(chunk).exec_without_returning(db).await?;
    }
    Ok(())
}

/// The product `id`, archived or not.
pub async fn find<C: ConnectionTrait>(db: &C, id: &str) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(id.to_owned()).one(db).await
}

/// The product `id`, its row locked for the rest of the transaction `txn`, so what the
/// caller reads is what it overwrites.
pub async fn find_for_update<C: ConnectionTrait>(txn: &C, id: &str) -> Result<Option<Model>, DbErr> {
    if !mart_platform::db::lock_row::<Entity, _>(txn, Column::Id, id).await? {
        return Ok(None);
    }
    find(txn, id).await
}

/// The products among `ids`, archived ones included, in no particular order.
pub async fn find_many<C: ConnectionTrait>(db: &C, ids: &[String]) -> Result<Vec<Model>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Entity::find().filter(Column::Id.is_in(ids.iter().cloned())).all(db).await
}

/// How many products, archived ones included, are in category `category_id`.
pub async fn count_in_category<C: ConnectionTrait>(db: &C, category_id: &str) -> Result<u64, DbErr> {
    Entity::find().filter(Column::CategoryId.eq(category_id)).count(db).await
}

/// Up to `limit` active products matching `query`, in its order, strictly after `after`.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    query: &ProductQuery,
    after: Option<&Cursor>,
    limit: u64,
) -> Result<Vec<Model>, DbErr> {
    let filter = &query.filter;
    let mut select = Entity::find().filter(Column::Status.eq(Status::Active.as_str()));
    if let Some(category_id) = &filter.category_id {
        select = select.filter(Column::CategoryId.eq(category_id.as_str()));
    }
    for word in &filter.words {
        select = select.filter(Column::SearchText.like(LikeExpr::new(super::contains_pattern(word)).escape('\\')));
    }
    if let Some(brand) = &filter.brand_key {
        select = select.filter(Column::BrandKey.eq(brand.as_str()));
    }
    if let Some(min) = filter.min_price {
        select = select.filter(Column::PriceMinor.gte(min));
    }
    if let Some(max) = filter.max_price {
        select = select.filter(Column::PriceMinor.lte(max));
    }

    let descending = query.order.descending;
    let direction = if descending { Order::Desc } else { Order::Asc };
    // "After" in the walking direction: greater when ascending, smaller when descending.
    let beyond = |column: Column, value: sea_orm::Value| if descending { column.lt(value) } else { column.gt(value) };
    let key_column = match query.order.key {
        SortKey::Created => None,
        SortKey::Price => Some(Column::PriceMinor),
        SortKey::Name => Some(Column::NameKey),
    };
    if let Some(cursor) = after {
        let key_value: Option<sea_orm::Value> = match &cursor.after {
            SortValue::Created => None,
            SortValue::Price(price) => Some((*price).into()),
            SortValue::Name(name) => Some(name.clone().into()),
        };
        let id = sea_orm::Value::from(cursor.id.clone());
        select = match (key_column, key_value) {
            (Some(column), Some(value)) => select.filter(
                Condition::any()
                    .add(beyond(column, value.clone()))
                    .add(Condition::all().add(column.eq(value)).add(beyond(Column::Id, id))),
            ),
            // Created order, or a cursor of another order (refused before it gets here).
            _ => select.filter(beyond(Column::Id, id)),
        };
    }
    if let Some(column) = key_column {
        select = select.order_by(column, direction.clone());
    }
    select.order_by(Column::Id, direction).limit(limit).all(db).await
}
