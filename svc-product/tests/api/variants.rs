//! A clothing shop's catalog: a Tee in three sizes and two colours, each combination its own
//! SKU, price and stock; variants added, re-priced and archived later; images in order;
//! a storefront filtering by size and drawing its sidebar from the facet counts; svc-order
//! looking variants up; and a catalog from before variants upgraded with nothing lost.

use mart_platform::{
    db_tests,
    test_util::{Collector, TestDb, eventually, publish},
};
use mart_proto::{
    common::OptionValue,
    events::{StockLine, StockReserved, envelope::Payload},
    product as pb,
};
use prost_types::FieldMask;
use sea_orm::{ConnectionTrait, Statement};
use sea_orm_migration::MigratorTrait;
use tonic::Code;

use crate::support::{Inventory, TestApp, authed, bad_fields, eur, new_product, reason, stand_in_inventory};

db_tests!(
    a_tee_comes_in_sizes_and_colours,
    bad_options_and_variants_are_named,
    variants_are_added_repriced_and_archived,
    images_are_ordered_and_variants_show_them,
    the_storefront_filters_by_option_and_counts_facets,
    stock_announcements_decide_what_is_in_stock,
    order_service_looks_variants_up,
    a_catalog_from_before_variants_keeps_everything,
);

fn value(name: &str, value: &str) -> OptionValue {
    OptionValue { name: name.into(), value: value.into() }
}

fn mask(paths: &[&str]) -> Option<FieldMask> {
    Some(FieldMask { paths: paths.iter().map(|p| (*p).to_owned()).collect() })
}

/// "Tee" with Size {S, M, L} × Colour {Red, Blue}: the M ones 2.00 dearer, Blue/L with one
/// unit left, every other combination with 10, Red/S with a picture of its own.
fn tee(category_id: &str) -> pb::CreateProductRequest {
    let mut variants = Vec::new();
    for size in ["S", "M", "L"] {
        for colour in ["Red", "Blue"] {
            variants.push(pb::NewVariant {
                sku: format!("TEE-{}-{size}", colour.to_uppercase()),
                option_values: vec![value("Size", size), value("Colour", colour)],
                price: (size == "M").then(|| eur(1700)),
                initial_stock: Some(if (size, colour) == ("L", "Blue") { 1 } else { 10 }),
                image: ((size, colour) == ("S", "Red")).then(|| pb::NewProductImage {
                    url: "https://cdn.example/tee-red.png".into(),
                    alt: "A red tee".into(),
                    ..Default::default()
                }),
            });
        }
    }
    pb::CreateProductRequest {
        brand: "Threadly".into(),
        options: vec![
            pb::ProductOption { name: "Size".into(), values: vec!["S".into(), "M".into(), "L".into()] },
            pb::ProductOption { name: "Colour".into(), values: vec!["Red".into(), "Blue".into()] },
        ],
        variants,
        images: vec![pb::NewProductImage {
            url: "https://cdn.example/tee.png".into(),
            alt: "The tee".into(),
            ..Default::default()
        }],
        ..new_product(category_id, "TEE", "Tee", 1500)
    }
}

fn variant<'a>(product: &'a pb::Product, title: &str) -> &'a pb::Variant {
    product.variants.iter().find(|v| v.title == title).unwrap_or_else(|| panic!("no variant {title}"))
}

