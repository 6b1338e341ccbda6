//! Products: SKU, name, description, brand, price, category, expiry; the status that
//! decides whether one can be bought; and which fields an update may name.

use chrono::{DateTime, Utc};
use mart_platform::{
    error::{FieldViolation, Violations},
    fields,
    money::Money,
};

use super::{
    MAX_PRODUCT_DESCRIPTION, fold,
    variant::{self, ImageInput, MAX_IMAGES, MAX_VARIANTS, NewImage, NewVariant, ProductOption, VariantInput},
};

/// Whether a product can be bought.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Listed and orderable.
    Active,
    /// Archived by an admin: hidden from lists, not orderable, still readable by id. Final.
    Archived,
}

impl Status {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Archived => "archived",
        }
    }

    /// From storage; unknown values are a corrupt row, reported by the caller.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "active" => Some(Status::Active),
            "archived" => Some(Status::Archived),
            _ => None,
        }
    }
}

/// A stock keeping unit: trimmed, 1 to 64 characters of `A-Z a-z 0-9 . _ -`. Unique, and
/// compared exactly: SKUs are codes, and codes differing in case are different codes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sku(String);

impl Sku {
    /// Parses `value` as the request field `field`.
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldViolation> {
        let value = value.trim();
        if value.is_empty() {
            return Err(FieldViolation::new(field, "required"));
        }
        if value.len() > 64 {
            return Err(FieldViolation::new(field, "at most 64 characters"));
        }
        if !value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')) {
            return Err(FieldViolation::new(field, "only letters, digits, '.', '_' and '-'"));
        }
        Ok(Self(value.to_owned()))
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A product's display name: trimmed, 1 to 200 characters, one line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProductName(String);

impl ProductName {
    /// Parses `value` as the request field `field`.
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldViolation> {
        fields::line(field, value, true, 200).map(Self)
    }

    /// The name as shown.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A brand or manufacturer: trimmed, at most 100 characters, may be empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Brand(String);

impl Brand {
    /// Parses `value` as the request field `field`.
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldViolation> {
        fields::line(field, value, false, 100).map(Self)
    }

