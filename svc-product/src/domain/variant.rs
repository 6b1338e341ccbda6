//! Options, variants and images: what a valid option list, variant and image are, how a
//! variant's option values are matched to its product's options, and which variant fields
//! an update may name.
//!
//! A product without options has exactly one variant, its default one, made from the
//! product's own SKU, price and initial stock; its id is the product's id. A product with
//! options (at most [`MAX_OPTIONS`]) has one variant per combination of values it sells.

use mart_platform::{
    error::{FieldViolation, Violations},
    fields,
    money::Money,
};
use serde::{Deserialize, Serialize};

use super::{Sku, fold};

/// The most options a product may have.
pub const MAX_OPTIONS: usize = 3;

/// The most values one option may have.
pub const MAX_OPTION_VALUES: usize = 100;

/// The most variants a product may be created with (and have).
pub const MAX_VARIANTS: usize = 100;

/// The most images a product may have.
pub const MAX_IMAGES: usize = 20;

/// The longest image URL.
const MAX_URL: usize = 2000;

/// The longest alt text.
const MAX_ALT: usize = 200;

/// Whether a variant can be bought.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VariantStatus {
    /// Orderable while its product is active.
    Active,
    /// Archived: not orderable, still readable. Final.
    Archived,
}

impl VariantStatus {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            VariantStatus::Active => "active",
            VariantStatus::Archived => "archived",
        }
    }

    /// From storage; unknown values are a corrupt row, reported by the caller.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "active" => Some(VariantStatus::Active),
            "archived" => Some(VariantStatus::Archived),
            _ => None,
        }
    }
}

/// An option of a product: its name and values in display order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductOption {
    /// E.g. "Size".
    pub name: String,
    /// E.g. ["S", "M", "L"].
    pub values: Vec<String>,
}

impl ProductOption {
    /// The value of this option that `value` names (case-insensitively), as the shop wrote it.
    pub fn value(&self, value: &str) -> Option<&str> {
        let key = fold(value.trim());
        self.values.iter().find(|v| fold(v) == key).map(String::as_str)
    }
}

/// One option value of a variant, as the shop wrote both.
pub type OptionValue = (String, String);

/// The key that makes a combination unique within a product: every `name=value` folded,
/// in the product's option order. Empty for a default variant.
pub fn combination_key(values: &[OptionValue]) -> String {
    values.iter().map(|(name, value)| format!("{}={}", fold(name), fold(value))).collect::<Vec<_>>().join("\n")
}

/// "Size: M, Colour: Red"; empty for a default variant.
pub fn title(values: &[OptionValue]) -> String {
    values.iter().map(|(name, value)| format!("{name}: {value}")).collect::<Vec<_>>().join(", ")
}

/// Parses a product's options as the request field `field` (`options`).
pub fn options(field: &str, input: &[(String, Vec<String>)]) -> Result<Vec<ProductOption>, Vec<FieldViolation>> {
    let mut violations = Violations::new();
    if input.len() > MAX_OPTIONS {
        violations.add(field, format!("at most {MAX_OPTIONS} options"));
    }
    let mut parsed: Vec<ProductOption> = Vec::with_capacity(input.len());
    for (i, (name, values)) in input.iter().enumerate() {
        let at = format!("{field}[{i}]");
        let name = violations.check(fields::line(&format!("{at}.name"), name, true, 50));
        if let Some(name) = &name
            && parsed.iter().any(|o| fold(&o.name) == fold(name))
        {
            violations.add(format!("{at}.name"), "another option has this name");
        }
        if values.is_empty() {
            violations.add(format!("{at}.values"), "at least one value");
        }
        if values.len() > MAX_OPTION_VALUES {
            violations.add(format!("{at}.values"), format!("at most {MAX_OPTION_VALUES} values"));
        }
        let mut kept: Vec<String> = Vec::with_capacity(values.len());
        for (j, value) in values.iter().enumerate() {
            let field = format!("{at}.values[{j}]");
            if let Some(value) = violations.check(option_value(&field, value)) {
                if kept.iter().any(|v| fold(v) == fold(&value)) {
                    violations.add(field, "a value may appear once");
                } else {
                    kept.push(value);
                }
            }
        }
        if let Some(name) = name {
            parsed.push(ProductOption { name, values: kept });
        }
    }
    violations.finish()?;
    Ok(parsed)
}

