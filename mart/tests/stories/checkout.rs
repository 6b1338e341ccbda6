//! Checkout, cart to paid order to notified customer, through the edge.

use http::StatusCode;
use mart_platform::test_util::eventually;
use serde_json::json;
use svc_payment::stripe_fake::FakeStripe;

use crate::support::{ADMIN_EMAIL, Payments, TestShop};

#[tokio::test]
async fn register_browse_cart_order_pay_by_hand_and_be_notified() {
    let shop = TestShop::start(Payments::Manual).await;
    let admin = shop.login(ADMIN_EMAIL).await;
    let tea = shop.product(&admin, "TEA-1", 1250, 5).await;
    let (ada, address) = shop.customer("ada@example.com").await;

    // Browse and fill the cart: the price comes from the catalog.
    let listed = shop.http.get("/v1/products?q=TEA", None).await;
    assert_eq!(listed.json["products"][0]["id"], tea.as_str());
    let added = shop.http.send("POST", "/v1/cart/items", Some(&ada), json!({"productId": tea, "quantity": 2})).await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.json);
    let cart = shop.http.get("/v1/cart", Some(&ada)).await;
    assert_eq!(cart.json["cart"]["subtotal"], json!({"amountMinor": "2500", "currency": "USD"}), "{}", cart.json);

    // Place the order, with an idempotency key: a double click gives the same order.
    let place = || async {
        let bearer = format!("Bearer {ada}");
        let body = json!({"addressId": address}).to_string();
        shop.http
            .call(
                "POST",
                "/v1/orders",
                &[
                    ("authorization", bearer.as_str()),
                    ("content-type", "application/json"),
                    ("idempotency-key", "click-1"),
                ],
                body,
            )
            .await
    };
    let placed = place().await;
    assert_eq!(placed.status, StatusCode::OK, "{}", placed.json);
    let order_id = placed.json["order"]["id"].as_str().unwrap().to_owned();
    assert_eq!(placed.json["order"]["status"], "ORDER_STATUS_PENDING");
    assert_eq!(place().await.json["order"]["id"], order_id.as_str());
    assert_eq!(shop.http.get("/v1/cart", Some(&ada)).await.json["cart"]["lines"], json!([]));

    // Stock is reserved, the order awaits payment, and a manual payment waits for the admin.
    let order = shop.order_reaches(&order_id, &ada, "ORDER_STATUS_AWAITING_PAYMENT").await;
    assert_eq!(order["total"]["amountMinor"], "2500");
    shop.stock_is(&tea, &admin, 5, 2).await;
    let payment = eventually("the payment", || async {
        let payment = shop.http.get(&format!("/v1/orders/{order_id}/payment"), Some(&ada)).await;
        (payment.status == StatusCode::OK).then_some(payment.json)
    })
    .await;
    assert_eq!(payment["payment"]["provider"], "PAYMENT_PROVIDER_MANUAL");
    assert_eq!(payment["payment"]["status"], "PAYMENT_STATUS_PENDING");

    // Only an admin may confirm it.
    let by_customer =
        shop.http.send("POST", &format!("/v1/orders/{order_id}/payment:confirm"), Some(&ada), json!({})).await;
    assert_eq!(by_customer.status, StatusCode::FORBIDDEN);
    let confirmed =
        shop.http.send("POST", &format!("/v1/orders/{order_id}/payment:confirm"), Some(&admin), json!({})).await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.json);

    // Paid; the reserved units are sold; the customer hears about it by inbox and email.
    shop.order_reaches(&order_id, &ada, "ORDER_STATUS_PAID").await;
    shop.stock_is(&tea, &admin, 3, 0).await;
    let mails = shop
        .smtp
        .wait_for("welcome, order placed and payment emails", |mails| {
            mails.iter().filter(|m| m.to == ["ada@example.com"]).count() >= 3
        })
        .await;
    let subjects: Vec<_> = mails.iter().filter(|m| m.to == ["ada@example.com"]).filter_map(|m| m.subject()).collect();
    assert_eq!(subjects.len(), 3, "one email each for welcome, placed and paid: {subjects:?}");
    eventually("the inbox", || async {
        let inbox = shop.inbox(&ada).await;
        (inbox == ["WELCOME", "ORDER_PLACED", "PAYMENT_SUCCEEDED"]).then_some(())
    })
    .await;

    // The admin ships it; the customer cannot cancel any more.
    let shipped = shop
        .http
        .send(
            "POST",
            &format!("/v1/orders/{order_id}:ship"),
            Some(&admin),
            json!({"carrier": "DHL", "trackingNumber": "123"}),
        )
        .await;
    assert_eq!(shipped.status, StatusCode::OK, "{}", shipped.json);
    let cancel = shop.http.send("POST", &format!("/v1/orders/{order_id}:cancel"), Some(&ada), json!({})).await;
    assert_eq!(cancel.status, StatusCode::CONFLICT, "{}", cancel.json);
    shop.stop().await;
}

