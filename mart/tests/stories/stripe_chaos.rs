//! A dozen card checkouts while Stripe misbehaves the whole time: PaymentIntents refused
//! with 503s at first, replies lost after Stripe acted, refunds refused then answered only
//! after 5 s, webhooks delivered twice or out of order, and the whole shop restarted while
//! refunds are still pending. At the end the shop owner's books balance, computed from the
//! system (the shop's REST API and Stripe's own ledger), not from the script: every
//! captured cent is in a shipped order or went back, once.

use std::{
    collections::{BTreeMap, BTreeSet},
    time::Duration,
};

use edge::test_client::HttpClient;
use http::StatusCode;
use mart_platform::test_util::within;
use serde_json::{Value, json};
use svc_payment::stripe_fake::{FakeStripe, Intent};

use crate::support::{ADMIN_EMAIL, Payments, Settings, TestShop};

const CUSTOMERS: usize = 12;
const MUG_PRICE: i64 = 900;
const TEA_PRICE: i64 = 1250;

/// The minor units of a Money in JSON; an absent or zero amount is 0.
fn minor(money: &Value) -> i64 {
    money["amountMinor"].as_str().map_or(0, |s| s.parse().expect("amountMinor is an integer"))
}

/// Customer `i`'s cart: (mug units, tea units).
fn cart(i: usize) -> (i32, i32) {
    let mugs = 1 + (i % 3) as i32;
    let teas = if i % 2 == 1 { 1 + ((i / 2) % 3) as i32 } else { 0 };
    (mugs, teas)
}

/// What the script does with order `i` once it awaits payment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    /// The customer cancels it before paying.
    CancelledUnpaid,
    /// Paid, then the customer cancels it (a refund).
    CancelledPaid,
    /// Paid, an admin gives one mug's price back, then ships it.
    PartlyRefundedThenShipped,
    /// Paid and shipped.
    Shipped,
}

fn fate(i: usize) -> Fate {
    match i {
        0 => Fate::CancelledUnpaid,
        1..=3 => Fate::CancelledPaid,
        4 => Fate::PartlyRefundedThenShipped,
        _ => Fate::Shipped,
    }
}

/// The succeeded webhook is delivered twice for these.
const TWICE: [usize; 3] = [1, 5, 6];
/// A decline from before the success arrives after it (Stripe does not order webhooks).
const STALE_DECLINE: [usize; 3] = [2, 7, 8];

/// Fills the cart and places the order, through the edge; the order id.
async fn place(http: HttpClient, token: String, address: String, lines: Vec<(String, i32)>) -> String {
    for (product, quantity) in &lines {
        let added = http
            .send("POST", "/v1/cart/items", Some(&token), json!({"productId": product, "quantity": quantity}))
            .await;
        assert_eq!(added.status, StatusCode::OK, "{}", added.json);
    }
    let placed = http.send("POST", "/v1/orders", Some(&token), json!({"addressId": address})).await;
    assert_eq!(placed.status, StatusCode::OK, "{}", placed.json);
    placed.json["order"]["id"].as_str().unwrap().to_owned()
}

/// The order and its payment as the admin sees them.
async fn books(shop: &TestShop, admin: &str, order_id: &str) -> (Value, Value) {
    let order = shop.http.get(&format!("/v1/orders/{order_id}"), Some(admin)).await;
    assert_eq!(order.status, StatusCode::OK, "{}", order.json);
    let payment = shop.http.get(&format!("/v1/orders/{order_id}/payment"), Some(admin)).await;
    (
        order.json["order"].clone(),
        if payment.status == StatusCode::OK { payment.json["payment"].clone() } else { Value::Null },
    )
}

/// The refunds of a payment with `status` (`REFUND_STATUS_…`).
fn refunds_in<'a>(payment: &'a Value, status: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    payment["refunds"].as_array().into_iter().flatten().filter(move |r| r["status"] == status)
}

/// The PaymentIntents Stripe holds for `order_id`.
fn intents_of<'a>(intents: &'a [Intent], order_id: &str) -> Vec<&'a Intent> {
    intents.iter().filter(|i| i.metadata.get("order_id").map(String::as_str) == Some(order_id)).collect()
}