fn option_value(field: &str, value: &str) -> Result<String, FieldViolation> {
    let value = fields::line(field, value, true, 50)?;
    if value.contains(':') {
        return Err(FieldViolation::new(field, "must not contain ':' (filters are written Name:Value)"));
    }
    Ok(value)
}

/// Where an image comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImageSource {
    /// Uploaded media, by its id (a content digest; whether it exists is the store's question).
    Media(String),
    /// An outside http(s) URL.
    Url(String),
}

/// A valid new image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewImage {
    /// Where it comes from.
    pub source: ImageSource,
    /// Alternative text, possibly empty.
    pub alt: String,
}

/// An image as requested, before validation: `(media_id, url, alt)`.
pub type ImageInput = (String, String, String);

/// Parses an image as the request field `field` (e.g. `images[0]`; pass "" for a request
/// whose fields are at the top level).
pub fn image(field: &str, (media_id, url, alt): &ImageInput) -> Result<NewImage, Vec<FieldViolation>> {
    let at = |name: &str| if field.is_empty() { name.to_owned() } else { format!("{field}.{name}") };
    let mut violations = Violations::new();
    let alt = violations.check(fields::line(&at("alt"), alt, false, MAX_ALT));
    let source = match (media_id.trim(), url.trim()) {
        ("", "") => {
            violations.add(at("media_id"), "required: a media id or a url");
            None
        }
        (media_id, "") => violations.check(media_digest(&at("media_id"), media_id)).map(ImageSource::Media),
        ("", url) => violations.check(outside_url(&at("url"), url)).map(ImageSource::Url),
        _ => {
            violations.add(at("url"), "give a media id or a url, not both");
            None
        }
    };
    violations.finish()?;
    match (source, alt) {
        (Some(source), Some(alt)) => Ok(NewImage { source, alt }),
        _ => Err(vec![FieldViolation::new(field, "invalid")]),
    }
}

/// A media id: 64 lower-case hex characters (a SHA-256 digest).
pub fn media_digest(field: &str, value: &str) -> Result<String, FieldViolation> {
    let value = value.trim();
    if value.len() == 64 && value.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        Ok(value.to_owned())
    } else {
        Err(FieldViolation::new(field, "not a media id (64 lower-case hex characters, as UploadMedia returns)"))
    }
}

fn outside_url(field: &str, value: &str) -> Result<String, FieldViolation> {
    if value.len() > MAX_URL {
        return Err(FieldViolation::new(field, format!("at most {MAX_URL} characters")));
    }
    let rest = value.strip_prefix("https://").or_else(|| value.strip_prefix("http://"));
    match rest {
        Some(rest) if !rest.is_empty() && !rest.starts_with('/') && !value.chars().any(char::is_whitespace) => {
            Ok(value.to_owned())
        }
        _ => Err(FieldViolation::new(field, "an absolute http(s) URL")),
    }
}

/// A variant as requested (NewVariant), before validation.
#[derive(Clone, Debug, Default)]
pub struct VariantInput {
    /// `sku`.
    pub sku: String,
    /// `option_values` as (name, value).
    pub option_values: Vec<(String, String)>,
    /// `price` as (amount_minor, currency), if given.
    pub price: Option<(i64, String)>,
    /// `initial_stock`, if given.
    pub initial_stock: Option<i32>,
    /// `image`, if given.
    pub image: Option<ImageInput>,
}

