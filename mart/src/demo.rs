//! `mart demo-data`: fills a running shop with something to browse — a handful of
//! categories, about fifty products with prices, descriptions, stock and a picture each, a
//! few of them sold in sizes, weights or colours (variants), and a demo customer with an
//! address — through the edge's public REST API, as an admin would.
//!
//! It goes through the front door on purpose: what it creates is checked, priced and
//! announced (ProductCreated opens the stock) exactly as anything an admin creates. It is
//! safe to run again: categories are looked up by name and products by SKU, and only the
//! missing ones are created; the customer is registered once. The pictures are drawn on
//! the spot ([`picture`]), never fetched, and uploaded before the product that shows them;
//! the same picture is the same bytes, which the shop stores under the same media id.

pub mod picture;

use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};
use serde_json::{Value, json};

use self::picture::{Picture, Rgb, Shape};

/// The demo customer's sign-in email.
pub const CUSTOMER_EMAIL: &str = "demo@example.com";
/// The demo customer's password (printed by `mart demo-data`; this is demo data).
pub const CUSTOMER_PASSWORD: &str = "demo customer 2024";

/// Where the shop is and who may fill it.
#[derive(Clone, Debug)]
pub struct Options {
    /// The edge's base URL, e.g. `http://127.0.0.1:8000`.
    pub url: String,
    /// An administrator's email address.
    pub admin_email: String,
    /// That administrator's password.
    pub admin_password: String,
}

/// What a run found and what it added.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Demo categories created by this run.
    pub categories_created: usize,
    /// Demo categories that were already there.
    pub categories_existing: usize,
    /// Demo products created by this run.
    pub products_created: usize,
    /// Demo products (by SKU) that were already there.
    pub products_existing: usize,
    /// Pictures this run gave to products: those of the products it created (a variant
    /// with a colour of its own has its own), and one each for demo products that had none
    /// (made before demo products had pictures).
    pub images_added: usize,
    /// Whether this run registered the demo customer (false: it existed already).
    pub customer_created: bool,
}

/// Why the demo data could not be added.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// `--url` is not a plain `http://host:port` URL.
    #[error("--url {url}: {reason}")]
    BadUrl { url: String, reason: String },
    /// Nothing answered at the URL.
    #[error("no shop answers at {url} ({reason}); is `mart up` running there? (--url)")]
    Unreachable { url: String, reason: String },
    /// The admin credentials were refused.
    #[error("the shop refused the admin credentials for {email} (status {status}): {message}")]
    Login { email: String, status: StatusCode, message: String },
    /// The shop answered a request with an error.
    #[error("{what}: the shop answered {status}: {message}")]
    Rejected { what: String, status: StatusCode, message: String },
}

impl DemoError {
    /// Whether the fault is in what the user gave (URL, credentials) rather than the shop.
    pub fn is_usage(&self) -> bool {
        matches!(self, DemoError::BadUrl { .. } | DemoError::Unreachable { .. } | DemoError::Login { .. })
    }
}

