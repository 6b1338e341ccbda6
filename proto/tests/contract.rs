//! The contract keeps its own rules: every RPC says who may call it, every public RPC has
//! an HTTP route and no internal one does, no two routes collide, every element is
//! documented, and the routes and access levels are exactly API.md's (clients are written
//! against them).

use std::collections::{BTreeMap, BTreeSet};

use mart_proto::contract::{self, Access};

/// An HTTP rule as API.md writes it: verb and path.
type Route = Option<(&'static str, &'static str)>;

/// API.md, row by row: the gRPC path, the access level, and the HTTP rule.
const API: &[(&str, Access, Route)] = &[
    ("/mart.user.v1.UserService/Register", Access::Public, Some(("POST", "/v1/users"))),
    ("/mart.user.v1.UserService/Login", Access::Public, Some(("POST", "/v1/auth/login"))),
    ("/mart.user.v1.UserService/RefreshToken", Access::Public, Some(("POST", "/v1/auth/refresh"))),
    ("/mart.user.v1.UserService/Logout", Access::User, Some(("POST", "/v1/auth/logout"))),
    ("/mart.user.v1.UserService/GetJwks", Access::Public, Some(("GET", "/.well-known/jwks.json"))),
    ("/mart.user.v1.UserService/GetMe", Access::User, Some(("GET", "/v1/users/me"))),
    ("/mart.user.v1.UserService/UpdateMe", Access::User, Some(("PATCH", "/v1/users/me"))),
    ("/mart.user.v1.UserService/ChangePassword", Access::User, Some(("POST", "/v1/users/me:changePassword"))),
    ("/mart.user.v1.UserService/DeleteMe", Access::User, Some(("DELETE", "/v1/users/me"))),
    ("/mart.user.v1.UserService/AddAddress", Access::User, Some(("POST", "/v1/users/me/addresses"))),
    ("/mart.user.v1.UserService/ListAddresses", Access::User, Some(("GET", "/v1/users/me/addresses"))),
    ("/mart.user.v1.UserService/DeleteAddress", Access::User, Some(("DELETE", "/v1/users/me/addresses/{address_id}"))),
    ("/mart.user.v1.UserService/ListUsers", Access::Admin, Some(("GET", "/v1/users"))),
    ("/mart.user.v1.UserService/GetUser", Access::Admin, Some(("GET", "/v1/users/{user_id}"))),
    ("/mart.user.v1.UserService/SetUserRole", Access::Admin, Some(("POST", "/v1/users/{user_id}:setRole"))),
    ("/mart.user.v1.UserService/SetUserStatus", Access::Admin, Some(("POST", "/v1/users/{user_id}:setStatus"))),
    ("/mart.user.v1.UserService/GetAddress", Access::Internal, None),
    ("/mart.product.v1.CatalogService/ListCategories", Access::Public, Some(("GET", "/v1/categories"))),
    ("/mart.product.v1.CatalogService/GetCategory", Access::Public, Some(("GET", "/v1/categories/{category_id}"))),
    ("/mart.product.v1.CatalogService/CreateCategory", Access::Admin, Some(("POST", "/v1/categories"))),
    ("/mart.product.v1.CatalogService/UpdateCategory", Access::Admin, Some(("PATCH", "/v1/categories/{category_id}"))),
    ("/mart.product.v1.CatalogService/DeleteCategory", Access::Admin, Some(("DELETE", "/v1/categories/{category_id}"))),
    ("/mart.product.v1.CatalogService/ListProducts", Access::Public, Some(("GET", "/v1/products"))),
    ("/mart.product.v1.CatalogService/GetProduct", Access::Public, Some(("GET", "/v1/products/{product_id}"))),
    ("/mart.product.v1.CatalogService/CreateProduct", Access::Admin, Some(("POST", "/v1/products"))),
    ("/mart.product.v1.CatalogService/UpdateProduct", Access::Admin, Some(("PATCH", "/v1/products/{product_id}"))),
    ("/mart.product.v1.CatalogService/DeleteProduct", Access::Admin, Some(("DELETE", "/v1/products/{product_id}"))),
    ("/mart.product.v1.CatalogService/BatchGetProducts", Access::Internal, None),
    // Variants and media.
    ("/mart.product.v1.CatalogService/AddVariant", Access::Admin, Some(("POST", "/v1/products/{product_id}/variants"))),
    (
        "/mart.product.v1.CatalogService/UpdateVariant",
        Access::Admin,
        Some(("PATCH", "/v1/products/{product_id}/variants/{variant_id}")),
    ),
    (
        "/mart.product.v1.CatalogService/ArchiveVariant",
        Access::Admin,
        Some(("DELETE", "/v1/products/{product_id}/variants/{variant_id}")),
    ),
    (
        "/mart.product.v1.CatalogService/AddProductImage",
        Access::Admin,
        Some(("POST", "/v1/products/{product_id}/images")),
    ),
    (
        "/mart.product.v1.CatalogService/RemoveProductImage",
        Access::Admin,
        Some(("DELETE", "/v1/products/{product_id}/images/{image_id}")),
    ),
    ("/mart.product.v1.CatalogService/UploadMedia", Access::Admin, Some(("POST", "/v1/media"))),
    ("/mart.product.v1.CatalogService/GetMedia", Access::Public, Some(("GET", "/v1/media/{media_id}"))),
    ("/mart.product.v1.CatalogService/BatchGetVariants", Access::Internal, None),
    ("/mart.inventory.v1.InventoryService/GetStock", Access::Public, Some(("GET", "/v1/products/{product_id}/stock"))),
    (
        "/mart.inventory.v1.InventoryService/AdjustStock",
        Access::Admin,
        Some(("POST", "/v1/products/{product_id}/stock:adjust")),
    ),
    (
        "/mart.inventory.v1.InventoryService/SetStock",
        Access::Admin,
        Some(("POST", "/v1/products/{product_id}/stock:set")),
    ),
    (
        "/mart.inventory.v1.InventoryService/ListStockMovements",
        Access::Admin,
        Some(("GET", "/v1/products/{product_id}/stock/movements")),
    ),
    ("/mart.inventory.v1.InventoryService/BatchGetStock", Access::Internal, None),
    ("/mart.order.v1.OrderService/GetCart", Access::User, Some(("GET", "/v1/cart"))),
    ("/mart.order.v1.OrderService/AddCartItem", Access::User, Some(("POST", "/v1/cart/items"))),
    ("/mart.order.v1.OrderService/UpdateCartItem", Access::User, Some(("PATCH", "/v1/cart/items/{product_id}"))),
    ("/mart.order.v1.OrderService/RemoveCartItem", Access::User, Some(("DELETE", "/v1/cart/items/{product_id}"))),
    ("/mart.order.v1.OrderService/ClearCart", Access::User, Some(("DELETE", "/v1/cart"))),
    ("/mart.order.v1.OrderService/PlaceOrder", Access::User, Some(("POST", "/v1/orders"))),
    ("/mart.order.v1.OrderService/GetOrder", Access::User, Some(("GET", "/v1/orders/{order_id}"))),
    ("/mart.order.v1.OrderService/ListOrders", Access::User, Some(("GET", "/v1/orders"))),
    ("/mart.order.v1.OrderService/CancelOrder", Access::User, Some(("POST", "/v1/orders/{order_id}:cancel"))),
    ("/mart.order.v1.OrderService/ListAllOrders", Access::Admin, Some(("GET", "/v1/admin/orders"))),
    ("/mart.order.v1.OrderService/ShipOrder", Access::Admin, Some(("POST", "/v1/orders/{order_id}:ship"))),
    ("/mart.order.v1.OrderService/DeliverOrder", Access::Admin, Some(("POST", "/v1/orders/{order_id}:deliver"))),
    // For browsers and the admin console.
    ("/mart.order.v1.OrderService/WatchOrder", Access::User, Some(("GET", "/v1/orders/{order_id}:watch"))),
    ("/mart.order.v1.OrderService/GetSalesReport", Access::Admin, Some(("GET", "/v1/admin/reports/sales"))),
    ("/mart.notify.v1.NotificationService/GetEventsStatus", Access::Admin, Some(("GET", "/v1/admin/events"))),
    ("/mart.payment.v1.PaymentService/GetPayment", Access::User, Some(("GET", "/v1/orders/{order_id}/payment"))),
    (
        "/mart.payment.v1.PaymentService/ConfirmManualPayment",
        Access::Admin,
        Some(("POST", "/v1/orders/{order_id}/payment:confirm")),
    ),
    (
        "/mart.payment.v1.PaymentService/RefundPayment",
        Access::Admin,
        Some(("POST", "/v1/orders/{order_id}/payment:refund")),
    ),
    ("/mart.payment.v1.PaymentService/StripeWebhook", Access::Public, Some(("POST", "/v1/payments/stripe/webhook"))),
    ("/mart.notify.v1.NotificationService/ListNotifications", Access::User, Some(("GET", "/v1/notifications"))),
    (
        "/mart.notify.v1.NotificationService/MarkNotificationRead",
        Access::User,
        Some(("POST", "/v1/notifications/{notification_id}:read")),
    ),
    ("/mart.notify.v1.NotificationService/SendNotification", Access::Admin, Some(("POST", "/v1/admin/notifications"))),
];