/// A valid new variant of a product with options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewVariant {
    /// Its SKU.
    pub sku: Sku,
    /// One value per option, in the product's option order, as the shop wrote them.
    pub option_values: Vec<OptionValue>,
    /// Its own price, if it has one.
    pub price: Option<Money>,
    /// Units on hand to start with.
    pub initial_stock: i32,
    /// An image showing it.
    pub image: Option<NewImage>,
}

impl NewVariant {
    /// Parses `input` as the request field `field` (e.g. `variants[2]`, or `variant`)
    /// against the product's `options`. A value an option does not have is refused unless
    /// `new_values` (AddVariant: it is appended to the option).
    pub fn parse(
        field: &str,
        input: &VariantInput,
        options: &[ProductOption],
        new_values: bool,
    ) -> Result<Self, Vec<FieldViolation>> {
        let mut violations = Violations::new();
        let sku = violations.check(Sku::parse(&format!("{field}.sku"), &input.sku));
        let values_field = format!("{field}.option_values");
        let mut values: Vec<Option<OptionValue>> = vec![None; options.len()];
        for (j, (name, value)) in input.option_values.iter().enumerate() {
            let at = format!("{values_field}[{j}]");
            let Some(index) = options.iter().position(|o| fold(&o.name) == fold(name.trim())) else {
                let names: Vec<&str> = options.iter().map(|o| o.name.as_str()).collect();
                violations.add(
                    format!("{at}.name"),
                    if names.is_empty() {
                        "the product has no options".to_owned()
                    } else {
                        format!("not an option of the product; its options: {}", names.join(", "))
                    },
                );
                continue;
            };
            let option = &options[index];
            if values[index].is_some() {
                violations.add(format!("{at}.name"), "one value per option");
                continue;
            }
            match option.value(value) {
                Some(known) => values[index] = Some((option.name.clone(), known.to_owned())),
                None if new_values => {
                    if let Some(value) = violations.check(option_value(&format!("{at}.value"), value)) {
                        values[index] = Some((option.name.clone(), value));
                    }
                }
                None => violations.add(
                    format!("{at}.value"),
                    format!("not a value of {}; its values: {}", option.name, option.values.join(", ")),
                ),
            }
        }
        for (option, value) in options.iter().zip(&values) {
            if value.is_none() && !violations_name(&input.option_values, &option.name) {
                violations.add(values_field.clone(), format!("missing a value for {}", option.name));
            }
        }
        let price = match &input.price {
            None => Some(None),
            Some((amount, currency)) => match Money::parse(&format!("{field}.price"), *amount, currency) {
                Ok(price) => Some(Some(price)),
                Err(bad) => {
                    bad.into_iter().for_each(|v| violations.add(v.field, v.description));
                    None
                }
            },
        };
        let initial_stock = input.initial_stock.unwrap_or(0);
        if initial_stock < 0 {
            violations.add(format!("{field}.initial_stock"), "must not be negative");
        }
        let image = match &input.image {
            None => Some(None),
            Some(image_input) => match image(&format!("{field}.image"), image_input) {
                Ok(image) => Some(Some(image)),
                Err(bad) => {
                    bad.into_iter().for_each(|v| violations.add(v.field, v.description));
                    None
                }
            },
        };
        violations.finish()?;
        match (sku, price, image) {
            (Some(sku), Some(price), Some(image)) => {
                Ok(Self { sku, option_values: values.into_iter().flatten().collect(), price, initial_stock, image })
            }
            _ => Err(vec![FieldViolation::new(field, "invalid")]),
        }
    }

    /// Its combination key (see [`combination_key`]).
    pub fn key(&self) -> String {
        combination_key(&self.option_values)
    }
}

/// Whether the request named option `name` (so a bad value was already reported for it).
fn violations_name(input: &[(String, String)], name: &str) -> bool {
    input.iter().any(|(n, _)| fold(n.trim()) == fold(name))
}

/// A field UpdateVariant may change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum VariantField {
    /// `sku`.
    Sku,
    /// `price`; named but absent: the product's price again.
    Price,
    /// `image_id`; "" clears it.
    ImageId,
    /// `status`: only ARCHIVED may be written.
    Status,
}