/// Adds whatever demo data the shop at `options.url` lacks; see the module docs.
pub async fn demo_data(options: &Options) -> Result<Summary, DemoError> {
    let edge = Edge::new(&options.url)?;
    let mut summary = Summary::default();

    let login = edge
        .send(
            Method::POST,
            "/v1/auth/login",
            None,
            json!({"email": options.admin_email, "password": options.admin_password}),
        )
        .await?;
    if login.status != StatusCode::OK {
        return Err(DemoError::Login {
            email: options.admin_email.clone(),
            status: login.status,
            message: login.message(),
        });
    }
    let admin = login.token();

    // Categories, by name (unique, case-insensitive).
    let mut categories = edge.all("/v1/categories", "categories").await?;
    let mut category_ids = Vec::new();
    for (name, description) in CATEGORIES {
        if let Some(id) = find(&categories, "name", name) {
            summary.categories_existing += 1;
            category_ids.push((*name, id));
            continue;
        }
        let created = edge
            .send(Method::POST, "/v1/categories", Some(&admin), json!({"name": name, "description": description}))
            .await?;
        match created.status {
            StatusCode::OK => {
                summary.categories_created += 1;
                category_ids.push((*name, created.json["category"]["id"].as_str().unwrap_or_default().to_owned()));
            }
            // Created meanwhile by someone else: look again.
            StatusCode::CONFLICT => {
                categories = edge.all("/v1/categories", "categories").await?;
                let id =
                    find(&categories, "name", name).ok_or_else(|| created.rejected(&format!("category {name}")))?;
                summary.categories_existing += 1;
                category_ids.push((*name, id));
            }
            _ => return Err(created.rejected(&format!("category {name}"))),
        }
    }

    // Products, by SKU. Archived products are not listed but keep their SKU: creating one
    // again is a 409, which means "there already", too.
    let products = edge.all("/v1/products", "products").await?;
    for product in PRODUCTS {
        if let Some(listed) = listed(&products, "sku", product.sku) {
            summary.products_existing += 1;
            // Made by an older `mart demo-data`: give it its picture now. (Lists carry the
            // images, and leave the field out when there are none.)
            if listed["images"].as_array().is_none_or(Vec::is_empty) {
                let id = listed["id"].as_str().unwrap_or_default();
                let media =
                    edge.upload(&admin, product.picture().png(), &format!("the picture of {}", product.sku)).await?;
                let added = edge
                    .send(
                        Method::POST,
                        &format!("/v1/products/{id}/images"),
                        Some(&admin),
                        json!({"mediaId": media, "alt": product.name}),
                    )
                    .await?;
                if added.status != StatusCode::OK {
                    return Err(added.rejected(&format!("the picture of {}", product.sku)));
                }
                summary.images_added += 1;
            }
            continue;
        }
        let category = &category_ids.iter().find(|(name, _)| *name == product.category).expect("a demo category").1;
        let picture = edge.upload(&admin, product.picture().png(), &format!("the picture of {}", product.sku)).await?;
        let mut request = json!({
            "sku": product.sku,
            "name": product.name,
            "description": product.description,
            "brand": product.brand,
            "price": money(product.price_minor),
            "categoryId": category,
            "images": [{"mediaId": picture, "alt": product.name}],
        });
        if product.variants.is_empty() {
            request["initialStock"] = json!(product.stock);
        } else {
            request["options"] =
                product.options.iter().map(|(name, values)| json!({"name": name, "values": values})).collect();
            let mut variants = Vec::with_capacity(product.variants.len());
            for variant in product.variants {
                let option_values = product.options.iter().zip(variant.values);
                let mut wanted = json!({
                    "sku": variant.sku,
                    "optionValues": option_values.map(|((name, _), value)| json!({"name": name, "value": value})).collect::<Vec<_>>(),
                    "initialStock": variant.stock,
                });
                if let Some(price) = variant.price_minor {
                    wanted["price"] = money(price);
                }
                if let Some(picture) = product.picture_of(variant) {
                    let media = edge.upload(&admin, picture.png(), &format!("the picture of {}", variant.sku)).await?;
                    wanted["image"] =
                        json!({"mediaId": media, "alt": format!("{}, {}", product.name, variant.values.join(", "))});
                }
                variants.push(wanted);
            }
            request["variants"] = Value::Array(variants);
        }
        let created = edge.send(Method::POST, "/v1/products", Some(&admin), request).await?;
        match created.status {
            StatusCode::OK => {
                summary.products_created += 1;
                summary.images_added += product.image_count();
            }
            StatusCode::CONFLICT => summary.products_existing += 1,
            _ => return Err(created.rejected(&format!("product {}", product.sku))),
        }
    }

    // The customer, once; and an address to ship to, so they can check out right away.
    let registered = edge
        .send(
            Method::POST,
            "/v1/users",
            None,
            json!({"email": CUSTOMER_EMAIL, "password": CUSTOMER_PASSWORD, "firstName": "Dana", "lastName": "Demo"}),
        )
        .await?;
    match registered.status {
        StatusCode::OK => summary.customer_created = true,
        StatusCode::CONFLICT => {}
        _ => return Err(registered.rejected("the demo customer")),
    }
    let login = edge
        .send(Method::POST, "/v1/auth/login", None, json!({"email": CUSTOMER_EMAIL, "password": CUSTOMER_PASSWORD}))
        .await?;
    if login.status != StatusCode::OK {
        return Err(login.rejected("logging the demo customer in (was its password changed?)"));
    }
    let customer = login.token();
    let addresses = edge.get("/v1/users/me/addresses", Some(&customer)).await?;
    if addresses.status != StatusCode::OK {
        return Err(addresses.rejected("the demo customer's addresses"));
    }
    if addresses.json["addresses"].as_array().is_none_or(Vec::is_empty) {
        let added = edge
            .send(
                Method::POST,
                "/v1/users/me/addresses",
                Some(&customer),
                json!({"label": "Home", "line1": "12 Harbour Street", "city": "Portland", "postalCode": "04101", "country": "US"}),
            )
            .await?;
        if added.status != StatusCode::OK {
            return Err(added.rejected("the demo customer's address"));
        }
    }
    Ok(summary)
}

