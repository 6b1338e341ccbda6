//! The storefront at `/` and the admin console at `/admin/`, compiled into the edge: pages
//! never cached and under a policy that allows this origin only (and Stripe's when the shop
//! takes cards), hashed assets kept for a year, nothing loaded from elsewhere.

use http::StatusCode;

use crate::support::{Shop, settings};

/// The `/assets/…` paths `html` loads.
fn assets_of(html: &str) -> Vec<String> {
    let mut assets: Vec<String> =
        html.split(['"', '\'']).filter(|piece| piece.starts_with("/assets/")).map(str::to_owned).collect();
    assets.sort();
    assets.dedup();
    assets
}

#[tokio::test]
async fn the_storefront_and_the_admin_console_are_served_from_the_edge() {
    let shop = Shop::start(settings()).await;
    for (path, title) in [("/", "storefront"), ("/admin/", "admin")] {
        let page = shop.get(path, None).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert_eq!(page.headers["content-type"], "text/html; charset=utf-8", "{path}");
        assert_eq!(page.headers["cache-control"], "no-store", "{path}: a page is never kept");
        let policy = page.headers["content-security-policy"].to_str().unwrap();
        assert!(policy.starts_with("default-src 'self'; script-src 'self';"), "{path}: {policy}");
        assert!(policy.contains("connect-src 'self';") && !policy.contains("stripe"), "{path}: {policy}");
        let html = String::from_utf8(page.body.to_vec()).unwrap();
        assert!(!html.contains("http://") && !html.contains("https://"), "{path} ({title}) loads from elsewhere");

        // Its scripts and styles: hashed names, kept for good, of the right type.
        let assets = assets_of(&html);
        assert!(assets.iter().any(|a| a.ends_with(".js")), "{path}: {assets:?}");
        for asset in &assets {
            let answer = shop.get(asset, None).await;
            assert_eq!(answer.status, StatusCode::OK, "{asset}");
            assert_eq!(answer.headers["cache-control"], "public, max-age=31536000, immutable", "{asset}");
            let kind = answer.headers["content-type"].to_str().unwrap();
            let expected = if asset.ends_with(".js") {
                "text/javascript; charset=utf-8"
            } else if asset.ends_with(".css") {
                "text/css; charset=utf-8"
            } else {
                "image/svg+xml"
            };
            assert_eq!(kind, expected, "{asset}");
        }
    }
    let bare = shop.get("/admin", None).await;
    assert_eq!(bare.status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(bare.headers["location"], "/admin/");
    assert_eq!(shop.get("/assets/nothing-1234.js", None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(shop.get("/no-such-page", None).await.status, StatusCode::NOT_FOUND, "not every path is the shop");
    // The API is where it was.
    assert_eq!(shop.get("/v1/categories", None).await.status, StatusCode::OK);
    shop.stop().await;
}

#[tokio::test]
async fn a_shop_that_takes_cards_lets_stripe_into_its_pages() {
    let mut with_stripe = settings();
    with_stripe.card_payments = true;
    let shop = Shop::start(with_stripe).await;
    let page = shop.get("/", None).await;
    let policy = page.headers["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("script-src 'self' https://js.stripe.com;"), "{policy}");
    assert!(policy.contains("frame-src https://js.stripe.com https://hooks.stripe.com;"), "{policy}");
    assert!(policy.contains("connect-src 'self' https://api.stripe.com"), "{policy}");
    shop.stop().await;
}