async fn a_tee_comes_in_sizes_and_colours(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let consumer = Collector::start(&app.bus, &["mart.product.events"]).await;
    let clothes = app.category("Clothes").await;
    let created = app.create(tee(&clothes.id)).await.unwrap();

    assert_eq!(created.options.len(), 2);
    assert_eq!(created.variants.len(), 6);
    let mut skus: Vec<_> = created.variants.iter().map(|v| v.sku.clone()).collect();
    skus.sort();
    skus.dedup();
    assert_eq!(skus.len(), 6, "every variant its own SKU");
    let red_m = variant(&created, "Size: M, Colour: Red");
    assert_eq!((red_m.price.clone(), red_m.unit_price.clone()), (Some(eur(1700)), Some(eur(1700))));
    let blue_s = variant(&created, "Size: S, Colour: Blue");
    assert_eq!((blue_s.price.clone(), blue_s.unit_price.clone()), (None, Some(eur(1500))));
    assert_eq!(blue_s.option_values, [value("Size", "S"), value("Colour", "Blue")]);
    assert_ne!(blue_s.id, created.id, "a product with options has no default variant");
    assert_eq!(created.price_range, Some(pb::PriceRange { min: Some(eur(1500)), max: Some(eur(1700)) }));
    assert!(created.in_stock);

    // The product's own image first, then Red/S's, which Red/S shows.
    let urls: Vec<_> = created.images.iter().map(|i| (i.url.as_str(), i.position)).collect();
    assert_eq!(urls, [("https://cdn.example/tee.png", 0), ("https://cdn.example/tee-red.png", 1)]);
    let red_s = variant(&created, "Size: S, Colour: Red");
    assert_eq!(red_s.image_id, created.images[1].id);
    assert_eq!(red_s.image_url, "https://cdn.example/tee-red.png");
    assert_eq!(created.images[1].variant_id, red_s.id);

    assert_eq!(app.get(&created.id).await.unwrap(), created);

    // The events tell svc-inventory every variant's opening stock.
    let events = consumer.wait_for("ProductCreated", |events| !events.is_empty()).await;
    let Some(Payload::ProductCreated(event)) = events[0].payload.clone() else { panic!("{events:?}") };
    assert_eq!(event.variants.len(), 6);
    let blue_l = variant(&created, "Size: L, Colour: Blue");
    assert!(event.variants.iter().any(|v| v.variant_id == blue_l.id && v.initial_stock == 1 && v.sku == "TEE-BLUE-L"));
    assert_eq!(event.initial_stock, 51);

    // A plain product is what it always was, with one default variant under its own id.
    let tea = app.product(&clothes.id, "SOCKS-1", "Socks", 499).await;
    assert_eq!(tea.variants.len(), 1);
    assert_eq!((tea.variants[0].id.as_str(), tea.variants[0].sku.as_str()), (tea.id.as_str(), "SOCKS-1"));
    assert!(tea.options.is_empty() && tea.variants[0].title.is_empty());
    assert_eq!(tea.price_range, Some(pb::PriceRange { min: Some(eur(499)), max: Some(eur(499)) }));
    consumer.stop().await;
}

async fn bad_options_and_variants_are_named(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let clothes = app.category("Clothes").await;

    let no_variants = pb::CreateProductRequest { variants: vec![], ..tee(&clothes.id) };
    assert_eq!(bad_fields(&app.create(no_variants).await.unwrap_err()), ["variants"]);

    let mut twice = tee(&clothes.id);
    twice.variants[1].option_values = twice.variants[0].option_values.clone();
    twice.initial_stock = Some(3);
    let fields = bad_fields(&app.create(twice).await.unwrap_err());
    assert_eq!(fields, ["initial_stock", "variants[1].option_values"]);

    let mut unknown = tee(&clothes.id);
    unknown.variants[0].option_values = vec![value("Size", "XXL"), value("Fit", "Slim")];
    unknown.variants[2].sku = "TEE RED".into();
    let fields = bad_fields(&app.create(unknown).await.unwrap_err());
    assert_eq!(
        fields,
        [
            "variants[0].option_values[0].value",
            "variants[0].option_values[1].name",
            "variants[0].option_values",
            "variants[2].sku"
        ]
    );

    let without_options =
        pb::CreateProductRequest { variants: tee(&clothes.id).variants, ..new_product(&clothes.id, "CAP", "Cap", 900) };
    assert_eq!(bad_fields(&app.create(without_options).await.unwrap_err()), ["variants"]);

    // A variant SKU already sold elsewhere is the variant's field that is taken.
    app.product(&clothes.id, "TEE-BLUE-M", "Old tee", 900).await;
    let taken = app.create(tee(&clothes.id)).await.unwrap_err();
    assert_eq!(taken.code(), Code::AlreadyExists);
    assert!(taken.message().contains("SKU"), "{taken:?}");
    assert_eq!(bad_fields_of_conflict(&taken), ["variants[3].sku"]);
    // Nothing half-made: the Tee does not exist.
    assert_eq!(app.list_skus(pb::ListProductsRequest::default()).await, ["TEE-BLUE-M"]);
}