    /// The brand as shown.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What the brand filter compares: "ACME" and "Acme" are one brand.
    pub fn key(&self) -> String {
        fold(&self.0)
    }
}

/// A moment as the request carries it (seconds and nanoseconds since the Unix epoch),
/// before it is known to be a valid time.
pub type Moment = (i64, i32);

fn moment(field: &str, (seconds, nanos): Moment) -> Result<DateTime<Utc>, FieldViolation> {
    mart_platform::wire::instant(seconds, nanos).ok_or_else(|| FieldViolation::new(field, "not a valid timestamp"))
}

fn expiry(field: &str, value: Moment, now: DateTime<Utc>) -> Result<DateTime<Utc>, FieldViolation> {
    let at = moment(field, value)?;
    if at <= now {
        return Err(FieldViolation::new(field, "must be in the future"));
    }
    Ok(at)
}

/// A product as requested (CreateProductRequest), before validation.
#[derive(Clone, Debug, Default)]
pub struct ProductInput {
    /// `sku`.
    pub sku: String,
    /// `name`.
    pub name: String,
    /// `description`.
    pub description: String,
    /// `brand`.
    pub brand: String,
    /// `price` as (amount_minor, currency), if given.
    pub price: Option<(i64, String)>,
    /// `category_id`; whether it exists is the store's question.
    pub category_id: String,
    /// `expires_at`, if given.
    pub expires_at: Option<Moment>,
    /// `initial_stock`, if given.
    pub initial_stock: Option<i32>,
    /// `options` as (name, values).
    pub options: Vec<(String, Vec<String>)>,
    /// `variants`.
    pub variants: Vec<VariantInput>,
    /// `images`.
    pub images: Vec<ImageInput>,
    /// The time of the request: an expiry must come after it.
    pub now: DateTime<Utc>,
}

/// A valid new product.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewProduct {
    /// Its SKU.
    pub sku: Sku,
    /// Its name.
    pub name: ProductName,
    /// Its description, possibly empty.
    pub description: String,
    /// Its brand, possibly empty.
    pub brand: Brand,
    /// Its price.
    pub price: Money,
    /// The id of its category (not yet known to exist).
    pub category_id: String,
    /// When it expires, if it does.
    pub expires_at: Option<DateTime<Utc>>,
    /// Units on hand to start with, `>= 0` (a product without options: its default
    /// variant's; 0 with options, whose variants have their own).
    pub initial_stock: i32,
    /// Its options; empty for a product with one default variant.
    pub options: Vec<ProductOption>,
    /// Its variants when it has options (at least one); empty otherwise.
    pub variants: Vec<NewVariant>,
    /// Its own images, in order (the variants' come after them).
    pub images: Vec<NewImage>,
}

impl NewProduct {
    /// Every image it is created with: its own, then each variant's, in order.
    pub fn image_count(&self) -> usize {
        self.images.len() + self.variants.iter().filter(|v| v.image.is_some()).count()
    }
}

/// The options, variants and images of a product request, checked together: a product
/// with options names its variants, one without has none (its default variant is the
/// product's SKU, price and stock).
fn variants(
    violations: &mut Violations,
    input: &ProductInput,
) -> Option<(Vec<ProductOption>, Vec<NewVariant>, Vec<NewImage>)> {
    let options = match variant::options("options", &input.options) {
        Ok(options) => Some(options),
        Err(bad) => {
            bad.into_iter().for_each(|v| violations.add(v.field, v.description));
            None
        }
    };
    let mut parsed = Vec::with_capacity(input.variants.len());
    if let Some(options) = &options {
        if options.is_empty() && !input.variants.is_empty() {
            violations.add(
                "variants",
                "a product without options has one variant, made from sku, price and initial_stock; give options to \
                 sell several",
            );
        }
        if !options.is_empty() {
            if input.variants.is_empty() {
                violations.add("variants", "required for a product with options: at least one");
            }
            if input.variants.len() > MAX_VARIANTS {
                violations.add("variants", format!("at most {MAX_VARIANTS} variants"));
            }
            if input.initial_stock.is_some() {
                violations.add(
                    "initial_stock",
                    "a product with options has no stock of its own; give each variant its initial_stock",
                );
            }
            for (i, variant_input) in input.variants.iter().enumerate().take(MAX_VARIANTS) {
                let field = format!("variants[{i}]");
                match NewVariant::parse(&field, variant_input, options, false) {
                    Ok(variant) => {
                        let earlier = |v: &&NewVariant| v.key() == variant.key();
                        if parsed.iter().any(|v| earlier(&v)) {
                            violations.add(format!("{field}.option_values"), "another variant has this combination");
                        } else if parsed.iter().any(|v: &NewVariant| v.sku == variant.sku) {
                            violations.add(format!("{field}.sku"), "another variant has this SKU");
                        } else {
                            parsed.push(variant);
                        }
                    }
                    Err(bad) => bad.into_iter().for_each(|v| violations.add(v.field, v.description)),
                }
            }
        }
    }
    let mut images = Vec::with_capacity(input.images.len());
    for (i, image_input) in input.images.iter().enumerate() {
        match variant::image(&format!("images[{i}]"), image_input) {
            Ok(image) => images.push(image),
            Err(bad) => bad.into_iter().for_each(|v| violations.add(v.field, v.description)),
        }
    }
    let total = input.images.len() + input.variants.iter().filter(|v| v.image.is_some()).count();
    if total > MAX_IMAGES {
        violations.add("images", format!("at most {MAX_IMAGES} images, the variants' included"));
    }
    options.map(|options| (options, parsed, images))
}

impl TryFrom<ProductInput> for NewProduct {
    type Error = Vec<FieldViolation>;

    fn try_from(input: ProductInput) -> Result<Self, Self::Error> {
        let mut violations = Violations::new();
        let sku = violations.check(Sku::parse("sku", &input.sku));
        let name = violations.check(ProductName::parse("name", &input.name));
        let description =
            violations.check(fields::paragraph("description", &input.description, false, MAX_PRODUCT_DESCRIPTION));
        let brand = violations.check(Brand::parse("brand", &input.brand));
        let price = match &input.price {
            None => {
                violations.add("price", "required");
                None
            }
            Some((amount, currency)) => match Money::parse("price", *amount, currency) {
                Ok(price) => Some(price),
                Err(bad) => {
                    bad.into_iter().for_each(|v| violations.add(v.field, v.description));
                    None
                }
            },
        };
        let category_id = violations.check(fields::id("category_id", &input.category_id));
        let expires_at = match input.expires_at {
            None => Some(None),
            Some(value) => violations.check(expiry("expires_at", value, input.now)).map(Some),
        };
        let initial_stock = input.initial_stock.unwrap_or(0);
        if initial_stock < 0 {
            violations.add("initial_stock", "must not be negative");
        }
        let variants = variants(&mut violations, &input);
        violations.finish()?;
        match (sku, name, description, brand, price, category_id, expires_at, variants) {
            (
                Some(sku),
                Some(name),
                Some(description),
                Some(brand),
                Some(price),
                Some(category_id),
                Some(expires_at),
                Some((options, variants, images)),
            ) => Ok(Self {
                sku,
                name,
                description,
                brand,
                price,
                category_id,
                expires_at,
                initial_stock,
                options,
                variants,
                images,
            }),
            // `finish` returned every violation; everything is present here.
            _ => Err(vec![FieldViolation::new("product", "invalid")]),
        }
    }
}

/// A field UpdateProduct may change: the paths its `update_mask` may name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ProductField {
    /// `sku`.
    Sku,
    /// `name`.
    Name,
    /// `description`.
    Description,
    /// `brand`.
    Brand,
    /// `price` (amount and currency together).
    Price,
    /// `category_id`.
    CategoryId,
    /// `expires_at`; named but absent clears the expiry.
    ExpiresAt,
}