/// The `id` of the item in `items` whose `field` is `value` (case-insensitive, as the
/// catalog compares category names).
fn find(items: &[Value], field: &str, value: &str) -> Option<String> {
    listed(items, field, value).and_then(|item| item["id"].as_str().map(str::to_owned))
}

/// The item in `items` whose `field` is `value` (case-insensitive).
fn listed<'a>(items: &'a [Value], field: &str, value: &str) -> Option<&'a Value> {
    items.iter().find(|item| item[field].as_str().is_some_and(|v| v.eq_ignore_ascii_case(value)))
}

/// `minor` US cents as the API writes money.
fn money(minor: i64) -> Value {
    json!({"amountMinor": minor.to_string(), "currency": "USD"})
}

// === impl Edge ===

/// Requests to one edge over plain HTTP/1.1.
struct Edge {
    /// The base URL as given, for messages.
    url: String,
    /// `scheme://authority` every path is appended to.
    base: String,
    client: Client<HttpConnector, Full<Bytes>>,
}

/// What came back.
struct Answer {
    status: StatusCode,
    /// The body as JSON, `Null` when it is not JSON.
    json: Value,
}

/// The content type of every request but an upload.
const JSON: &str = "application/json";

/// How long one request may take before the shop counts as not answering.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

impl Edge {
    fn new(url: &str) -> Result<Self, DemoError> {
        let bad = |reason: &str| DemoError::BadUrl { url: url.to_owned(), reason: reason.to_owned() };
        let uri: Uri = url.parse().map_err(|e| bad(&format!("not a URL ({e})")))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some(_) => return Err(bad("only http:// is spoken here (the edge serves plain HTTP)")),
            None => return Err(bad("expected http://host:port")),
        }
        let authority = uri.authority().ok_or_else(|| bad("expected http://host:port"))?;
        let base = format!("http://{authority}{}", uri.path().trim_end_matches('/'));
        let client = Client::builder(TokioExecutor::new()).build_http();
        Ok(Self { url: url.to_owned(), base, client })
    }

    /// `GET path`, as the holder of `token` if any.
    async fn get(&self, path: &str, token: Option<&str>) -> Result<Answer, DemoError> {
        self.call(Method::GET, path, token, JSON, Bytes::new()).await
    }

    /// `method path` with a JSON `body`, as the holder of `token` if any.
    async fn send(&self, method: Method, path: &str, token: Option<&str>, body: Value) -> Result<Answer, DemoError> {
        self.call(method, path, token, JSON, Bytes::from(body.to_string())).await
    }

    /// Uploads a PNG as the admin holding `token` (the raw file is the body); its media id.
    /// `what` names it in an error.
    async fn upload(&self, token: &str, png: Vec<u8>, what: &str) -> Result<String, DemoError> {
        let uploaded = self.call(Method::POST, "/v1/media", Some(token), "image/png", Bytes::from(png)).await?;
        match uploaded.json["mediaId"].as_str() {
            Some(id) if uploaded.status == StatusCode::OK => Ok(id.to_owned()),
            _ => Err(uploaded.rejected(&format!("uploading {what}"))),
        }
    }

    /// Every item of the public list at `path`, page by page.
    async fn all(&self, path: &str, field: &str) -> Result<Vec<Value>, DemoError> {
        let mut items = Vec::new();
        let mut token = String::new();
        loop {
            let page = self.get(&format!("{path}?pageSize=100&pageToken={token}"), None).await?;
            if page.status != StatusCode::OK {
                return Err(page.rejected(&format!("listing {field}")));
            }
            items.extend(page.json[field].as_array().into_iter().flatten().cloned());
            match page.json["nextPageToken"].as_str() {
                // Page tokens are URL-safe base64 (signed), no escaping needed.
                Some(next) if !next.is_empty() => token = next.to_owned(),
                _ => return Ok(items),
            }
        }
    }

    /// One request with a `body` of `content_type`; a 429 (the edge's rate limit) is
    /// waited out and tried again.
    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: Bytes,
    ) -> Result<Answer, DemoError> {
        let unreachable = |reason: String| DemoError::Unreachable { url: self.url.clone(), reason };
        let mut attempts = 0;
        loop {
            let mut request = Request::builder()
                .method(method.clone())
                .uri(format!("{}{path}", self.base))
                .header("content-type", content_type);
            if let Some(token) = token {
                request = request.header("authorization", format!("Bearer {token}"));
            }
            let request = request
                .body(Full::new(body.clone()))
                .map_err(|e| DemoError::BadUrl { url: self.url.clone(), reason: e.to_string() })?;
            let response = tokio::time::timeout(REQUEST_TIMEOUT, self.client.request(request))
                .await
                .map_err(|_| unreachable(format!("no answer within {} s", REQUEST_TIMEOUT.as_secs())))?
                .map_err(|e| unreachable(source_text(&e)))?;
            let status = response.status();
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(1);
            let body = response.into_body().collect().await.map_err(|e| unreachable(source_text(&e)))?.to_bytes();
            attempts += 1;
            if status == StatusCode::TOO_MANY_REQUESTS && attempts < 5 {
                tokio::time::sleep(Duration::from_secs(retry_after.min(10))).await;
                continue;
            }
            let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
            return Ok(Answer { status, json });
        }
    }
}

