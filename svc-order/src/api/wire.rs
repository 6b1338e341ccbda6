//! OrderService requests into domain values, and domain values and rows into its
//! messages. Parsing names every bad field at once (a BadRequest with all violations);
//! encoding fails only on corrupt rows (an order in a currency this shop does not know).

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use mart_platform::{
    error::{FieldViolation, Violations},
    fields,
    money::Money,
    wire::timestamp,
};
use mart_proto::{common, order as pb};
use sea_orm::DbErr;
use tonic::metadata::errors::ToStrError;

use crate::{
    domain::{
        CancellationSource, Change, Choice, ClientAddress, IdempotencyKey, OptionValue, OrderStatus, PlaceOrder,
        PricedCart, Quantity, sales::SalesQuery,
    },
    error::Error,
    store::{orders, sales::SalesReport},
};

/// The longest note or cancellation reason.
const MAX_NOTE: usize = 500;

/// The longest carrier name or tracking number.
const MAX_SHIPPING_FIELD: usize = 100;

// === requests ===

/// AddCartItem: the variant it names and how many units to add (at most
/// `max_quantity`). `variant_id` when set (then `product_id` is ignored), else
/// `product_id`, as clients from before variants send it; neither is a missing
/// `product_id`, what those clients would have been told.
pub fn add_cart_item(request: &pb::AddCartItemRequest, max_quantity: u32) -> Result<(Choice, Quantity), Error> {
    let mut violations = Violations::new();
    let choice = match violations.check(fields::optional_id("variant_id", &request.variant_id)) {
        Some(Some(variant_id)) => Some(Choice::Variant(variant_id)),
        Some(None) => violations.check(fields::id("product_id", &request.product_id)).map(Choice::Product),
        None => None,
    };
    let quantity = violations.check(Quantity::parse("quantity", request.quantity, max_quantity));
    violations.finish()?;
    let (Some(choice), Some(quantity)) = (choice, quantity) else {
        return Err(Error::Invalid(vec![]));
    };
    Ok((choice, quantity))
}

/// UpdateCartItem: the line (its variant id, sent as `product_id`: the path keeps its
/// name) and its new quantity; `None` (quantity 0) removes the line.
pub fn update_cart_item(
    request: &pb::UpdateCartItemRequest,
    max_quantity: u32,
) -> Result<(String, Option<Quantity>), Error> {
    let mut violations = Violations::new();
    let variant_id = violations.check(fields::id("product_id", &request.product_id));
    // 0 removes the line; anything else must be a quantity a line may hold.
    let quantity = match request.quantity {
        0 => Some(None),
        n => violations.check(Quantity::parse("quantity", n, max_quantity)).map(Some),
    };
    violations.finish()?;
    let (Some(variant_id), Some(quantity)) = (variant_id, quantity) else {
        return Err(Error::Invalid(vec![]));
    };
    Ok((variant_id, quantity))
}

/// PlaceOrder, with the `idempotency-key` header if one was sent, from `client` if known.
pub fn place_order(
    request: &pb::PlaceOrderRequest,
    header: Option<Result<String, ToStrError>>,
    client: Option<IpAddr>,
) -> Result<PlaceOrder, Error> {
    let mut violations = Violations::new();
    let address_id = violations.check(fields::id("address_id", &request.address_id));
    let note = match request.note.as_deref() {
        None => Some(None),
        Some(note) => violations
            .check(fields::paragraph("note", note, false, MAX_NOTE))
            .map(|note| (!note.is_empty()).then_some(note)),
    };
    let key = match header {
        Some(Err(_)) => {
            violations.add("request_id", "the Idempotency-Key header must be visible ASCII");
            None
        }
        Some(Ok(header)) => violations.check(IdempotencyKey::resolve(Some(&header), &request.request_id)),
        None => violations.check(IdempotencyKey::resolve(None, &request.request_id)),
    };
    violations.finish()?;
    let (Some(address_id), Some(note), Some(key)) = (address_id, note, key) else {
        return Err(Error::Invalid(vec![]));
    };
    Ok(PlaceOrder { address_id, note, key, client: client.map(ClientAddress::of) })
}

/// CancelOrder: the order and its cancellation by `source`.
pub fn cancel_order(request: &pb::CancelOrderRequest, source: CancellationSource) -> Result<(String, Change), Error> {
    let mut violations = Violations::new();
    let order_id = violations.check(fields::id("order_id", &request.order_id));
    let reason = violations.check(fields::paragraph("reason", &request.reason, false, MAX_NOTE));
    violations.finish()?;
    let (Some(order_id), Some(reason)) = (order_id, reason) else { return Err(Error::Invalid(vec![])) };
    Ok((order_id, Change::Cancelled { source, reason }))
}