/// The field an ALREADY_EXISTS names (in its BadRequest details, as CreateProduct's SKU
/// conflict always has).
fn bad_fields_of_conflict(status: &tonic::Status) -> Vec<String> {
    use tonic_types::StatusExt;
    status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}

async fn variants_are_added_repriced_and_archived(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let mut client = app.client();
    let clothes = app.category("Clothes").await;
    let created = app.create(tee(&clothes.id)).await.unwrap();

    // XL is new: it joins the Size option.
    let added = client
        .add_variant(authed(
            &app.admin,
            pb::AddVariantRequest {
                product_id: created.id.clone(),
                variant: Some(pb::NewVariant {
                    sku: "TEE-RED-XL".into(),
                    option_values: vec![value("colour", "red"), value("Size", "XL")],
                    price: Some(eur(1900)),
                    initial_stock: Some(4),
                    image: None,
                }),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let xl = added.variant.unwrap();
    assert_eq!(xl.title, "Size: XL, Colour: Red");
    let product = added.product.unwrap();
    assert_eq!(product.options[0].values, ["S", "M", "L", "XL"]);
    assert_eq!(product.price_range.unwrap().max, Some(eur(1900)));

    // The same combination again, or a SKU in use, is a conflict; a product without
    // options has no room for a second variant.
    let again = pb::AddVariantRequest {
        product_id: created.id.clone(),
        variant: Some(pb::NewVariant {
            sku: "TEE-RED-XL2".into(),
            option_values: vec![value("Size", "xl"), value("Colour", "Red")],
            ..Default::default()
        }),
    };
    assert_eq!(client.add_variant(authed(&app.admin, again)).await.unwrap_err().code(), Code::AlreadyExists);
    let socks = app.product(&clothes.id, "SOCKS-1", "Socks", 499).await;
    let refused = client
        .add_variant(authed(
            &app.admin,
            pb::AddVariantRequest {
                product_id: socks.id.clone(),
                variant: Some(pb::NewVariant { sku: "SOCKS-2".into(), ..Default::default() }),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!((refused.code(), reason(&refused).as_str()), (Code::FailedPrecondition, "PRODUCT_HAS_NO_OPTIONS"));

    // Re-priced, then back to the product's price.
    let red_l = variant(&created, "Size: L, Colour: Red").clone();
    let update = |price: Option<i64>| pb::UpdateVariantRequest {
        product_id: created.id.clone(),
        variant_id: red_l.id.clone(),
        variant: Some(pb::Variant { price: price.map(eur), ..Default::default() }),
        update_mask: mask(&["price"]),
    };
    let repriced = client.update_variant(authed(&app.admin, update(Some(1200)))).await.unwrap().into_inner();
    assert_eq!(repriced.variant.unwrap().unit_price, Some(eur(1200)));
    assert_eq!(repriced.product.unwrap().price_range.unwrap().min, Some(eur(1200)));
    let back = client.update_variant(authed(&app.admin, update(None))).await.unwrap().into_inner();
    assert_eq!(back.variant.unwrap().unit_price, Some(eur(1500)));
    let bad_mask = pb::UpdateVariantRequest { update_mask: mask(&["options"]), ..update(None) };
    assert_eq!(bad_fields(&client.update_variant(authed(&app.admin, bad_mask)).await.unwrap_err()), ["update_mask"]);
    let elsewhere = pb::UpdateVariantRequest { product_id: socks.id.clone(), ..update(None) };
    assert_eq!(client.update_variant(authed(&app.admin, elsewhere)).await.unwrap_err().code(), Code::NotFound);

    // A single-variant product's SKU is its variant's, whichever way it changes.
    let renamed = client
        .update_variant(authed(
            &app.admin,
            pb::UpdateVariantRequest {
                product_id: socks.id.clone(),
                variant_id: socks.id.clone(),
                variant: Some(pb::Variant { sku: "SOCKS-BLACK".into(), ..Default::default() }),
                update_mask: mask(&["sku"]),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .product
        .unwrap();
    assert_eq!((renamed.sku.as_str(), renamed.variants[0].sku.as_str()), ("SOCKS-BLACK", "SOCKS-BLACK"));

    // Archived variants stay on the product page but cannot change; the last one takes
    // the product with it.
    let archive = |variant_id: String| pb::ArchiveVariantRequest { product_id: created.id.clone(), variant_id };
    let after = client.archive_variant(authed(&app.admin, archive(red_l.id.clone()))).await.unwrap().into_inner();
    let after = after.product.unwrap();
    assert_eq!(variant(&after, "Size: L, Colour: Red").status(), pb::VariantStatus::Archived);
    assert_eq!(after.status(), pb::ProductStatus::Active);
    let refused = client.update_variant(authed(&app.admin, update(Some(100)))).await.unwrap_err();
    assert_eq!(reason(&refused), "VARIANT_ARCHIVED");
    client.archive_variant(authed(&app.admin, archive(red_l.id.clone()))).await.expect("archiving twice is fine");
    let mut last = None;
    for v in after.variants.iter().filter(|v| v.status() == pb::VariantStatus::Active) {
        last = Some(client.archive_variant(authed(&app.admin, archive(v.id.clone()))).await.unwrap().into_inner());
    }
    let last = last.unwrap().product.unwrap();
    assert_eq!(last.status(), pb::ProductStatus::Archived);
    assert!(app.list_skus(pb::ListProductsRequest::default()).await.iter().all(|sku| sku != "TEE"));
}

async fn images_are_ordered_and_variants_show_them(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let mut client = app.client();
    let clothes = app.category("Clothes").await;
    let created = app.create(tee(&clothes.id)).await.unwrap();
    let blue_m = variant(&created, "Size: M, Colour: Blue").clone();

    let add = |url: &str, variant_id: &str, position: Option<i32>| pb::AddProductImageRequest {
        product_id: created.id.clone(),
        url: url.into(),
        alt: "tee".into(),
        variant_id: variant_id.into(),
        position,
        ..Default::default()
    };
    let front = client
        .add_product_image(authed(&app.admin, add("https://cdn.example/front.png", "", Some(0))))
        .await
        .unwrap()
        .into_inner();
    let order: Vec<_> = front.product.unwrap().images.iter().map(|i| i.url.clone()).collect();
    assert_eq!(
        order,
        ["https://cdn.example/front.png", "https://cdn.example/tee.png", "https://cdn.example/tee-red.png"]
    );
    let blue = client
        .add_product_image(authed(&app.admin, add("https://cdn.example/blue.png", &blue_m.id, None)))
        .await
        .unwrap()
        .into_inner();
    let blue_image = blue.image.unwrap();
    assert_eq!(blue_image.position, 3);
    assert_eq!(variant(&blue.product.unwrap(), "Size: M, Colour: Blue").image_url, "https://cdn.example/blue.png");

    // Bad images are named: neither source, both, a made-up media id, someone else's variant.
    let neither = add("", "", None);
    assert_eq!(bad_fields(&client.add_product_image(authed(&app.admin, neither)).await.unwrap_err()), ["media_id"]);
    let both = pb::AddProductImageRequest { media_id: "a".repeat(64), ..add("https://x.example/a.png", "", None) };
    assert_eq!(bad_fields(&client.add_product_image(authed(&app.admin, both)).await.unwrap_err()), ["url"]);
    let never_uploaded = pb::AddProductImageRequest { media_id: "b".repeat(64), ..add("", "", None) };
    assert_eq!(
        bad_fields(&client.add_product_image(authed(&app.admin, never_uploaded)).await.unwrap_err()),
        ["media_id"]
    );
    let stranger = add("https://cdn.example/x.png", &uuid::Uuid::now_v7().to_string(), None);
    assert_eq!(bad_fields(&client.add_product_image(authed(&app.admin, stranger)).await.unwrap_err()), ["variant_id"]);
    let customer = client.add_product_image(authed(&app.customer, add("https://cdn.example/y.png", "", None))).await;
    assert_eq!(customer.unwrap_err().code(), Code::PermissionDenied);

    // Removing an image closes the gap, and the variant that showed it shows none.
    let removed = client
        .remove_product_image(authed(
            &app.admin,
            pb::RemoveProductImageRequest { product_id: created.id.clone(), image_id: blue_image.id.clone() },
        ))
        .await
        .unwrap()
        .into_inner()
        .product
        .unwrap();
    assert_eq!(removed.images.iter().map(|i| i.position).collect::<Vec<_>>(), [0, 1, 2]);
    assert_eq!(variant(&removed, "Size: M, Colour: Blue").image_url, "");
    let gone = client
        .remove_product_image(authed(
            &app.admin,
            pb::RemoveProductImageRequest { product_id: created.id.clone(), image_id: blue_image.id },
        ))
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);
    // Lists carry the images too, for the product grid.
    let listed = app.list(pb::ListProductsRequest::default()).await.unwrap();
    assert_eq!(listed.products[0].images.len(), 3);
    assert!(listed.products[0].variants.is_empty());
}

async fn the_storefront_filters_by_option_and_counts_facets(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let clothes = app.category("Clothes").await;
    let tea = app.category("Tea").await;
    app.create(tee(&clothes.id)).await.unwrap();
    let hoodie = pb::CreateProductRequest {
        brand: "Threadly".into(),
        options: vec![pb::ProductOption { name: "Size".into(), values: vec!["M".into(), "L".into()] }],
        variants: vec![
            pb::NewVariant { sku: "HOOD-M".into(), option_values: vec![value("Size", "M")], ..Default::default() },
            pb::NewVariant {
                sku: "HOOD-L".into(),
                option_values: vec![value("Size", "L")],
                initial_stock: Some(2),
                ..Default::default()
            },
        ],
        ..new_product(&clothes.id, "HOOD", "Hoodie", 4500)
    };
    app.create(hoodie).await.unwrap();
    let sencha = pb::CreateProductRequest {
        brand: "Leafwise".into(),
        options: vec![pb::ProductOption { name: "Weight".into(), values: vec!["50g".into(), "100g".into()] }],
        variants: vec![
            pb::NewVariant { sku: "SEN-50".into(), option_values: vec![value("Weight", "50g")], ..Default::default() },
            pb::NewVariant {
                sku: "SEN-100".into(),
                option_values: vec![value("Weight", "100g")],
                price: Some(eur(1800)),
                ..Default::default()
            },
        ],
        ..new_product(&tea.id, "SENCHA", "Sencha", 1000)
    };
    app.create(sencha).await.unwrap();
    app.product(&tea.id, "MATCHA", "Matcha", 2500).await;

    let list = |option: &[&str], in_stock: Option<bool>| pb::ListProductsRequest {
        option: option.iter().map(|o| (*o).to_owned()).collect(),
        in_stock,
        page_size: 100,
        ..Default::default()
    };
    let skus = |response: &pb::ListProductsResponse| {
        let mut skus: Vec<_> = response.products.iter().map(|p| p.sku.clone()).collect();
        skus.sort();
        skus
    };

    let all = app.list(list(&[], None)).await.unwrap();
    assert_eq!(skus(&all), ["HOOD", "MATCHA", "SENCHA", "TEE"]);
    let facets = all.facets.clone().unwrap();
    let counts = |values: &[pb::FacetCount]| values.iter().map(|v| (v.label.clone(), v.count)).collect::<Vec<_>>();
    assert_eq!(counts(&facets.categories), [("Clothes".to_owned(), 2), ("Tea".to_owned(), 2)]);
    assert_eq!(counts(&facets.brands), [("Threadly".to_owned(), 2), ("Leafwise".to_owned(), 1)]);
    let size = facets.options.iter().find(|o| o.name == "Size").unwrap();
    assert_eq!(counts(&size.values), [("L".to_owned(), 2), ("M".to_owned(), 2), ("S".to_owned(), 1)]);

    // Size M: the Tee and the Hoodie; the sidebar then counts within that.
    let m = app.list(list(&["size:m"], None)).await.unwrap();
    assert_eq!(skus(&m), ["HOOD", "TEE"]);
    let m_facets = m.facets.unwrap();
    assert_eq!(counts(&m_facets.categories), [("Clothes".to_owned(), 2)]);
    // Every facet count matches what filtering by that value lists.
    for facet in &facets.options {
        for v in &facet.values {
            let filter = format!("{}:{}", facet.name, v.value);
            let listed = app.list(list(&[filter.as_str()], None)).await.unwrap();
            assert_eq!(listed.products.len() as i32, v.count, "{filter}");
        }
    }
    for category in &facets.categories {
        let listed = app
            .list(pb::ListProductsRequest { category_id: category.value.clone(), page_size: 100, ..Default::default() })
            .await
            .unwrap();
        assert_eq!(listed.products.len() as i32, category.count);
    }
    // Two values must be one variant's: no Tee is S and... every Tee colour exists in S, but
    // the Hoodie has no colour at all.
    assert_eq!(skus(&app.list(list(&["Size:S", "Colour:Blue"], None)).await.unwrap()), ["TEE"]);
    assert!(app.list(list(&["Size:M", "Weight:50g"], None)).await.unwrap().products.is_empty());

    // In stock: Sencha and Matcha were created with none.
    assert_eq!(skus(&app.list(list(&[], Some(true))).await.unwrap()), ["HOOD", "TEE"]);
    assert_eq!(skus(&app.list(list(&[], Some(false))).await.unwrap()), ["MATCHA", "SENCHA"]);

    // Text search finds variant SKUs; price filters and sort see the range.
    let by_sku = app.list(pb::ListProductsRequest { q: "sen-100".into(), ..Default::default() }).await.unwrap();
    assert_eq!(skus(&by_sku), ["SENCHA"]);
    let dear = app.list(pb::ListProductsRequest { min_price: Some(1700), ..list(&[], None) }).await.unwrap();
    assert_eq!(skus(&dear), ["HOOD", "MATCHA", "SENCHA", "TEE"]);
    let cheap = app.list(pb::ListProductsRequest { max_price: Some(1000), ..list(&[], None) }).await.unwrap();
    assert_eq!(skus(&cheap), ["SENCHA"]);
    let by_price = app
        .list(pb::ListProductsRequest { order_by: pb::ProductOrderBy::Price.into(), ..list(&[], None) })
        .await
        .unwrap();
    let order: Vec<_> = by_price.products.iter().map(|p| p.sku.as_str()).collect();
    assert_eq!(order, ["SENCHA", "TEE", "MATCHA", "HOOD"]);

    // Bad filters are named.
    assert_eq!(bad_fields(&app.list(list(&["Size"], None)).await.unwrap_err()), ["option[0]"]);
}

async fn stock_announcements_decide_what_is_in_stock(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let clothes = app.category("Clothes").await;
    let created = app.create(tee(&clothes.id)).await.unwrap();
    let in_stock = || async {
        let page = app.list(pb::ListProductsRequest { in_stock: Some(true), ..Default::default() }).await.unwrap();
        !page.products.is_empty()
    };
    assert!(in_stock().await);

    // svc-inventory announces every variant sold out, newest version last; an older
    // announcement arriving late changes nothing.
    let lines = |available: i32, version: i64| {
        created
            .variants
            .iter()
            .map(|v| StockLine {
                product_id: created.id.clone(),
                variant_id: v.id.clone(),
                quantity: 1,
                available,
                stock_version: version,
            })
            .collect::<Vec<_>>()
    };
    let reserved = |available, version| {
        Payload::StockReserved(StockReserved { order_id: "o".into(), lines: lines(available, version) })
    };
    publish(&app.bus, "order-2", reserved(0, 2)).await;
    eventually("the tee to sell out", || async { (!in_stock().await).then_some(()) }).await;
    publish(&app.bus, "order-1", reserved(9, 1)).await;
    publish(&app.bus, "order-3", reserved(0, 3)).await;
    eventually("the late event to be read", || async {
        let product = app.get(&created.id).await.ok()?;
        (!product.in_stock).then_some(())
    })
    .await;
    assert!(!in_stock().await, "an older version does not bring stock back");
    publish(&app.bus, "order-4", reserved(3, 4)).await;
    eventually("the tee to be back", || async { in_stock().await.then_some(()) }).await;
}

async fn order_service_looks_variants_up(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let mut client = app.client();
    let clothes = app.category("Clothes").await;
    let created = app.create(tee(&clothes.id)).await.unwrap();
    let socks = app.product(&clothes.id, "SOCKS-1", "Socks", 499).await;
    let red_m = variant(&created, "Size: M, Colour: Red").clone();
    let blue_s = variant(&created, "Size: S, Colour: Blue").clone();

    let found = client
        .batch_get_variants(pb::BatchGetVariantsRequest {
            ids: vec![red_m.id.clone(), socks.id.clone(), created.id.clone(), "nothing".into(), blue_s.id.clone()],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(found.ambiguous_product_ids, std::slice::from_ref(&created.id));
    assert_eq!(found.variants.len(), 3);
    let by = |id: &str| found.variants.iter().find(|v| v.requested_id == id).unwrap();
    let m = by(&red_m.id);
    assert_eq!((m.product_id.as_str(), m.product_name.as_str(), m.orderable), (created.id.as_str(), "Tee", true));
    let m_variant = m.variant.as_ref().unwrap();
    assert_eq!((m_variant.unit_price.clone(), m_variant.title.as_str()), (Some(eur(1700)), "Size: M, Colour: Red"));
    // A variant without an image of its own shows the product's first.
    assert_eq!(by(&blue_s.id).variant.as_ref().unwrap().image_url, "https://cdn.example/tee.png");
    let s = by(&socks.id);
    assert_eq!(
        (s.variant.as_ref().unwrap().id.as_str(), s.variant.as_ref().unwrap().sku.as_str()),
        (socks.id.as_str(), "SOCKS-1")
    );

    client
        .archive_variant(authed(
            &app.admin,
            pb::ArchiveVariantRequest { product_id: created.id.clone(), variant_id: red_m.id.clone() },
        ))
        .await
        .unwrap();
    let again = client
        .batch_get_variants(pb::BatchGetVariantsRequest { ids: vec![red_m.id.clone()] })
        .await
        .unwrap()
        .into_inner();
    assert!(!again.variants[0].orderable);

    let too_many = pb::BatchGetVariantsRequest { ids: (0..101).map(|i| format!("id-{i}")).collect() };
    assert_eq!(bad_fields(&client.batch_get_variants(too_many).await.unwrap_err()), ["ids"]);
}

/// A database made before variants: migrated to that point, filled the way the old
/// service wrote it, then upgraded by starting the new one.
async fn a_catalog_from_before_variants_keeps_everything(db: TestDb) {
    let conn = mart_platform::db::connect(&db.url).await.unwrap();
    // outbox, page-token key, catalog: what svc-product had before.
    svc_product::migration::Migrator::up(&conn, Some(3)).await.unwrap();
    let backend = conn.get_database_backend();
    let now = "2026-11-30 10:00:00+00:00";
    for sql in [
        format!(
            "INSERT INTO categories (id, name, name_key, description, created_at, updated_at) VALUES ('c1', 'Tea', 'tea', '', '{now}', '{now}')"
        ),
        format!(
            "INSERT INTO products (id, sku, name, name_key, description, brand, brand_key, search_text, price_minor, currency, \
             category_id, expires_at, status, created_at, updated_at) VALUES \
             ('p1', 'TEA-001', 'Sencha', 'sencha', 'Green', 'Leafwise', 'leafwise', 'sencha\nleafwise\ngreen', 1299, 'EUR', 'c1', NULL, 'active', '{now}', '{now}'), \
             ('p2', 'TEA-002', 'Old tea', 'old tea', '', '', '', 'old tea\n\n', 500, 'EUR', 'c1', NULL, 'archived', '{now}', '{now}')"
        ),
    ] {
        conn.execute(Statement::from_string(backend, sql)).await.unwrap();
    }
    drop(conn);

    // svc-inventory has 7 of everything: the catalog asks it about the variants it never
    // heard of, so the old product shows as in stock.
    let inventory = stand_in_inventory(Inventory::Available(7)).await;
    let app = TestApp::spawn_with(db, |config| config.peers.inventory = inventory).await;
    eventually("the stock sync to ask svc-inventory", || async {
        let listed = app.list(pb::ListProductsRequest { in_stock: Some(true), ..Default::default() }).await.ok()?;
        (listed.products.len() == 1).then_some(())
    })
    .await;
    let sencha = app.get("p1").await.unwrap();
    assert_eq!(sencha.variants[0].available_stock, Some(7));
    assert_eq!(
        (sencha.sku.as_str(), sencha.name.as_str(), sencha.price.clone()),
        ("TEA-001", "Sencha", Some(eur(1299)))
    );
    assert_eq!(sencha.variants.len(), 1);
    assert_eq!((sencha.variants[0].id.as_str(), sencha.variants[0].sku.as_str()), ("p1", "TEA-001"));
    assert_eq!(sencha.variants[0].status(), pb::VariantStatus::Active);
    assert_eq!(sencha.price_range, Some(pb::PriceRange { min: Some(eur(1299)), max: Some(eur(1299)) }));
    let old = app.get("p2").await.unwrap();
    assert_eq!((old.status(), old.variants[0].status()), (pb::ProductStatus::Archived, pb::VariantStatus::Archived));
    // Listed, sorted and searched as before, now by SKU too.
    assert_eq!(app.list_skus(pb::ListProductsRequest::default()).await, ["TEA-001"]);
    assert_eq!(app.list_skus(pb::ListProductsRequest { q: "green".into(), ..Default::default() }).await, ["TEA-001"]);
    assert_eq!(app.list_skus(pb::ListProductsRequest { q: "tea-001".into(), ..Default::default() }).await, ["TEA-001"]);
    // svc-order finds it under its own id, and the SKU stays taken.
    let found = app
        .client()
        .batch_get_variants(pb::BatchGetVariantsRequest { ids: vec!["p1".into()] })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(found.variants[0].variant.as_ref().unwrap().id, "p1");
    let category = sencha.category_id.clone();
    let taken = app.create(new_product(&category, "TEA-002", "Again", 100)).await.unwrap_err();
    assert_eq!(taken.code(), Code::AlreadyExists);
}