/// The sum of `mart_payment_mismatches_total` over every service, from this process's
/// registry (what the operator's /metrics listener renders: the shop runs in-process and
/// nextest runs each test in a process of its own, so nothing else counts into it).
async fn mismatches() -> u64 {
    let text = mart_platform::metrics::render().await;
    text.lines()
        .filter(|line| line.starts_with("mart_payment_mismatches_total"))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

#[tokio::test]
async fn a_stripe_checkout_survives_a_misbehaving_stripe() {
    let story = tokio::time::timeout(Duration::from_secs(120), Box::pin(chaos())).await;
    story.expect("the chaos story finishes by itself");
}

async fn chaos() {
    mart_platform::metrics::install();
    let fake = FakeStripe::start().await;
    // Retries of an unavailable Stripe at most a second apart, so the story stays short.
    let settings =
        Settings { vars: vec![("MART_PAYMENT_RETRY_MAX_INTERVAL", "1s")], ..Settings::new(Payments::stripe(&fake)) };
    let shop = TestShop::start_with(settings).await;
    let admin = shop.login(ADMIN_EMAIL).await;
    let (mugs_needed, teas_needed) = (0..CUSTOMERS).map(cart).fold((0, 0), |(m, t), (dm, dt)| (m + dm, t + dt));
    // Limited stock: one mug to spare, not one tea.
    let initial: BTreeMap<&str, i32> = [("mug", mugs_needed + 1), ("tea", teas_needed)].into();
    let mug = shop.product(&admin, "MUG-1", MUG_PRICE, initial["mug"]).await;
    let tea = shop.product(&admin, "TEA-1", TEA_PRICE, initial["tea"]).await;
    let mut customers = Vec::new();
    for i in 0..CUSTOMERS {
        customers.push(shop.customer(&format!("c{i}@example.com")).await);
    }

    // Stripe refuses PaymentIntents for 3 s, and then loses the replies of two it made.
    fake.fail_for("/v1/payment_intents", Duration::from_secs(3));
    fake.lose_replies(2);
    let mut placing = tokio::task::JoinSet::new();
    for (i, (token, address)) in customers.iter().enumerate() {
        let (mugs, teas) = cart(i);
        let mut lines = vec![(mug.clone(), mugs)];
        if teas > 0 {
            lines.push((tea.clone(), teas));
        }
        let (http, token, address) = (shop.http.clone(), token.clone(), address.clone());
        placing.spawn(async move { (i, place(http, token, address, lines).await) });
    }
    let mut orders = vec![String::new(); CUSTOMERS];
    for (i, id) in placing.join_all().await {
        orders[i] = id;
    }

    // Each order comes to await payment once Stripe is back, with its PaymentIntent.
    let mut intents = vec![String::new(); CUSTOMERS];
    for (i, order_id) in orders.iter().enumerate() {
        let token = &customers[i].0;
        within(Duration::from_secs(30), &format!("order {i} awaiting payment with its PaymentIntent"), || async {
            let order = shop.http.get(&format!("/v1/orders/{order_id}"), Some(token)).await;
            let payment = shop.http.get(&format!("/v1/orders/{order_id}/payment"), Some(token)).await;
            (order.json["order"]["status"] == "ORDER_STATUS_AWAITING_PAYMENT"
                && payment.json["payment"]["clientSecret"].as_str().is_some_and(|s| !s.is_empty()))
            .then_some(())
        })
        .await;
        let all = fake.intents();
        let mine = intents_of(&all, order_id);
        assert_eq!(mine.len(), 1, "order {i}: one PaymentIntent, lost replies and 503s notwithstanding: {mine:?}");
        intents[i] = mine[0].id.clone();
    }

    // From now on refunds are refused for 2 s and, for a while, answered only after 5 s.
    fake.stall_for("/v1/refunds", Duration::from_secs(5), Duration::from_secs(14));
    fake.fail_for("/v1/refunds", Duration::from_secs(2));

    // Customers pay (one does not: they cancel first); webhooks come twice or out of order.
    for (i, order_id) in orders.iter().enumerate() {
        let token = &customers[i].0;
        if fate(i) == Fate::CancelledUnpaid {
            let cancelled = shop
                .http
                .send("POST", &format!("/v1/orders/{order_id}:cancel"), Some(token), json!({"reason": "not now"}))
                .await;
            assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.json);
            continue;
        }
        let stale = STALE_DECLINE.contains(&i).then(|| fake.decline(&intents[i], "insufficient_funds"));
        let paid = fake.succeed(&intents[i]);
        for _ in 0..if TWICE.contains(&i) { 2 } else { 1 } {
            let taken = shop.deliver(&paid).await;
            assert_eq!(taken.status, StatusCode::OK, "order {i}: {}", taken.json);
        }
        if let Some(stale) = stale {
            let taken = shop.deliver(&stale).await;
            assert_eq!(taken.status, StatusCode::OK, "order {i}: a stale decline is acknowledged: {}", taken.json);
        }
    }
    for (i, order_id) in orders.iter().enumerate() {
        if fate(i) != Fate::CancelledUnpaid {
            shop.order_reaches(order_id, &customers[i].0, "ORDER_STATUS_PAID").await;
        }
    }

    // Some change their minds after paying; an admin gives back one mug of another order.
    for (i, order_id) in orders.iter().enumerate() {
        if fate(i) == Fate::CancelledPaid {
            let cancelled = shop
                .http
                .send(
                    "POST",
                    &format!("/v1/orders/{order_id}:cancel"),
                    Some(&customers[i].0),
                    json!({"reason": "oops"}),
                )
                .await;
            assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.json);
        }
    }
    let partial = (0..CUSTOMERS).find(|i| fate(*i) == Fate::PartlyRefundedThenShipped).unwrap();
    let one_mug = json!({"amountMinor": MUG_PRICE.to_string(), "currency": "USD"});
    let refunded = shop
        .http
        .send(
            "POST",
            &format!("/v1/orders/{}/payment:refund", orders[partial]),
            Some(&admin),
            json!({"reason": "a chipped mug", "amount": one_mug, "lines": [{"productId": mug, "quantity": 1}]}),
        )
        .await;
    assert_eq!(refunded.status, StatusCode::OK, "{}", refunded.json);
    assert_eq!(minor(&refunded.json["refund"]["amount"]), MUG_PRICE, "{}", refunded.json);

    // The whole shop restarts with refunds still waiting for Stripe.
    let mut pending_at_restart = 0;
    for order_id in &orders {
        let (_, payment) = books(&shop, &admin, order_id).await;
        pending_at_restart += refunds_in(&payment, "REFUND_STATUS_PENDING").count();
    }
    assert!(pending_at_restart > 0, "the restart is meant to find refunds pending at Stripe");
    let shop = shop.restart().await;

    // The admin ships what is left to ship.
    for (i, order_id) in orders.iter().enumerate() {
        if matches!(fate(i), Fate::Shipped | Fate::PartlyRefundedThenShipped) {
            let shipped = shop
                .http
                .send(
                    "POST",
                    &format!("/v1/orders/{order_id}:ship"),
                    Some(&admin),
                    json!({"carrier": "DHL", "trackingNumber": format!("JD{i:04}")}),
                )
                .await;
            assert_eq!(shipped.status, StatusCode::OK, "order {i}: {}", shipped.json);
        }
    }

    // Everything comes to rest by itself: every order shipped or cancelled, no refund pending.
    within(Duration::from_secs(60), "every order shipped or cancelled and no refund pending", || async {
        for order_id in &orders {
            let (order, payment) = books(&shop, &admin, order_id).await;
            let done = matches!(order["status"].as_str(), Some("ORDER_STATUS_SHIPPED" | "ORDER_STATUS_CANCELLED"));
            if !done || refunds_in(&payment, "REFUND_STATUS_PENDING").next().is_some() {
                return None;
            }
        }
        Some(())
    })
    .await;

    // The owner's books, from the system. The events that tell svc-order of a refund may
    // still be on their way: the books are read until they balance or 15 s have passed.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let summary = loop {
        let read = read_books(&shop, &admin, &fake, &orders, &[(&mug, initial["mug"]), (&tea, initial["tea"])]).await;
        match read {
            Ok(summary) => break summary,
            Err(wrong) if tokio::time::Instant::now() > deadline => {
                panic!("the books do not balance:\n{}", wrong.join("\n"))
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    };
    let dead_letters = shop.dead_letters().await;
    let mismatches = mismatches().await;
    assert_eq!(dead_letters, 0, "no event was given up on");
    assert_eq!(mismatches, 0, "no money event mismatched its order (mart_payment_mismatches_total)");
    eprintln!(
        "chaos summary: orders={} shipped={} cancelled={} refunds={} (partial {}) captured_minor={} refunded_minor={} \
         intents={} stripe_503s={} mismatches={mismatches} dead_letters={dead_letters}",
        orders.len(),
        summary.shipped,
        summary.cancelled,
        summary.refunds,
        summary.partial_refunds,
        summary.captured,
        summary.refunded,
        summary.intents,
        fake.refused_calls(),
    );
    shop.stop().await;
}