#[tokio::test]
async fn a_card_payment_through_stripe_ends_paid_and_a_forged_webhook_changes_nothing() {
    let stripe = FakeStripe::start().await;
    let shop = TestShop::start(Payments::Stripe {
        base_url: stripe.base_url(),
        secret_key: stripe.secret_key(),
        webhook_secret: stripe.webhook_secret(),
    })
    .await;
    let admin = shop.login(ADMIN_EMAIL).await;
    let mug = shop.product(&admin, "MUG-1", 900, 3).await;
    let (bob, address) = shop.customer("bob@example.com").await;
    shop.http.send("POST", "/v1/cart/items", Some(&bob), json!({"productId": mug, "quantity": 1})).await;
    let placed =
        shop.http.send("POST", "/v1/orders", Some(&bob), json!({"addressId": address, "requestId": "r-1"})).await;
    assert_eq!(placed.status, StatusCode::OK, "{}", placed.json);
    let order_id = placed.json["order"]["id"].as_str().unwrap().to_owned();
    shop.order_reaches(&order_id, &bob, "ORDER_STATUS_AWAITING_PAYMENT").await;

    // The PaymentIntent exists at Stripe for the order's total; the shop front gets its secret.
    let payment = eventually("the PaymentIntent", || async {
        let payment = shop.http.get(&format!("/v1/orders/{order_id}/payment"), Some(&bob)).await;
        (payment.json["payment"]["clientSecret"].as_str().is_some_and(|s| !s.is_empty())).then_some(payment.json)
    })
    .await;
    assert_eq!(payment["payment"]["provider"], "PAYMENT_PROVIDER_STRIPE");
    let intents = stripe.intents();
    assert_eq!(intents.len(), 1);
    assert_eq!((intents[0].amount, intents[0].metadata.get("order_id")), (900, Some(&order_id)));

    // A webhook with a forged signature is refused at the door of the service: 400, no effect.
    let webhook = stripe.succeed(&intents[0].id);
    let deliver = |signature: &str| {
        let (body, signature) = (webhook.body.clone(), signature.to_owned());
        let http = shop.http.clone();
        async move {
            http.call(
                "POST",
                "/v1/payments/stripe/webhook",
                &[("content-type", "application/json"), ("stripe-signature", &signature)],
                body,
            )
            .await
        }
    };
    let forged = deliver("t=1700000000,v1=0000000000000000000000000000000000000000000000000000000000000000").await;
    assert_eq!(forged.status, StatusCode::BAD_REQUEST, "{}", forged.json);
    assert_eq!(
        shop.http.get(&format!("/v1/orders/{order_id}"), Some(&bob)).await.json["order"]["status"],
        "ORDER_STATUS_AWAITING_PAYMENT"
    );

    // The real one, through the edge as raw bytes: paid. Delivered twice: still one effect.
    let accepted = deliver(&webhook.signature).await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.json);
    assert_eq!(deliver(&webhook.signature).await.status, StatusCode::OK);
    shop.order_reaches(&order_id, &bob, "ORDER_STATUS_PAID").await;
    shop.stock_is(&mug, &admin, 2, 0).await;

    // Cancelling a paid order refunds it once, and gives the unit back.
    let cancelled = shop
        .http
        .send("POST", &format!("/v1/orders/{order_id}:cancel"), Some(&bob), json!({"reason": "changed my mind"}))
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.json);
    eventually("the refund", || async { (stripe.refunds().len() == 1).then_some(()) }).await;
    shop.stock_is(&mug, &admin, 3, 0).await;
    assert_eq!(stripe.intents().len(), 1);
    shop.stop().await;
}