#[test]
fn every_rpc_has_an_access_level() {
    let missing: Vec<_> = contract::methods().iter().filter(|m| m.access.is_none()).map(|m| &m.path).collect();
    assert!(missing.is_empty(), "RPCs without (mart.common.v1.access): {missing:?}");
}

#[test]
fn public_rpcs_have_http_rules_and_internal_ones_do_not() {
    for method in contract::methods() {
        match method.access {
            Some(Access::Internal) => {
                assert!(method.http.is_none(), "{} is INTERNAL but has an http rule", method.path)
            }
            Some(_) => assert!(method.http.is_some(), "{} has no google.api.http rule", method.path),
            None => {}
        }
    }
}

#[test]
fn no_two_http_rules_collide() {
    let mut seen = BTreeMap::new();
    for method in contract::methods() {
        let Some(http) = &method.http else { continue };
        let key = (http.verb.clone(), route_shape(&http.path));
        if let Some(other) = seen.insert(key.clone(), &method.path) {
            panic!("{} and {} both route {} {}", other, method.path, key.0, http.path);
        }
    }
}

/// A path template with variable names erased: `/v1/a/{x}` and `/v1/a/{y}` are one route,
/// while a literal segment (`/v1/users/me`) is a different route from a variable one.
fn route_shape(path: &str) -> String {
    let mut shape = String::new();
    let mut depth = 0;
    for c in path.chars() {
        match c {
            '{' => {
                depth += 1;
                shape.push('*');
            }
            '}' => depth -= 1,
            _ if depth > 0 => {}
            c => shape.push(c),
        }
    }
    shape
}