/// What the books say once they balance.
struct Summary {
    shipped: usize,
    cancelled: usize,
    refunds: usize,
    partial_refunds: usize,
    captured: i64,
    refunded: i64,
    intents: usize,
}

/// Reads the orders, payments, stock and Stripe's ledger; the summary, or every way they
/// disagree.
async fn read_books(
    shop: &TestShop,
    admin: &str,
    fake: &FakeStripe,
    orders: &[String],
    products: &[(&str, i32)],
) -> Result<Summary, Vec<String>> {
    let mut wrong = Vec::new();
    let (intents, stripe_refunds) = (fake.intents(), fake.refunds());
    let mut summary = Summary {
        shipped: 0,
        cancelled: 0,
        refunds: stripe_refunds.len(),
        partial_refunds: 0,
        captured: 0,
        refunded: 0,
        intents: intents.len(),
    };
    let mut shipped_units: BTreeMap<String, i64> = BTreeMap::new();
    for (i, order_id) in orders.iter().enumerate() {
        let (order, payment) = books(shop, admin, order_id).await;
        let status = order["status"].as_str().unwrap_or_default().to_owned();
        let (total, order_refunded) = (minor(&order["total"]), minor(&order["refunded"]));
        let mine = intents_of(&intents, order_id);
        if mine.len() > 1 {
            wrong.push(format!("order {i}: {} PaymentIntents", mine.len()));
        }
        let ids: BTreeSet<&str> = mine.iter().map(|intent| intent.id.as_str()).collect();
        let captured: i64 = mine.iter().filter(|intent| intent.status == "succeeded").map(|intent| intent.amount).sum();
        let at_stripe: Vec<_> = stripe_refunds.iter().filter(|r| ids.contains(r.payment_intent.as_str())).collect();
        let stripe_refunded: i64 = at_stripe.iter().map(|r| r.amount).sum();
        summary.captured += captured;
        summary.refunded += stripe_refunded;
        summary.partial_refunds += at_stripe.iter().filter(|r| r.amount < captured).count();
        if stripe_refunded > captured {
            wrong.push(format!("order {i}: Stripe refunded {stripe_refunded} of {captured} captured"));
        }
        match status.as_str() {
            "ORDER_STATUS_SHIPPED" => {
                summary.shipped += 1;
                for line in order["lines"].as_array().into_iter().flatten() {
                    let product = line["productId"].as_str().unwrap_or_default().to_owned();
                    *shipped_units.entry(product).or_default() += line["quantity"].as_i64().unwrap_or_default();
                }
                if captured != total || captured - stripe_refunded != total - order_refunded {
                    wrong.push(format!(
                        "order {i} SHIPPED: total {total}, refunded {order_refunded}; Stripe captured {captured}, \
                         refunded {stripe_refunded}"
                    ));
                }
            }
            "ORDER_STATUS_CANCELLED" => {
                summary.cancelled += 1;
                if captured != 0 && stripe_refunded != captured {
                    wrong.push(format!(
                        "order {i} CANCELLED but the shop kept {} of {captured} captured",
                        captured - stripe_refunded
                    ));
                }
            }
            other => wrong.push(format!("order {i} in {other}")),
        }
        // The payment agrees with the order and with Stripe.
        let payment_refunded = minor(&payment["refunded"]);
        if payment_refunded != order_refunded || payment_refunded != stripe_refunded {
            wrong.push(format!(
                "order {i}: refunded {payment_refunded} says the payment, {order_refunded} the order, \
                 {stripe_refunded} Stripe"
            ));
        }
        let expected = match (captured, stripe_refunded) {
            (0, _) => &["PAYMENT_STATUS_CANCELLED", "PAYMENT_STATUS_FAILED"][..],
            (c, r) if r == c => &["PAYMENT_STATUS_REFUNDED"][..],
            _ => &["PAYMENT_STATUS_SUCCEEDED"][..],
        };
        if !expected.iter().any(|s| payment["status"] == *s) {
            wrong.push(format!(
                "order {i}: payment {} with {captured} captured, {stripe_refunded} refunded",
                payment["status"]
            ));
        }
        let ours: BTreeSet<&str> =
            refunds_in(&payment, "REFUND_STATUS_SUCCEEDED").filter_map(|r| r["providerReference"].as_str()).collect();
        let theirs: BTreeSet<&str> = at_stripe.iter().map(|r| r.id.as_str()).collect();
        if ours != theirs {
            wrong.push(format!("order {i}: the shop's refunds {ours:?}, Stripe's {theirs:?}"));
        }
        let other: Vec<_> = payment["refunds"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["status"] != "REFUND_STATUS_SUCCEEDED")
            .map(|r| r["status"].clone())
            .collect();
        if !other.is_empty() {
            wrong.push(format!("order {i}: refunds not made: {other:?}"));
        }
    }
    // The stock ledger: only what shipped left the shelf, nothing is held.
    for (product, initial) in products {
        let stock = shop.http.get(&format!("/v1/products/{product}/stock"), Some(admin)).await;
        let shipped = shipped_units.get(*product).copied().unwrap_or_default();
        let (on_hand, reserved) = (&stock.json["stock"]["onHand"], &stock.json["stock"]["reserved"]);
        if *on_hand != i64::from(*initial) - shipped || *reserved != 0 {
            let movements = shop.movements(product, admin).await;
            wrong.push(format!(
                "{product}: {on_hand} on hand, {reserved} reserved; {initial} - {shipped} shipped expected; {movements:?}"
            ));
        }
    }
    if wrong.is_empty() { Ok(summary) } else { Err(wrong) }
}