/// An error with its causes, which hyper keeps in its sources ("connection refused").
fn source_text(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

impl Answer {
    /// The error message of an error answer, or the body as it came.
    fn message(&self) -> String {
        self.json["message"].as_str().map_or_else(|| self.json.to_string(), str::to_owned)
    }

    /// The access token of a login answer.
    fn token(&self) -> String {
        self.json["accessToken"].as_str().unwrap_or_default().to_owned()
    }

    fn rejected(&self, what: &str) -> DemoError {
        DemoError::Rejected { what: what.to_owned(), status: self.status, message: self.message() }
    }
}

// === The data ===

/// A product of the demo catalog.
#[derive(Debug)]
pub struct DemoProduct {
    /// The name of its category in [`CATEGORIES`].
    pub category: &'static str,
    /// Its SKU; for a product with variants, its style code (each variant has its own).
    pub sku: &'static str,
    pub name: &'static str,
    pub brand: &'static str,
    /// Price in US cents (a variant may cost more).
    pub price_minor: i64,
    /// Units in stock when created; 0 for a product with variants, which have their own.
    pub stock: i32,
    pub description: &'static str,
    /// Its options and their values, e.g. `("Size", &["S", "M", "L"])`; empty for the
    /// products sold as one SKU, most of them.
    pub options: &'static [(&'static str, &'static [&'static str])],
    /// What is sold of it when it has options.
    pub variants: &'static [DemoVariant],
}

/// A variant of a demo product with options.
#[derive(Debug)]
pub struct DemoVariant {
    pub sku: &'static str,
    /// Its value of each option, in the product's option order.
    pub values: &'static [&'static str],
    /// Its own price in US cents; `None`: the product's.
    pub price_minor: Option<i64>,
    /// Units in stock when created.
    pub stock: i32,
    /// The colour of a picture of its own; `None`: it shows the product's picture.
    pub colour: Option<Rgb>,
}

impl DemoProduct {
    /// Its picture: its category's shape and band, in a colour of its own (the hue from
    /// its SKU, so it never changes).
    pub fn picture(&self) -> Picture {
        let (_, shape, band) =
            LOOKS.iter().find(|(name, _, _)| *name == self.category).expect("every category has a look");
        // FNV-1a: a stable hash, unlike std's, so a product keeps its colour across releases.
        let hash =
            self.sku.bytes().fold(0x811c_9dc5_u32, |hash, byte| (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193));
        Picture { shape: *shape, colour: picture::hue(hash % 360), band: *band }
    }

    /// The picture of `variant` when it has one of its own: the product's in its colour.
    pub fn picture_of(&self, variant: &DemoVariant) -> Option<Picture> {
        variant.colour.map(|colour| Picture { colour, ..self.picture() })
    }

    /// How many pictures it is created with: its own and its variants'.
    pub fn image_count(&self) -> usize {
        1 + self.variants.iter().filter(|v| v.colour.is_some()).count()
    }

    /// The same product sold as `variants` of `options`.
    const fn sold_as(
        self,
        options: &'static [(&'static str, &'static [&'static str])],
        variants: &'static [DemoVariant],
    ) -> Self {
        DemoProduct { options, variants, ..self }
    }
}

/// The demo categories: name and description. Not "Tea": the README's tour creates that.
pub const CATEGORIES: &[(&str, &str)] = &[
    ("Tea & Infusions", "Loose-leaf teas, tea bags and herbal infusions from small gardens."),
    ("Coffee", "Whole beans and ground coffee, roasted in small batches."),
    ("Cups & Mugs", "Things to drink from, from espresso cups to travel mugs."),
    ("Brewing Gear", "Kettles, pots, filters and grinders for the perfect cup."),
    ("Snacks & Sweets", "Something to go with it."),
    ("Gifts", "Sets and boxes that make a good present."),
];