#[test]
fn route_shapes() {
    assert_eq!(route_shape("/v1/products/{product_id}/stock"), "/v1/products/*/stock");
    assert_eq!(route_shape("/v1/users/{user_id}:setRole"), "/v1/users/*:setRole");
    assert_ne!(route_shape("/v1/users/me"), route_shape("/v1/users/{user_id}"));
}

#[test]
fn routes_and_access_levels_are_api_md() {
    let actual: BTreeSet<_> = contract::methods()
        .iter()
        .map(|m| {
            let http = m.http.as_ref().map(|h| (h.verb.clone(), h.path.clone()));
            (m.path.clone(), m.access, http)
        })
        .collect();
    let expected: BTreeSet<_> = API
        .iter()
        .map(|(path, access, http)| {
            ((*path).to_owned(), Some(*access), http.map(|(verb, path)| (verb.to_owned(), path.to_owned())))
        })
        .collect();
    let missing: Vec<_> = expected.difference(&actual).collect();
    let extra: Vec<_> = actual.difference(&expected).collect();
    assert!(missing.is_empty() && extra.is_empty(), "differs from API.md\n missing: {missing:#?}\n extra: {extra:#?}");
}

#[test]
fn path_variables_and_bodies_name_request_fields() {
    for method in contract::methods() {
        let Some(http) = &method.http else { continue };
        let input = method.descriptor.input();
        for variable in http.path.split('{').skip(1).filter_map(|rest| rest.split('}').next()) {
            let field = variable.split('=').next().unwrap_or(variable);
            assert!(
                input.get_field_by_name(field).is_some(),
                "{}: {{{field}}} is not a field of {}",
                method.path,
                input.name()
            );
        }
        if !http.body.is_empty() && http.body != "*" {
            assert!(
                input.get_field_by_name(&http.body).is_some(),
                "{}: body {} is not a field",
                method.path,
                http.body
            );
        }
    }
}