impl VariantField {
    /// Every field.
    pub const ALL: [VariantField; 4] =
        [VariantField::Sku, VariantField::Price, VariantField::ImageId, VariantField::Status];

    /// The field mask path.
    pub fn as_str(self) -> &'static str {
        match self {
            VariantField::Sku => "sku",
            VariantField::Price => "price",
            VariantField::ImageId => "image_id",
            VariantField::Status => "status",
        }
    }

    /// From a field mask path (snake or lowerCamel case).
    pub fn parse(path: &str) -> Option<Self> {
        match path.trim() {
            "sku" => Some(VariantField::Sku),
            "price" => Some(VariantField::Price),
            "image_id" | "imageId" => Some(VariantField::ImageId),
            "status" => Some(VariantField::Status),
            _ => None,
        }
    }
}

/// An UpdateVariant request before validation.
#[derive(Clone, Debug, Default)]
pub struct VariantPatch {
    /// `update_mask.paths`.
    pub mask: Vec<String>,
    /// `variant.sku`.
    pub sku: String,
    /// `variant.price`.
    pub price: Option<(i64, String)>,
    /// `variant.image_id`.
    pub image_id: String,
    /// `variant.status`: whether it says ARCHIVED (`Some(true)`), ACTIVE (`Some(false)`),
    /// or something else (`None`).
    pub archived: Option<bool>,
}

/// A valid variant update.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VariantChanges {
    /// A new SKU.
    pub sku: Option<Sku>,
    /// A new price (`Some(None)`: the product's again).
    pub price: Option<Option<Money>>,
    /// A new image (`Some(None)`: none).
    pub image_id: Option<Option<String>>,
    /// Archive it.
    pub archive: bool,
}

impl TryFrom<VariantPatch> for VariantChanges {
    type Error = Vec<FieldViolation>;

    fn try_from(patch: VariantPatch) -> Result<Self, Self::Error> {
        let mut violations = Violations::new();
        let mut named = Vec::new();
        for path in &patch.mask {
            match VariantField::parse(path) {
                Some(field) => named.push(field),
                None => violations.add(
                    "update_mask",
                    format!(
                        "unknown path {path:?}; allowed: {}",
                        VariantField::ALL.map(VariantField::as_str).join(", ")
                    ),
                ),
            }
        }
        if patch.mask.is_empty() {
            violations.add("update_mask", "required: name the fields to change");
        }
        let mut changes = VariantChanges::default();
        if named.contains(&VariantField::Sku) {
            changes.sku = violations.check(Sku::parse("variant.sku", &patch.sku));
        }
        if named.contains(&VariantField::Price) {
            changes.price = match &patch.price {
                None => Some(None),
                Some((amount, currency)) => match Money::parse("variant.price", *amount, currency) {
                    Ok(price) => Some(Some(price)),
                    Err(bad) => {
                        bad.into_iter().for_each(|v| violations.add(v.field, v.description));
                        None
                    }
                },
            };
        }
        if named.contains(&VariantField::ImageId) {
            changes.image_id = match patch.image_id.trim() {
                "" => Some(None),
                id => violations.check(fields::id("variant.image_id", id)).map(Some),
            };
        }
        if named.contains(&VariantField::Status) {
            match patch.archived {
                Some(true) => changes.archive = true,
                Some(false) => {}
                None => violations.add("variant.status", "ACTIVE or ARCHIVED"),
            }
        }
        violations.finish()?;
        Ok(changes)
    }
}

/// An option filter of ListProducts (`Size:M`), folded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OptionFilter {
    /// The option name, folded.
    pub name_key: String,
    /// The value, folded.
    pub value_key: String,
}

