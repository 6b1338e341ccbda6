//! The route table against the real contract: every public RPC answers at its API.md path,
//! no INTERNAL RPC answers anywhere, literals win over variables, custom verbs and nested
//! paths resolve, and wrong verbs and unknown paths say so.

use edge::routes::{Resolution, Routes};
use mart_proto::contract::{self, Access};

fn routes() -> Routes {
    Routes::from_contract().expect("the contract's templates compile")
}

/// The RPC `verb path` reaches, and its variables as `field=value`.
fn resolve(routes: &Routes, verb: &str, path: &str) -> (String, Vec<String>) {
    match routes.resolve(verb, path) {
        Resolution::Found(route, bindings) => (
            route.method.descriptor.name().to_owned(),
            bindings.into_iter().map(|(field, value)| format!("{}={value}", field.join("."))).collect(),
        ),
        other => panic!("{verb} {path}: {other:?}"),
    }
}

#[test]
fn every_public_rpc_has_exactly_its_route_and_internal_ones_none() {
    let routes = routes();
    let routed: Vec<_> = routes.iter().map(|route| route.method.path.clone()).collect();
    for method in contract::methods() {
        let count = routed.iter().filter(|path| **path == method.path).count();
        match method.access {
            Some(Access::Internal) => assert_eq!(count, 0, "{} is INTERNAL but routed", method.path),
            _ => assert_eq!(count, 1, "{} has {count} routes", method.path),
        }
    }
    // Each public route resolves to its own RPC when its variables are filled in.
    for route in routes.iter() {
        let path = fill(&route.template);
        let (name, _) = resolve(&routes, &route.verb, &path);
        assert_eq!(name, route.method.descriptor.name(), "{} {path}", route.verb);
    }
}

/// `template` with every `{variable}` replaced by a sample value.
fn fill(template: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    for c in template.chars() {
        match c {
            '{' => {
                depth += 1;
                out.push_str("x1");
            }
            '}' => depth -= 1,
            _ if depth > 0 => {}
            c => out.push(c),
        }
    }
    out
}

#[test]
fn the_paths_clients_call_reach_the_right_rpc() {
    let routes = routes();
    let cases: &[(&str, &str, &str, &[&str])] = &[
        ("GET", "/v1/users/me", "GetMe", &[]),
        ("PATCH", "/v1/users/me", "UpdateMe", &[]),
        ("DELETE", "/v1/users/me", "DeleteMe", &[]),
        ("GET", "/v1/users/u-42", "GetUser", &["user_id=u-42"]),
        ("POST", "/v1/users/me:changePassword", "ChangePassword", &[]),
        ("POST", "/v1/users/u-42:setRole", "SetUserRole", &["user_id=u-42"]),
        ("DELETE", "/v1/users/me/addresses/a1", "DeleteAddress", &["address_id=a1"]),
        ("GET", "/.well-known/jwks.json", "GetJwks", &[]),
        ("POST", "/v1/auth/login", "Login", &[]),
        ("GET", "/v1/products/p%2F1", "GetProduct", &["product_id=p/1"]),
        ("GET", "/v1/products/p1/stock", "GetStock", &["product_id=p1"]),
        ("GET", "/v1/products/p1/stock/movements", "ListStockMovements", &["product_id=p1"]),
        ("POST", "/v1/products/p1/stock:adjust", "AdjustStock", &["product_id=p1"]),
        ("POST", "/v1/products/p1/stock:set", "SetStock", &["product_id=p1"]),
        ("POST", "/v1/orders/o1:cancel", "CancelOrder", &["order_id=o1"]),
        ("POST", "/v1/orders/o1:ship", "ShipOrder", &["order_id=o1"]),
        ("GET", "/v1/orders/o1/payment", "GetPayment", &["order_id=o1"]),
        ("POST", "/v1/orders/o1/payment:confirm", "ConfirmManualPayment", &["order_id=o1"]),
        ("GET", "/v1/admin/orders", "ListAllOrders", &[]),
        ("PATCH", "/v1/cart/items/p1", "UpdateCartItem", &["product_id=p1"]),
        ("POST", "/v1/payments/stripe/webhook", "StripeWebhook", &[]),
        ("POST", "/v1/notifications/n1:read", "MarkNotificationRead", &["notification_id=n1"]),
        ("get", "/v1/products?q=tea", "ListProducts", &[]),
    ];
    for (verb, path, rpc, bindings) in cases {
        let (name, bound) = resolve(&routes, verb, path);
        assert_eq!(
            (name.as_str(), bound.iter().map(String::as_str).collect::<Vec<_>>()),
            (*rpc, bindings.to_vec()),
            "{verb} {path}"
        );
    }
}

#[test]
fn wrong_verbs_and_unknown_paths_say_so() {
    let routes = routes();
    match routes.resolve("PUT", "/v1/users/me") {
        Resolution::WrongVerb(allowed) => assert_eq!(allowed, ["DELETE", "GET", "PATCH"]),
        other => panic!("{other:?}"),
    }
    for path in ["/v1/nothing", "/v1/users/me/addresses/a1/extra", "/v1/orders/o1:explode", "/", "/v1/products/%zz"] {
        assert!(matches!(routes.resolve("GET", path), Resolution::NotFound), "{path}");
    }
}