#[test]
fn everything_public_is_documented() {
    let pool = contract::pool();
    let mut undocumented = Vec::new();
    for file in pool.files().filter(|f| f.package_name().starts_with("mart.")) {
        let file_proto = file.file_descriptor_proto();
        let Some(info) = &file_proto.source_code_info else {
            panic!("{} has no source info", file.name());
        };
        let documented: BTreeSet<Vec<i32>> = info
            .location
            .iter()
            .filter(|l| l.leading_comments.as_deref().is_some_and(|c| !c.trim().is_empty()))
            .map(|l| l.path.clone())
            .collect();
        // Paths per descriptor.proto: 4 = message_type (2 = field), 5 = enum_type (2 = value),
        // 6 = service (2 = method).
        for (i, message) in file_proto.message_type.iter().enumerate() {
            let path = vec![4, i as i32];
            if !documented.contains(&path) {
                undocumented.push(format!("message {}", message.name()));
            }
            for (j, field) in message.field.iter().enumerate() {
                if !documented.contains(&[path.clone(), vec![2, j as i32]].concat()) {
                    undocumented.push(format!("field {}.{}", message.name(), field.name()));
                }
            }
        }
        for (i, service) in file_proto.service.iter().enumerate() {
            if !documented.contains(&vec![6, i as i32]) {
                undocumented.push(format!("service {}", service.name()));
            }
            for (j, method) in service.method.iter().enumerate() {
                if !documented.contains(&vec![6, i as i32, 2, j as i32]) {
                    undocumented.push(format!("rpc {}.{}", service.name(), method.name()));
                }
            }
        }
        for (i, enumeration) in file_proto.enum_type.iter().enumerate() {
            if !documented.contains(&vec![5, i as i32]) {
                undocumented.push(format!("enum {}", enumeration.name()));
            }
        }
    }
    assert!(undocumented.is_empty(), "undocumented: {undocumented:#?}");
}

#[test]
fn the_contract_has_six_services_and_every_event() {
    let services = contract::service_names();
    assert_eq!(services.len(), 6, "{services:?}");
    let envelope = contract::pool().get_message_by_name("mart.events.v1.Envelope").expect("the envelope");
    let payload = envelope.oneofs().find(|o| o.name() == "payload").expect("a payload oneof");
    let events: BTreeSet<_> = payload
        .fields()
        .map(|f| match f.kind() {
            prost_reflect::Kind::Message(message) => Some(message.name().to_owned()),
            _ => None,
        })
        .collect();
    for event in [
        "UserRegistered",
        "UserUpdated",
        "UserDeleted",
        "ProductCreated",
        "ProductUpdated",
        "ProductArchived",
        "OrderPlaced",
        "OrderAwaitingPayment",
        "OrderPaid",
        "OrderRejected",
        "OrderCancelled",
        "OrderShipped",
        "OrderDelivered",
        "StockReserved",
        "StockReservationFailed",
        "StockReleased",
        "StockCommitted",
        "StockAdjusted",
        "PaymentCreated",
        "PaymentSucceeded",
        "PaymentFailed",
        "PaymentRefunded",
    ] {
        assert!(events.contains(&Some(event.to_owned())), "the envelope cannot carry {event}");
    }
}