impl ProductField {
    /// Every field, in the order events list them.
    pub const ALL: [ProductField; 7] = [
        ProductField::Sku,
        ProductField::Name,
        ProductField::Description,
        ProductField::Brand,
        ProductField::Price,
        ProductField::CategoryId,
        ProductField::ExpiresAt,
    ];

    /// The field mask path.
    pub fn as_str(self) -> &'static str {
        match self {
            ProductField::Sku => "sku",
            ProductField::Name => "name",
            ProductField::Description => "description",
            ProductField::Brand => "brand",
            ProductField::Price => "price",
            ProductField::CategoryId => "category_id",
            ProductField::ExpiresAt => "expires_at",
        }
    }

    /// From a field mask path. JSON clients send lowerCamelCase paths (`categoryId`), so
    /// both spellings are accepted.
    pub fn parse(path: &str) -> Option<Self> {
        match path.trim() {
            "sku" => Some(ProductField::Sku),
            "name" => Some(ProductField::Name),
            "description" => Some(ProductField::Description),
            "brand" => Some(ProductField::Brand),
            "price" => Some(ProductField::Price),
            "category_id" | "categoryId" => Some(ProductField::CategoryId),
            "expires_at" | "expiresAt" => Some(ProductField::ExpiresAt),
            _ => None,
        }
    }
}

/// An update as requested (UpdateProductRequest), before validation: the new values and
/// the mask saying which of them to read.
#[derive(Clone, Debug, Default)]
pub struct ProductPatch {
    /// `update_mask.paths`.
    pub mask: Vec<String>,
    /// The new values; only those the mask names are read.
    pub values: ProductInput,
}

/// A valid update: a new value for each field the mask named, and nothing for the rest.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProductChanges {
    /// The fields named, without duplicates, in [`ProductField::ALL`] order.
    pub fields: Vec<ProductField>,
    /// A new SKU.
    pub sku: Option<Sku>,
    /// A new name.
    pub name: Option<ProductName>,
    /// A new description.
    pub description: Option<String>,
    /// A new brand.
    pub brand: Option<Brand>,
    /// A new price.
    pub price: Option<Money>,
    /// A new category (not yet known to exist).
    pub category_id: Option<String>,
    /// A new expiry, or `Some(None)` to clear it.
    pub expires_at: Option<Option<DateTime<Utc>>>,
}

impl TryFrom<ProductPatch> for ProductChanges {
    type Error = Vec<FieldViolation>;