/// GetSalesReport on `today` (UTC): the range, currency and number of best sellers, the
/// defaults applied.
pub fn sales_report(request: &pb::GetSalesReportRequest, today: chrono::NaiveDate) -> Result<SalesQuery, Error> {
    Ok(SalesQuery::parse(&request.from, &request.to, &request.currency, request.top, today)?)
}

/// ShipOrder: the order and its shipment.
pub fn ship_order(request: &pb::ShipOrderRequest) -> Result<(String, Change), Error> {
    let mut violations = Violations::new();
    let order_id = violations.check(fields::id("order_id", &request.order_id));
    let carrier = violations.check(fields::line("carrier", &request.carrier, true, MAX_SHIPPING_FIELD));
    let tracking_number =
        violations.check(fields::line("tracking_number", &request.tracking_number, false, MAX_SHIPPING_FIELD));
    violations.finish()?;
    let (Some(order_id), Some(carrier), Some(tracking_number)) = (order_id, carrier, tracking_number) else {
        return Err(Error::Invalid(vec![]));
    };
    Ok((order_id, Change::Shipped { carrier, tracking_number }))
}

/// A status filter: UNSPECIFIED means any.
pub fn status_filter(value: i32) -> Result<Option<OrderStatus>, FieldViolation> {
    let status = pb::OrderStatus::try_from(value).map_err(|_| FieldViolation::new("status", "not an order status"))?;
    Ok(match status {
        pb::OrderStatus::Unspecified => None,
        pb::OrderStatus::Pending => Some(OrderStatus::Pending),
        pb::OrderStatus::Reserved => Some(OrderStatus::Reserved),
        pb::OrderStatus::AwaitingPayment => Some(OrderStatus::AwaitingPayment),
        pb::OrderStatus::Paid => Some(OrderStatus::Paid),
        pb::OrderStatus::Shipped => Some(OrderStatus::Shipped),
        pb::OrderStatus::Delivered => Some(OrderStatus::Delivered),
        pb::OrderStatus::Rejected => Some(OrderStatus::Rejected),
        pb::OrderStatus::Cancelled => Some(OrderStatus::Cancelled),
    })
}

// === responses ===

fn count(value: impl TryInto<i32>) -> i32 {
    value.try_into().unwrap_or(i32::MAX)
}

/// A priced cart as last changed at `updated_at`.
pub fn cart_to_proto(cart: &PricedCart, updated_at: Option<DateTime<Utc>>) -> pb::Cart {
    pb::Cart {
        lines: cart
            .lines
            .iter()
            .map(|line| pb::CartLine {
                product_id: line.variant.product_id.clone(),
                sku: line.variant.sku.clone(),
                name: line.variant.name.clone(),
                variant_id: line.variant.variant_id.clone(),
                option_values: option_values(&line.variant.option_values),
                image_url: line.variant.image_url.clone(),
                unit_price: Some(line.variant.price.to_wire()),
                quantity: count(line.quantity),
                line_total: Some(line.line_total.to_wire()),
                added_at: Some(timestamp(&line.added_at)),
            })
            .collect(),
        // An empty cart has no prices to take a currency from: zero of none.
        subtotal: Some(
            cart.subtotal.map_or_else(|| common::Money { amount_minor: 0, currency: String::new() }, Money::to_wire),
        ),
        item_count: count(cart.item_count),
        updated_at: updated_at.as_ref().map(timestamp),
    }
}

fn option_values(values: &[OptionValue]) -> Vec<common::OptionValue> {
    values.iter().map(|v| common::OptionValue { name: v.name.clone(), value: v.value.clone() }).collect()
}

fn status_to_proto(status: Option<OrderStatus>) -> pb::OrderStatus {
    match status {
        None => pb::OrderStatus::Unspecified,
        Some(OrderStatus::Pending) => pb::OrderStatus::Pending,
        Some(OrderStatus::Reserved) => pb::OrderStatus::Reserved,
        Some(OrderStatus::AwaitingPayment) => pb::OrderStatus::AwaitingPayment,
        Some(OrderStatus::Paid) => pb::OrderStatus::Paid,
        Some(OrderStatus::Shipped) => pb::OrderStatus::Shipped,
        Some(OrderStatus::Delivered) => pb::OrderStatus::Delivered,
        Some(OrderStatus::Rejected) => pb::OrderStatus::Rejected,
        Some(OrderStatus::Cancelled) => pb::OrderStatus::Cancelled,
    }
}

