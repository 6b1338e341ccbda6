//! The `products` table, and the ListProducts query over it.

use chrono::{DateTime, Utc};
use mart_platform::money::{Money, MoneyError};
use sea_orm::{
    Condition, IntoActiveModel, QueryOrder, QuerySelect, Set,
    entity::prelude::*,
    sea_query::{Expr, LikeExpr, Order, Query},
};

use crate::domain::{
    Cursor, NewProduct, ProductChanges, ProductField, ProductFilter, ProductOption, ProductQuery, SortKey, SortValue,
    Status, VariantStatus, fold,
};

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
    /// Its options as JSON `[{"name":"Size","values":["S","M"]},…]`; `[]` for a product
    /// with one default variant.
    pub options: String,
    /// The lowest price of its active variants, in minor units: what the price filter and
    /// sort use ("from 10.00").
    pub price_min: i64,
    /// The highest price of its active variants.
    pub price_max: i64,
    /// Whether an active variant has units available, as svc-inventory last announced.
    pub in_stock: bool,
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

impl Model {
    /// Its options; a row that does not parse is a corrupt row.
    pub fn options(&self) -> Result<Vec<ProductOption>, serde_json::Error> {
        serde_json::from_str(&self.options)
    }
}

/// What `q` searches: the name, brand and description, and the SKUs (the product's and
/// its variants').
pub fn search_text<'a>(name: &str, brand: &str, description: &str, skus: impl IntoIterator<Item = &'a str>) -> String {
    // Query words never contain a line break, so no word can match across two fields.
    let skus: Vec<String> = skus.into_iter().map(fold).collect();
    format!("{}\n{}\n{}\n{}", fold(name), fold(brand), fold(description), skus.join("\n"))
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
        search_text: Set(search_text(
            product.name.as_str(),
            product.brand.as_str(),
            &product.description,
            std::iter::once(product.sku.as_str())
                .chain(product.variants.iter().map(|v| v.sku.as_str()).filter(|sku| *sku != product.sku.as_str())),
        )),
        price_minor: Set(product.price.amount_minor),
        currency: Set(product.price.currency.code().to_owned()),
        category_id: Set(product.category_id.clone()),
        expires_at: Set(product.expires_at),
        status: Set(Status::Active.as_str().to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
        options: Set(serde_json::to_string(&product.options).unwrap_or_else(|_| "[]".to_owned())),
        price_min: Set(product.price.amount_minor),
        price_max: Set(product.price.amount_minor),
        in_stock: Set(false),
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

/// `product` with `options` (AddVariant appended a value), at `now`.
pub async fn set_options<C: ConnectionTrait>(
    db: &C,
    product: Model,
    options: &[ProductOption],
    now: DateTime<Utc>,
) -> Result<Model, DbErr> {
    let mut changed = product.into_active_model();
    changed.options = Set(serde_json::to_string(options).map_err(|e| DbErr::Custom(e.to_string()))?);
    changed.updated_at = Set(now);
    changed.update(db).await
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
    if let Some(sku) = changes.sku
        && sku.as_str() != product.sku
    {
        changed.sku = Set(sku.as_str().to_owned());
        fields.push(ProductField::Sku);
    }
    if let Some(new) = changes.name
        && new.as_str() != product.name
    {
        changed.name = Set(new.as_str().to_owned());
        changed.name_key = Set(fold(new.as_str()));
        fields.push(ProductField::Name);
    }
    if let Some(new) = changes.description
        && new != product.description
    {
        changed.description = Set(new);
        fields.push(ProductField::Description);
    }
    if let Some(new) = changes.brand
        && new.as_str() != product.brand
    {
        changed.brand = Set(new.as_str().to_owned());
        changed.brand_key = Set(new.key());
        fields.push(ProductField::Brand);
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

/// `product` with what it shows of its `variants` brought up to date: the price range and
/// `in_stock` over the active ones (the product's own price when none is active), and the
/// search text with every SKU. Written only when something differs.
pub async fn summarize<C: ConnectionTrait>(
    db: &C,
    product: Model,
    variants: &[super::variants::Model],
) -> Result<Model, DbErr> {
    let active: Vec<_> = variants.iter().filter(|v| v.is_active()).collect();
    let prices = active.iter().map(|v| v.price_minor.unwrap_or(product.price_minor));
    let (price_min, price_max) = match (prices.clone().min(), prices.max()) {
        (Some(min), Some(max)) => (min, max),
        _ => (product.price_minor, product.price_minor),
    };
    let in_stock = active.iter().any(|v| v.available > 0);
    let text = search_text(
        &product.name,
        &product.brand,
        &product.description,
        std::iter::once(product.sku.as_str())
            .chain(variants.iter().map(|v| v.sku.as_str()).filter(|sku| *sku != product.sku)),
    );
    if (price_min, price_max, in_stock, text.as_str())
        == (product.price_min, product.price_max, product.in_stock, product.search_text.as_str())
    {
        return Ok(product);
    }
    let mut changed = product.into_active_model();
    changed.price_min = Set(price_min);
    changed.price_max = Set(price_max);
    changed.in_stock = Set(in_stock);
    changed.search_text = Set(text);
    changed.update(db).await
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

/// What every product a ListProducts filter matches satisfies: active, and each filter.
fn matching(filter: &ProductFilter) -> Condition {
    let mut condition = Condition::all().add(Column::Status.eq(Status::Active.as_str()));
    if let Some(category_id) = &filter.category_id {
        condition = condition.add(Column::CategoryId.eq(category_id.as_str()));
    }
    for word in &filter.words {
        condition = condition.add(Column::SearchText.like(LikeExpr::new(super::contains_pattern(word)).escape('\\')));
    }
    if let Some(brand) = &filter.brand_key {
        condition = condition.add(Column::BrandKey.eq(brand.as_str()));
    }
    // A product matches a price bound when one of its variants does: its range reaches it.
    if let Some(min) = filter.min_price {
        condition = condition.add(Column::PriceMax.gte(min));
    }
    if let Some(max) = filter.max_price {
        condition = condition.add(Column::PriceMin.lte(max));
    }
    if let Some(in_stock) = filter.in_stock {
        condition = condition.add(Column::InStock.eq(in_stock));
    }
    if !filter.options.is_empty() {
        // One active variant must have every value asked for.
        use super::variants::{self as v, options as o};
        let mut variant = Query::select();
        variant
            .expr(Expr::val(1))
            .from(v::Entity)
            .and_where(Expr::col((v::Entity, v::Column::ProductId)).equals((Entity, Column::Id)))
            .and_where(Expr::col((v::Entity, v::Column::Status)).eq(VariantStatus::Active.as_str()));
        for option in &filter.options {
            variant.and_where(
                Expr::col((v::Entity, v::Column::Id)).in_subquery(
                    Query::select()
                        .column(o::Column::VariantId)
                        .from(o::Entity)
                        .and_where(Expr::col(o::Column::NameKey).eq(option.name_key.as_str()))
                        .and_where(Expr::col(o::Column::ValueKey).eq(option.value_key.as_str()))
                        .to_owned(),
                ),
            );
        }
        condition = condition.add(Expr::exists(variant.to_owned()));
    }
    condition
}

/// One facet value: (value, label, products).
pub type FacetCount = (String, String, i64);

/// Facet counts of a ListProducts filter: (value, label, products) per category, brand and
/// option value, most products first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Facets {
    /// Per category: id, name, count.
    pub categories: Vec<FacetCount>,
    /// Per brand: brand as written (twice), count.
    pub brands: Vec<FacetCount>,
    /// Per option name (as written): its values (value as written, twice, count).
    pub options: Vec<(String, Vec<FacetCount>)>,
}

/// The facet counts over every product `filter` matches.
pub async fn facets<C: ConnectionTrait>(db: &C, filter: &ProductFilter) -> Result<Facets, DbErr> {
    use super::{
        categories,
        variants::{self as v, options as o},
    };
    let by_category: Vec<(String, i64)> = Entity::find()
        .select_only()
        .column(Column::CategoryId)
        .column_as(Column::Id.count(), "n")
        .filter(matching(filter))
        .group_by(Column::CategoryId)
        .into_tuple()
        .all(db)
        .await?;
    let ids: Vec<String> = by_category.iter().map(|(id, _)| id.clone()).collect();
    let names: std::collections::HashMap<String, String> = categories::Entity::find()
        .filter(categories::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect();
    let mut categories: Vec<(String, String, i64)> = by_category
        .into_iter()
        .map(|(id, n)| {
            let name = names.get(&id).cloned().unwrap_or_default();
            (id, name, n)
        })
        .collect();
    sort_counts(&mut categories);

    let by_brand: Vec<(String, String, i64)> = Entity::find()
        .select_only()
        .column(Column::BrandKey)
        .column_as(Column::Brand.max(), "brand")
        .column_as(Column::Id.count(), "n")
        .filter(matching(filter))
        .filter(Column::BrandKey.ne(""))
        .group_by(Column::BrandKey)
        .into_tuple()
        .all(db)
        .await?;
    let mut brands: Vec<(String, String, i64)> =
        by_brand.into_iter().map(|(_, brand, n)| (brand.clone(), brand, n)).collect();
    sort_counts(&mut brands);

    let matching_ids = Query::select().column(Column::Id).from(Entity).cond_where(matching(filter)).to_owned();
    let by_value: Vec<(String, String, String, String, i64)> = o::Entity::find()
        .select_only()
        .column(o::Column::NameKey)
        .column(o::Column::ValueKey)
        .column_as(o::Column::Name.max(), "name")
        .column_as(o::Column::Value.max(), "value")
        .column_as(Expr::cust("COUNT(DISTINCT variant_options.product_id)"), "n")
        .filter(o::Column::ProductId.in_subquery(matching_ids))
        .filter(
            o::Column::VariantId.in_subquery(
                Query::select()
                    .column(v::Column::Id)
                    .from(v::Entity)
                    .and_where(Expr::col(v::Column::Status).eq(VariantStatus::Active.as_str()))
                    .to_owned(),
            ),
        )
        .group_by(o::Column::NameKey)
        .group_by(o::Column::ValueKey)
        .into_tuple()
        .all(db)
        .await?;
    let mut options: Vec<(String, String, Vec<FacetCount>)> = Vec::new();
    for (name_key, _, name, value, n) in by_value {
        match options.iter_mut().find(|(key, _, _)| *key == name_key) {
            Some((_, _, values)) => values.push((value.clone(), value, n)),
            None => options.push((name_key, name, vec![(value.clone(), value, n)])),
        }
    }
    let mut options: Vec<(String, Vec<FacetCount>)> = options
        .into_iter()
        .map(|(_, name, mut values)| {
            sort_counts(&mut values);
            (name, values)
        })
        .collect();
    options.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(Facets { categories, brands, options })
}

/// Most products first, then by label.
fn sort_counts(counts: &mut [(String, String, i64)]) {
    counts.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.1.cmp(&b.1)));
}

/// Up to `limit` active products matching `query`, in its order, strictly after `after`.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    query: &ProductQuery,
    after: Option<&Cursor>,
    limit: u64,
) -> Result<Vec<Model>, DbErr> {
    let mut select = Entity::find().filter(matching(&query.filter));

    let descending = query.order.descending;
    let direction = if descending { Order::Desc } else { Order::Asc };
    // "After" in the walking direction: greater when ascending, smaller when descending.
    let beyond = |column: Column, value: sea_orm::Value| if descending { column.lt(value) } else { column.gt(value) };
    let key_column = match query.order.key {
        SortKey::Created => None,
        SortKey::Price => Some(Column::PriceMin),
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