    /// Fields are named as in UpdateProductRequest: `update_mask`, `product.sku`, …
    fn try_from(patch: ProductPatch) -> Result<Self, Self::Error> {
        let mut violations = Violations::new();
        let mut fields = Vec::new();
        for path in &patch.mask {
            match ProductField::parse(path) {
                Some(field) => fields.push(field),
                None => violations.add(
                    "update_mask",
                    format!(
                        "unknown path {path:?}; allowed: {}",
                        ProductField::ALL.map(ProductField::as_str).join(", ")
                    ),
                ),
            }
        }
        if patch.mask.is_empty() {
            violations.add("update_mask", "required: name the fields to change");
        }
        fields.sort();
        fields.dedup();

        let values = &patch.values;
        let named = |field: ProductField| fields.contains(&field);
        let mut changes = ProductChanges {
            fields: fields.clone(),
            sku: None,
            name: None,
            description: None,
            brand: None,
            price: None,
            category_id: None,
            expires_at: None,
        };
        if named(ProductField::Sku) {
            changes.sku = violations.check(Sku::parse("product.sku", &values.sku));
        }
        if named(ProductField::Name) {
            changes.name = violations.check(ProductName::parse("product.name", &values.name));
        }
        if named(ProductField::Description) {
            changes.description = violations.check(fields::paragraph(
                "product.description",
                &values.description,
                false,
                MAX_PRODUCT_DESCRIPTION,
            ));
        }
        if named(ProductField::Brand) {
            changes.brand = violations.check(Brand::parse("product.brand", &values.brand));
        }
        if named(ProductField::Price) {
            match &values.price {
                None => violations.add("product.price", "required when update_mask names it"),
                Some((amount, currency)) => match Money::parse("product.price", *amount, currency) {
                    Ok(price) => changes.price = Some(price),
                    Err(bad) => bad.into_iter().for_each(|v| violations.add(v.field, v.description)),
                },
            }
        }
        if named(ProductField::CategoryId) {
            changes.category_id = violations.check(fields::id("product.category_id", &values.category_id));
        }
        if named(ProductField::ExpiresAt) {
            changes.expires_at = match values.expires_at {
                None => Some(None),
                Some(value) => violations.check(expiry("product.expires_at", value, values.now)).map(Some),
            };
        }
        violations.finish()?;
        Ok(changes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> ProductInput {
        ProductInput {
            sku: " TEA-001 ".into(),
            name: "Green tea".into(),
            price: Some((499, "EUR".into())),
            category_id: "c1".into(),
            now: Utc::now(),
            ..ProductInput::default()
        }
    }

    #[test]
    fn a_plain_product_is_valid() {
        let product = NewProduct::try_from(input()).unwrap();
        assert_eq!(product.sku.as_str(), "TEA-001");
        assert_eq!((product.price.amount_minor, product.price.currency.code()), (499, "EUR"));
        assert_eq!((product.expires_at, product.initial_stock), (None, 0));
    }

    #[test]
    fn every_bad_field_is_named() {
        let bad = ProductInput {
            sku: "tea 001".into(),
            name: String::new(),
            description: "x".repeat(10_001),
            brand: "b".repeat(101),
            price: Some((-1, "EURO".into())),
            category_id: " ".into(),
            expires_at: Some((Utc::now().timestamp() - 60, 0)),
            initial_stock: Some(-1),
            now: Utc::now(),
            ..ProductInput::default()
        };
        let fields: Vec<_> = NewProduct::try_from(bad).unwrap_err().into_iter().map(|v| v.field).collect();
        assert_eq!(
            fields,
            [
                "sku",
                "name",
                "description",
                "brand",
                "price.amount_minor",
                "price.currency",
                "category_id",
                "expires_at",
                "initial_stock"
            ]
        );
        let no_price = ProductInput { price: None, ..input() };
        assert_eq!(NewProduct::try_from(no_price).unwrap_err()[0].field, "price");
        let bad_time = ProductInput { expires_at: Some((0, -1)), ..input() };
        assert_eq!(NewProduct::try_from(bad_time).unwrap_err()[0].field, "expires_at");
    }

    #[test]
    fn skus() {
        assert!(Sku::parse("sku", "a.b_c-D9").is_ok());
        assert!(Sku::parse("sku", &"x".repeat(64)).is_ok());
        for bad in ["", "x".repeat(65).as_str(), "ä", "a/b", "a b"] {
            assert!(Sku::parse("sku", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_patch_reads_only_the_named_fields() {
        let patch = ProductPatch {
            mask: vec!["price".into(), "name".into(), "price".into()],
            values: ProductInput { sku: "not valid!".into(), name: "Black tea".into(), ..input() },
        };
        let changes = ProductChanges::try_from(patch).unwrap();
        assert_eq!(changes.fields, [ProductField::Name, ProductField::Price]);
        assert_eq!(changes.name.unwrap().as_str(), "Black tea");
        assert_eq!(changes.sku, None);

        let clear = ProductPatch { mask: vec!["expiresAt".into()], values: input() };
        assert_eq!(ProductChanges::try_from(clear).unwrap().expires_at, Some(None));
    }

    #[test]
    fn bad_masks_and_values_are_named() {
        let empty = ProductPatch { mask: vec![], values: input() };
        assert_eq!(ProductChanges::try_from(empty).unwrap_err()[0].field, "update_mask");
        let unknown = ProductPatch { mask: vec!["status".into(), "sku".into()], values: input() };
        let fields: Vec<_> = ProductChanges::try_from(unknown).unwrap_err().into_iter().map(|v| v.field).collect();
        assert_eq!(fields, ["update_mask"]);
        let bad = ProductPatch {
            mask: vec!["sku".into(), "price".into()],
            values: ProductInput { sku: String::new(), price: Some((5, "usd".into())), ..input() },
        };
        let fields: Vec<_> = ProductChanges::try_from(bad).unwrap_err().into_iter().map(|v| v.field).collect();
        assert_eq!(fields, ["product.sku"]);
    }
}