fn source_to_proto(source: Option<CancellationSource>) -> pb::CancellationSource {
    match source {
        None => pb::CancellationSource::Unspecified,
        Some(CancellationSource::User) => pb::CancellationSource::User,
        Some(CancellationSource::Admin) => pb::CancellationSource::Admin,
        Some(CancellationSource::PaymentExpired) => pb::CancellationSource::PaymentExpired,
        Some(CancellationSource::PaymentFailed) => pb::CancellationSource::PaymentFailed,
        Some(CancellationSource::Refunded) => pb::CancellationSource::Refunded,
    }
}

/// An order with its lines; its payment deadline only while it waits for the payment.
pub fn order_to_proto(full: &orders::Full) -> Result<pb::Order, DbErr> {
    let order = &full.order;
    let currency = order.currency()?;
    let money = |amount_minor| Some(Money::new(amount_minor, currency).to_wire());
    let status = OrderStatus::parse(&order.status);
    let payment_due_by = order.payment_deadline.as_ref().filter(|_| status.is_some_and(OrderStatus::waits_for_payment));
    Ok(pb::Order {
        id: order.id.clone(),
        user_id: order.user_id.clone(),
        status: status_to_proto(status).into(),
        lines: full
            .lines
            .iter()
            .map(|line| {
                Ok(pb::OrderLine {
                    product_id: line.product_id.clone(),
                    sku: line.sku.clone(),
                    variant_id: line.variant_id.clone(),
                    option_values: option_values(&line.option_values()?),
                    image_url: line.image_url.clone(),
                    name: line.name.clone(),
                    unit_price: money(line.unit_price_minor),
                    quantity: count(line.quantity),
                    line_total: money(line.line_total_minor),
                })
            })
            .collect::<Result<_, DbErr>>()?,
        total: money(order.total_minor),
        shipping_address: Some(pb::ShippingAddress {
            address_id: order.address_id.clone(),
            label: order.address_label.clone(),
            line1: order.address_line1.clone(),
            line2: order.address_line2.clone(),
            city: order.address_city.clone(),
            postal_code: order.address_postal_code.clone(),
            country: order.address_country.clone(),
            latitude: order.address_latitude,
            longitude: order.address_longitude,
        }),
        note: order.note.clone(),
        rejected_lines: full
            .rejected
            .iter()
            .map(|line| pb::RejectedLine {
                product_id: line.product_id.clone(),
                variant_id: line.variant_id.clone(),
                requested: line.requested,
                available: line.available,
            })
            .collect(),
        shipment: order.carrier.as_ref().map(|carrier| pb::Shipment {
            carrier: carrier.clone(),
            tracking_number: order.tracking_number.clone().unwrap_or_default(),
            shipped_at: order.shipped_at.as_ref().map(timestamp),
        }),
        cancellation_source: source_to_proto(order.cancellation_source.as_deref().and_then(CancellationSource::parse))
            .into(),
        cancellation_reason: order.cancellation_reason.clone().unwrap_or_default(),
        created_at: Some(timestamp(&order.created_at)),
        updated_at: Some(timestamp(&order.updated_at)),
        paid_at: order.paid_at.as_ref().map(timestamp),
        delivered_at: order.delivered_at.as_ref().map(timestamp),
        closed_at: order.closed_at.as_ref().map(timestamp),
        refunded: money(order.refunded_minor),
        payment_due_by: payment_due_by.map(timestamp),
    })
}

/// The report `report` of `query`.
pub fn sales_report_to_proto(query: &SalesQuery, report: &SalesReport) -> pb::GetSalesReportResponse {
    let money = |amount_minor| Some(Money::new(amount_minor, query.currency).to_wire());
    let day = |date: chrono::NaiveDate| date.format("%Y-%m-%d").to_string();
    let (mut total_orders, mut total_revenue) = (0_i64, 0_i64);
    for sold in &report.days {
        total_orders = total_orders.saturating_add(sold.orders);
        // Past what an i64 holds in minor units, no day's own sum would have read.
        total_revenue = total_revenue.saturating_add(sold.revenue_minor);
    }
    pb::GetSalesReportResponse {
        days: report
            .days
            .iter()
            .map(|sold| pb::SalesDay {
                date: day(sold.date),
                orders: i32::try_from(sold.orders).unwrap_or(i32::MAX),
                revenue: money(sold.revenue_minor),
            })
            .collect(),
        total_orders: i32::try_from(total_orders).unwrap_or(i32::MAX),
        total_revenue: money(total_revenue),
        best_sellers: report
            .best_sellers
            .iter()
            .map(|seller| pb::BestSeller {
                variant_id: seller.variant_id.clone(),
                product_id: seller.product_id.clone(),
                name: seller.name.clone(),
                sku: seller.sku.clone(),
                option_values: option_values(&seller.option_values),
                units: seller.units,
                revenue: money(seller.revenue_minor),
            })
            .collect(),
        from: day(query.from),
        to: day(query.to),
    }
}