const fn product(
    category: &'static str,
    sku: &'static str,
    name: &'static str,
    brand: &'static str,
    price_minor: i64,
    stock: i32,
    description: &'static str,
) -> DemoProduct {
    DemoProduct { category, sku, name, brand, price_minor, stock, description, options: &[], variants: &[] }
}

const fn variant(
    sku: &'static str,
    values: &'static [&'static str],
    price_minor: Option<i64>,
    stock: i32,
) -> DemoVariant {
    DemoVariant { sku, values, price_minor, stock, colour: None }
}

/// A variant with a picture of its own in `colour`.
const fn coloured(sku: &'static str, values: &'static [&'static str], stock: i32, colour: Rgb) -> DemoVariant {
    DemoVariant { sku, values, price_minor: None, stock, colour: Some(colour) }
}

const TEA: &str = "Tea & Infusions";
const COFFEE: &str = "Coffee";
const CUPS: &str = "Cups & Mugs";
const GEAR: &str = "Brewing Gear";
const SNACKS: &str = "Snacks & Sweets";
const GIFTS: &str = "Gifts";

/// How each category's pictures look: the shape in the middle and the band's colour.
const LOOKS: &[(&str, Shape, Rgb)] = &[
    (TEA, Shape::Circle, [46, 107, 63]),
    (COFFEE, Shape::Ring, [92, 58, 36]),
    (CUPS, Shape::RoundedSquare, [52, 78, 120]),
    (GEAR, Shape::Diamond, [70, 70, 78]),
    (SNACKS, Shape::Pill, [168, 82, 44]),
    (GIFTS, Shape::Parcel, [150, 36, 60]),
];

/// The demo products (SKUs start with `DEMO-`).
pub const PRODUCTS: &[DemoProduct] = &[
    product(
        TEA,
        "DEMO-TEA-001",
        "Sencha Green Tea, 100 g",
        "Leafy",
        1250,
        40,
        "A bright, grassy Japanese green tea. Steep at 75 °C for one minute.",
    ),
    product(
        TEA,
        "DEMO-TEA-002",
        "Assam Breakfast, 250 g",
        "Leafy",
        1490,
        60,
        "Malty, full-bodied black tea that takes milk well.",
    ),
    product(
        TEA,
        "DEMO-TEA-003",
        "Earl Grey Blue Flower, 100 g",
        "Ashby & Sons",
        1190,
        35,
        "Ceylon black tea scented with bergamot and cornflower petals.",
    ),
    product(
        TEA,
        "DEMO-TEA-004",
        "Darjeeling First Flush, 50 g",
        "Himalaya Gardens",
        2450,
        12,
        "Spring harvest from Darjeeling: floral, light and muscatel.",
    ),
    product(
        TEA,
        "DEMO-TEA-005",
        "Jasmine Pearls, 50 g",
        "Golden Leaf",
        1890,
        20,
        "Hand-rolled green tea scented with fresh jasmine blossoms.",
    ),
    product(
        TEA,
        "DEMO-TEA-006",
        "Chamomile Calm, 20 bags",
        "Meadow",
        549,
        80,
        "Whole chamomile flowers for a caffeine-free evening cup.",
    ),
    product(
        TEA,
        "DEMO-TEA-007",
        "Peppermint Leaves, 75 g",
        "Meadow",
        699,
        70,
        "Cool, sweet peppermint from Oregon farms.",
    ),
    product(
        TEA,
        "DEMO-TEA-008",
        "Rooibos Vanilla, 100 g",
        "Cape Roots",
        899,
        45,
        "South African red bush with Madagascar vanilla; no caffeine.",
    ),
    product(
        TEA,
        "DEMO-TEA-009",
        "Oolong Tie Guan Yin, 50 g",
        "Golden Leaf",
        2190,
        15,
        "A lightly oxidised oolong with an orchid aroma; good for many infusions.",
    ),
    product(
        TEA,
        "DEMO-TEA-010",
        "Matcha Ceremonial, 30 g",
        "Uji Hills",
        2990,
        18,
        "Stone-ground shade-grown tencha for whisking.",
    ),
    product(
        COFFEE,
        "DEMO-COF-001",
        "Ethiopia Yirgacheffe, whole bean 250 g",
        "North Roast",
        1650,
        50,
        "Light roast with notes of jasmine, lemon and bergamot.",
    ),
    product(
        COFFEE,
        "DEMO-COF-002",
        "Colombia Huila, whole bean 250 g",
        "North Roast",
        1450,
        55,
        "Medium roast: caramel, red apple, a round body.",
    ),
    product(
        COFFEE,
        "DEMO-COF-003",
        "House Espresso Blend, 1 kg",
        "North Roast",
        3800,
        25,
        "Brazil and Guatemala for a chocolatey, forgiving espresso.",
    ),
    product(
        COFFEE,
        "DEMO-COF-004",
        "Sumatra Mandheling, ground 250 g",
        "Island Coffee Co.",
        1390,
        40,
        "Dark, earthy and low in acidity. Ground for filter.",
    ),
    product(
        COFFEE,
        "DEMO-COF-005",
        "Kenya AA, whole bean 250 g",
        "Island Coffee Co.",
        1790,
        30,
        "Blackcurrant and grapefruit; a bright, juicy cup.",
    ),
    product(
        COFFEE,
        "DEMO-COF-006",
        "Decaf Swiss Water, 250 g",
        "North Roast",
        1490,
        35,
        "Decaffeinated without solvents; still tastes of coffee.",
    ),
    product(
        COFFEE,
        "DEMO-COF-007",
        "Cold Brew Coarse Grind, 500 g",
        "Island Coffee Co.",
        1990,
        28,
        "Coarsely ground for steeping overnight.",
    ),
    product(
        COFFEE,
        "DEMO-COF-008",
        "Instant Espresso Sticks, 25 pack",
        "Quick Cup",
        899,
        90,
        "For the office drawer and the camping trip.",
    ),
    product(
        COFFEE,
        "DEMO-COF-009",
        "Guatemala Antigua, whole bean 1 kg",
        "North Roast",
        4200,
        10,
        "Volcanic soil, cocoa and spice; our most popular bag.",
    ),
    product(
        CUPS,
        "DEMO-CUP-001",
        "Stoneware Mug, 350 ml, slate",
        "Kiln & Co.",
        1800,
        30,
        "Hand-glazed stoneware with a comfortable handle. Dishwasher safe.",
    ),
    product(
        CUPS,
        "DEMO-CUP-002",
        "Stoneware Mug, 350 ml, sand",
        "Kiln & Co.",
        1800,
        30,
        "Hand-glazed stoneware with a comfortable handle. Dishwasher safe.",
    ),
    product(
        CUPS,
        "DEMO-CUP-003",
        "Espresso Cups, set of 4",
        "Porzellan Nord",
        2400,
        20,
        "Thick-walled porcelain that keeps a double shot hot.",
    ),
    product(
        CUPS,
        "DEMO-CUP-004",
        "Double-Wall Glass, 250 ml, pair",
        "Clearview",
        2200,
        25,
        "Borosilicate glass; the drink seems to float.",
    ),
    product(
        CUPS,
        "DEMO-CUP-005",
        "Travel Mug, 450 ml, insulated",
        "Trailhead",
        2990,
        40,
        "Keeps coffee hot for six hours; leak-proof lid.",
    ),
    product(
        CUPS,
        "DEMO-CUP-006",
        "Japanese Yunomi Tea Cup",
        "Uji Hills",
        1500,
        15,
        "A tall handleless cup for green tea.",
    ),
    product(
        CUPS,
        "DEMO-CUP-007",
        "Enamel Camp Mug, 300 ml",
        "Trailhead",
        1200,
        50,
        "Chip-resistant enamel on steel, for the outdoors.",
    ),
    product(
        CUPS,
        "DEMO-CUP-008",
        "Latte Bowl, 500 ml",
        "Kiln & Co.",
        2100,
        12,
        "The French way to drink café au lait.",
    ),
    product(
        CUPS,
        "DEMO-CUP-009",
        "Bone China Teacup and Saucer",
        "Ashby & Sons",
        3400,
        10,
        "Fine bone china with a gold rim, made in England.",
    ),
    product(
        GEAR,
        "DEMO-GEAR-001",
        "Gooseneck Kettle, 1 l, electric",
        "Pourwell",
        7900,
        14,
        "Temperature control to the degree and a slow, precise spout.",
    ),
    product(
        GEAR,
        "DEMO-GEAR-002",
        "Pour-Over Dripper, ceramic",
        "Pourwell",
        2500,
        25,
        "A classic cone with spiral ribs for an even extraction.",
    ),
    product(
        GEAR,
        "DEMO-GEAR-003",
        "Paper Filters, size 02, 100 pack",
        "Pourwell",
        650,
        120,
        "Oxygen-bleached filters that leave no papery taste.",
    ),
    product(
        GEAR,
        "DEMO-GEAR-004",
        "French Press, 1 l",
        "Clearview",
        3500,
        20,
        "Borosilicate glass and a stainless steel mesh filter.",
    ),
    product(
        GEAR,
        "DEMO-GEAR-005",
        "Burr Grinder, hand crank",
        "Mill Works",
        5900,
        8,
        "Conical steel burrs with 30 grind settings.",
    ),
    product(
        GEAR,
        "DEMO-GEAR-006",
        "Cast Iron Teapot, 800 ml",
        "Uji Hills",
        6500,
        6,
        "Tetsubin-style pot with an enamelled inside and a strainer.",
    ),
    product(
        GEAR,
        "DEMO-GEAR-007",
        "Glass Teapot with Infuser, 600 ml",
        "Clearview",
        2900,
        18,
        "Watch the leaves unfurl; the infuser lifts out.",
    ),
    product(
        GEAR,
        "DEMO-GEAR-008",
        "Bamboo Matcha Whisk",
        "Uji Hills",
        1900,
        22,
        "A 100-prong chasen for a smooth, frothy bowl.",
    ),
    product(
        GEAR,
        "DEMO-GEAR-009",
        "Milk Frother, handheld",
        "Quick Cup",
        1490,
        35,
        "Battery-powered whisk for lattes at home.",
    ),
    product(
        GEAR,
        "DEMO-GEAR-010",
        "Coffee Scale with Timer",
        "Mill Works",
        3900,
        16,
        "0.1 g precision and a built-in brew timer.",
    ),
    product(
        SNACKS,
        "DEMO-SNK-001",
        "Butter Shortbread, 200 g",
        "Highland Bakery",
        649,
        60,
        "All-butter Scottish shortbread fingers.",
    ),
    product(
        SNACKS,
        "DEMO-SNK-002",
        "Almond Biscotti, 180 g",
        "Nonna Rosa",
        599,
        55,
        "Twice-baked Tuscan biscuits for dunking.",
    ),
    product(
        SNACKS,
        "DEMO-SNK-003",
        "Dark Chocolate 70 %, 100 g",
        "Cacao Craft",
        450,
        100,
        "Single-origin Peruvian cacao, bean to bar.",
    ),
    product(
        SNACKS,
        "DEMO-SNK-004",
        "Stroopwafels, 8 pack",
        "Dutch Delight",
        549,
        70,
        "Caramel syrup waffles; rest one on your mug to soften.",
    ),
    product(
        SNACKS,
        "DEMO-SNK-005",
        "Honey from Wildflowers, 350 g",
        "Meadow",
        1090,
        30,
        "Raw, unfiltered honey from a single apiary.",
    ),
    product(
        SNACKS,
        "DEMO-SNK-006",
        "Matcha Mochi, 6 pieces",
        "Uji Hills",
        899,
        24,
        "Soft rice cakes filled with matcha cream.",
    ),
    product(
        SNACKS,
        "DEMO-SNK-007",
        "Salted Caramels, 150 g",
        "Cacao Craft",
        790,
        40,
        "Butter caramels with sea salt, individually wrapped.",
    ),
    product(
        GIFTS,
        "DEMO-GIFT-001",
        "Tea Discovery Box, 12 teas",
        "Leafy",
        3900,
        15,
        "Twelve teas in sampler tins, from sencha to rooibos.",
    ),
    product(
        GIFTS,
        "DEMO-GIFT-002",
        "Coffee Lover's Set",
        "North Roast",
        5900,
        10,
        "Two bags of beans, a dripper and a box of filters.",
    ),
    product(
        GIFTS,
        "DEMO-GIFT-003",
        "Afternoon Tea Hamper",
        "Ashby & Sons",
        8900,
        5,
        "Earl Grey, shortbread, honey and a bone china cup.",
    ),
    product(
        GIFTS,
        "DEMO-GIFT-004",
        "Gift Card Sleeve with Mug",
        "Kiln & Co.",
        2500,
        20,
        "A stoneware mug in a gift box; add a gift card at checkout.",
    ),
    product(
        GIFTS,
        "DEMO-GIFT-005",
        "Matcha Starter Kit",
        "Uji Hills",
        6900,
        8,
        "Ceremonial matcha, a bamboo whisk, a scoop and a bowl.",
    ),
    product(
        TEA,
        "DEMO-TEA-011",
        "Breakfast Blend, loose leaf",
        "Leafy",
        650,
        0,
        "Assam, Ceylon and Kenyan leaf for a brisk morning cup, in three sizes of pouch.",
    )
    .sold_as(
        &[("Weight", &["50 g", "100 g", "250 g"])],
        &[
            variant("DEMO-TEA-011-50G", &["50 g"], None, 40),
            variant("DEMO-TEA-011-100G", &["100 g"], Some(1150), 60),
            variant("DEMO-TEA-011-250G", &["250 g"], Some(2490), 25),
        ],
    ),
    product(
        COFFEE,
        "DEMO-COF-010",
        "House Filter Roast",
        "North Roast",
        1350,
        0,
        "A medium roast for drip and pour-over, as whole beans or ground for filter.",
    )
    .sold_as(
        &[("Weight", &["250 g", "1 kg"]), ("Grind", &["Whole bean", "Filter"])],
        &[
            variant("DEMO-COF-010-250-BEAN", &["250 g", "Whole bean"], None, 30),
            variant("DEMO-COF-010-250-FILTER", &["250 g", "Filter"], None, 30),
            variant("DEMO-COF-010-1K-BEAN", &["1 kg", "Whole bean"], Some(4500), 12),
            variant("DEMO-COF-010-1K-FILTER", &["1 kg", "Filter"], Some(4500), 8),
        ],
    ),
    product(
        CUPS,
        "DEMO-CUP-010",
        "Glazed Tea Bowl, 250 ml",
        "Kiln & Co.",
        2600,
        0,
        "Wheel-thrown stoneware in three glazes; no two bowls quite alike.",
    )
    .sold_as(
        &[("Colour", &["Celadon", "Tenmoku", "Shino"])],
        &[
            coloured("DEMO-CUP-010-CELADON", &["Celadon"], 12, [140, 190, 160]),
            coloured("DEMO-CUP-010-TENMOKU", &["Tenmoku"], 9, [92, 54, 38]),
            coloured("DEMO-CUP-010-SHINO", &["Shino"], 6, [222, 188, 150]),
        ],
    ),
    product(
        GEAR,
        "DEMO-GEAR-011",
        "Barista Apron, waxed canvas",
        "Mill Works",
        3400,
        0,
        "Waxed cotton canvas with leather straps and a pocket for the thermometer.",
    )
    .sold_as(
        &[("Size", &["S", "M", "L"])],
        &[
            variant("DEMO-GEAR-011-S", &["S"], None, 10),
            variant("DEMO-GEAR-011-M", &["M"], None, 15),
            variant("DEMO-GEAR-011-L", &["L"], Some(3700), 8),
        ],
    ),
];

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn every_product_has_a_category_with_a_look_and_its_own_picture() {
        let mut pictures = BTreeSet::new();
        for product in PRODUCTS {
            assert!(CATEGORIES.iter().any(|(name, _)| *name == product.category), "{}", product.sku);
            // `picture` finds the look or panics.
            pictures.insert(format!("{:?}", product.picture()));
            for variant in product.variants {
                if let Some(picture) = product.picture_of(variant) {
                    pictures.insert(format!("{picture:?}"));
                }
            }
        }
        assert_eq!(LOOKS.len(), CATEGORIES.len());
        let images: usize = PRODUCTS.iter().map(DemoProduct::image_count).sum();
        assert_eq!(pictures.len(), images, "no two pictures alike");
    }

    #[test]
    fn variants_name_one_value_per_option_and_every_sku_is_unique() {
        let mut skus = BTreeSet::new();
        for product in PRODUCTS {
            assert!(skus.insert(product.sku), "{} twice", product.sku);
            for variant in product.variants {
                assert!(skus.insert(variant.sku), "{} twice", variant.sku);
                assert_eq!(variant.values.len(), product.options.len(), "{}", variant.sku);
                for ((name, values), value) in product.options.iter().zip(variant.values) {
                    assert!(values.contains(value), "{}: {name} {value}", variant.sku);
                }
            }
            assert_eq!(product.options.is_empty(), product.variants.is_empty(), "{}", product.sku);
            if !product.variants.is_empty() {
                assert_eq!(product.stock, 0, "{}: the variants have the stock", product.sku);
            }
        }
        let sold_in_variants = PRODUCTS.iter().filter(|p| !p.variants.is_empty()).count();
        assert!((3..=5).contains(&sold_in_variants), "a few products have variants");
        assert!(PRODUCTS.iter().flat_map(|p| p.variants).any(|v| v.colour.is_some()), "a variant has its own picture");
    }
}