impl OptionFilter {
    /// Parses `value` (`Name:Value`) as the request field `field`.
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldViolation> {
        let Some((name, value)) = value.split_once(':') else {
            return Err(FieldViolation::new(field, "write Name:Value, e.g. Size:M"));
        };
        let (name, value) = (name.trim(), value.trim());
        if name.is_empty() || value.is_empty() || name.chars().count() > 50 || value.chars().count() > 50 {
            return Err(FieldViolation::new(field, "write Name:Value, each 1 to 50 characters"));
        }
        Ok(Self { name_key: fold(name), value_key: fold(value) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tee() -> Vec<ProductOption> {
        options(
            "options",
            &[
                ("Size".into(), vec!["S".into(), "M".into(), "L".into()]),
                ("Colour".into(), vec!["Red".into(), "Blue".into()]),
            ],
        )
        .unwrap()
    }

    #[test]
    fn values_are_matched_to_options_in_their_order() {
        let input = VariantInput {
            sku: "TEE-RED-S".into(),
            option_values: vec![("colour".into(), "red".into()), ("SIZE".into(), "s".into())],
            ..VariantInput::default()
        };
        let variant = NewVariant::parse("variants[0]", &input, &tee(), false).unwrap();
        assert_eq!(variant.option_values, [("Size".to_owned(), "S".to_owned()), ("Colour".into(), "Red".into())]);
        assert_eq!(variant.key(), "size=s\ncolour=red");
        assert_eq!(title(&variant.option_values), "Size: S, Colour: Red");
    }

    #[test]
    fn bad_variants_are_named() {
        let input = VariantInput {
            sku: "".into(),
            option_values: vec![("Size".into(), "XL".into()), ("Fit".into(), "Slim".into())],
            initial_stock: Some(-1),
            ..VariantInput::default()
        };
        let fields: Vec<_> =
            NewVariant::parse("variants[1]", &input, &tee(), false).unwrap_err().into_iter().map(|v| v.field).collect();
        assert_eq!(
            fields,
            [
                "variants[1].sku",
                "variants[1].option_values[0].value",
                "variants[1].option_values[1].name",
                "variants[1].option_values",
                "variants[1].initial_stock"
            ]
        );
        let new_value = VariantInput {
            sku: "TEE-XL".into(),
            option_values: vec![("Size".into(), "XL".into()), ("Colour".into(), "Red".into())],
            ..VariantInput::default()
        };
        assert!(NewVariant::parse("variant", &new_value, &tee(), true).is_ok());
    }

    #[test]
    fn options_are_checked() {
        let too_many: Vec<_> = (0..4).map(|i| (format!("O{i}"), vec!["a".to_owned()])).collect();
        assert_eq!(options("options", &too_many).unwrap_err()[0].field, "options");
        let twice = [("Size".into(), vec!["S".into(), "s".into()]), ("size".into(), vec!["M".into()])];
        let fields: Vec<_> = options("options", &twice).unwrap_err().into_iter().map(|v| v.field).collect();
        assert_eq!(fields, ["options[0].values[1]", "options[1].name"]);
        let colon = [("Size".into(), vec!["S:M".into()])];
        assert_eq!(options("options", &colon).unwrap_err()[0].field, "options[0].values[0]");
    }

    #[test]
    fn images_and_filters() {
        let digest = "a".repeat(64);
        assert_eq!(image("", &(digest.clone(), "".into(), "".into())).unwrap().source, ImageSource::Media(digest));
        assert_eq!(image("", &("".into(), "".into(), "".into())).unwrap_err()[0].field, "media_id");
        assert_eq!(
            image("images[0]", &("".into(), "ftp://x".into(), "".into())).unwrap_err()[0].field,
            "images[0].url"
        );
        assert!(image("", &("".into(), "https://cdn.example/tee.png".into(), "Tee".into())).is_ok());
        assert_eq!(
            OptionFilter::parse("option", " Size : M ").unwrap(),
            OptionFilter { name_key: "size".into(), value_key: "m".into() }
        );
        assert!(OptionFilter::parse("option", "Size").is_err());
    }
}
