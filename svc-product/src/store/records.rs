//! A product with its variants and images, read together: what GetProduct,
//! BatchGetProducts and the commands answer with.

use std::collections::HashMap;

use sea_orm::{ConnectionTrait, DbErr};

use super::{images, products, variants};

/// A product, its variants in order (archived ones included) and its images in order.
#[derive(Clone, Debug)]
pub struct ProductRecord {
    /// The product.
    pub product: products::Model,
    /// Its variants.
    pub variants: Vec<variants::Model>,
    /// Its images.
    pub images: Vec<images::Model>,
}

impl ProductRecord {
    /// Its variant `id`.
    pub fn variant(&self, id: &str) -> Option<&variants::Model> {
        self.variants.iter().find(|v| v.id == id)
    }

    /// The image `id`.
    pub fn image(&self, id: &str) -> Option<&images::Model> {
        self.images.iter().find(|i| i.id == id)
    }
}

/// `product` with its variants and images.
pub async fn load<C: ConnectionTrait>(db: &C, product: products::Model) -> Result<ProductRecord, DbErr> {
    let variants = variants::of_product(db, &product.id).await?;
    let images = images::of_product(db, &product.id).await?;
    Ok(ProductRecord { product, variants, images })
}

/// Each of `products` with its variants and images, in the order given, in three queries.
pub async fn load_many<C: ConnectionTrait>(
    db: &C,
    products: Vec<products::Model>,
) -> Result<Vec<ProductRecord>, DbErr> {
    let ids: Vec<String> = products.iter().map(|p| p.id.clone()).collect();
    let mut variants = group(variants::of_products(db, &ids).await?, |v| v.product_id.clone());
    let mut images = group(images::of_products(db, &ids).await?, |i| i.product_id.clone());
    Ok(products
        .into_iter()
        .map(|product| ProductRecord {
            variants: variants.remove(&product.id).unwrap_or_default(),
            images: images.remove(&product.id).unwrap_or_default(),
            product,
        })
        .collect())
}

/// The images of each of `product_ids` (for list items).
pub async fn images_of<C: ConnectionTrait>(
    db: &C,
    product_ids: &[String],
) -> Result<HashMap<String, Vec<images::Model>>, DbErr> {
    Ok(group(images::of_products(db, product_ids).await?, |i| i.product_id.clone()))
}

fn group<T>(rows: Vec<T>, key: impl Fn(&T) -> String) -> HashMap<String, Vec<T>> {
    let mut grouped: HashMap<String, Vec<T>> = HashMap::new();
    for row in rows {
        grouped.entry(key(&row)).or_default().push(row);
    }
    grouped
}
