//! gRPC on the edge's port: a tonic client calls through it, reflection lists the public
//! services, INTERNAL methods do not exist here, and browsers get grpc-web (binary and
//! text) with CORS.

use base64::Engine;
use bytes::{Buf, BufMut, Bytes, BytesMut};
use http::StatusCode;
use mart_platform::test_util::{authed, reflected_services};
use mart_proto::product::{self as pb, catalog_service_client::CatalogServiceClient};
use prost::Message;
use tonic::{Code, transport::Channel};

use crate::support::{Shop, settings};

fn client(shop: &Shop) -> CatalogServiceClient<Channel> {
    CatalogServiceClient::new(Channel::from_shared(format!("http://{}", shop.addr)).unwrap().connect_lazy())
}

#[tokio::test]
async fn grpc_clients_call_through_the_edge_and_reflection_lists_the_contract() {
    let shop = Shop::start(settings()).await;
    let admin = shop.admin().await;
    let product = shop.product(&admin, "GRPC-1", 250, 4).await;

    // A plain tonic client, pointed at the edge instead of svc-product.
    let mut catalog = client(&shop);
    let fetched = catalog
        .get_product(pb::GetProductRequest { product_id: product["id"].as_str().unwrap().to_owned() })
        .await
        .expect("GetProduct through the edge")
        .into_inner()
        .product
        .unwrap();
    assert_eq!((fetched.sku.as_str(), fetched.available_stock), ("GRPC-1", Some(4)));
    let created = catalog
        .create_category(authed(
            &admin,
            pb::CreateCategoryRequest { name: "Over gRPC".into(), description: String::new() },
        ))
        .await
        .expect("an admin call with its token");
    assert_eq!(created.get_ref().category.as_ref().unwrap().name, "Over gRPC");

    // The door applies to gRPC too.
    let anonymous = catalog
        .create_category(pb::CreateCategoryRequest { name: "Nope".into(), description: String::new() })
        .await
        .unwrap_err();
    assert_eq!(anonymous.code(), Code::Unauthenticated);

    // INTERNAL methods are not reachable through the edge, token or not.
    let internal = catalog
        .batch_get_products(authed(&admin, pb::BatchGetProductsRequest { product_ids: vec!["x".into()] }))
        .await
        .unwrap_err();
    assert_eq!(internal.code(), Code::Unimplemented, "{internal:?}");

    // Reflection, answered by the edge from the contract.
    let mut services = reflected_services(shop.addr).await;
    services.retain(|s| s.starts_with("mart."));
    services.sort();
    assert_eq!(
        services,
        [
            "mart.inventory.v1.InventoryService",
            "mart.notify.v1.NotificationService",
            "mart.order.v1.OrderService",
            "mart.payment.v1.PaymentService",
            "mart.product.v1.CatalogService",
            "mart.user.v1.UserService",
        ]
    );
    // `describe`, as grpcurl asks it: the file defining the service, which does not mention
    // what the edge will not forward.
    let pool = described(shop.addr, "mart.product.v1.CatalogService").await;
    let catalog_service = pool.get_service_by_name("mart.product.v1.CatalogService").unwrap();
    assert!(catalog_service.methods().any(|m| m.name() == "GetProduct"));
    assert!(!catalog_service.methods().any(|m| m.name() == "BatchGetProducts"));
    shop.stop().await;
}

#[tokio::test]
async fn a_grpc_web_client_calls_through_the_edge() {
    let shop = Shop::start(settings()).await;
    let admin = shop.admin().await;
    let product = shop.product(&admin, "WEBCLIENT-1", 420, 3).await;

    // tonic-web's own client: grpc-web over HTTP/1.1, as a browser library sends it.
    let http = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
    let web = tower::ServiceBuilder::new().layer(tonic_web::GrpcWebClientLayer::new()).service(http);
    let mut catalog = CatalogServiceClient::with_origin(web, format!("http://{}", shop.addr).parse().unwrap());
    let fetched = catalog
        .get_product(pb::GetProductRequest { product_id: product["id"].as_str().unwrap().to_owned() })
        .await
        .expect("GetProduct over grpc-web")
        .into_inner();
    assert_eq!(fetched.product.unwrap().sku, "WEBCLIENT-1");
    let refused = catalog
        .create_category(pb::CreateCategoryRequest { name: "Nope".into(), description: String::new() })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);
    let created = catalog
        .create_category(authed(&admin, pb::CreateCategoryRequest { name: "Web".into(), description: String::new() }))
        .await
        .expect("an admin call over grpc-web");
    assert_eq!(created.into_inner().category.unwrap().name, "Web");
    shop.stop().await;
}

/// The descriptors reflection on `addr` gives for `symbol`, fetched as grpcurl does: the
/// file containing it, then every import it does not have yet, by name.
async fn described(addr: std::net::SocketAddr, symbol: &str) -> prost_reflect::DescriptorPool {
    use std::collections::BTreeMap;

    use prost_types::FileDescriptorProto;
    use tonic_reflection::pb::v1::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };
    let channel = Channel::from_shared(format!("http://{addr}")).unwrap().connect_lazy();
    let ask = |request: MessageRequest| {
        let channel = channel.clone();
        async move {
            let request = ServerReflectionRequest { host: String::new(), message_request: Some(request) };
            let mut answers = ServerReflectionClient::new(channel)
                .server_reflection_info(futures::stream::iter([request]))
                .await
                .unwrap()
                .into_inner();
            match answers.message().await.unwrap().unwrap().message_response {
                Some(MessageResponse::FileDescriptorResponse(files)) => files
                    .file_descriptor_proto
                    .iter()
                    .map(|bytes| FileDescriptorProto::decode(bytes.as_slice()).unwrap())
                    .collect::<Vec<_>>(),
                other => panic!("reflection answered {other:?}"),
            }
        }
    };
    let mut files: BTreeMap<String, FileDescriptorProto> = BTreeMap::new();
    let mut wanted = vec![MessageRequest::FileContainingSymbol(symbol.to_owned())];
    while let Some(request) = wanted.pop() {
        for file in ask(request).await {
            for import in &file.dependency {
                if !files.contains_key(import) && import != file.name() {
                    wanted.push(MessageRequest::FileByFilename(import.clone()));
                }
            }
            files.insert(file.name().to_owned(), file);
        }
        wanted.retain(|w| !matches!(w, MessageRequest::FileByFilename(name) if files.contains_key(name)));
    }
    let set = prost_types::FileDescriptorSet { file: files.into_values().collect() };
    prost_reflect::DescriptorPool::from_file_descriptor_set(set).expect("reflection gave a complete set of files")
}

/// One grpc-web frame: flag, big-endian length, payload.
fn frame(flag: u8, payload: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(5 + payload.len());
    out.put_u8(flag);
    out.put_u32(payload.len() as u32);
    out.put_slice(payload);
    out.freeze()
}

/// Splits a grpc-web response body into its message and its trailers.
fn unframe(mut body: Bytes) -> (Option<Bytes>, String) {
    let (mut message, mut trailers) = (None, String::new());
    while body.remaining() >= 5 {
        let flag = body.get_u8();
        let len = body.get_u32() as usize;
        let payload = body.split_to(len);
        if flag & 0x80 == 0 {
            message = Some(payload);
        } else {
            trailers = String::from_utf8(payload.to_vec()).unwrap();
        }
    }
    (message, trailers)
}

#[tokio::test]
async fn browsers_speak_grpc_web_binary_and_text() {
    let shop = Shop::start(settings()).await;
    let admin = shop.admin().await;
    let product = shop.product(&admin, "WEB-1", 990, 2).await;
    let request = pb::GetProductRequest { product_id: product["id"].as_str().unwrap().to_owned() }.encode_to_vec();
    let path = "/mart.product.v1.CatalogService/GetProduct";

    let binary = shop
        .call(
            "POST",
            path,
            &[("content-type", "application/grpc-web+proto"), ("x-grpc-web", "1"), ("origin", "https://shop.example")],
            frame(0, &request),
        )
        .await;
    assert_eq!(binary.status, StatusCode::OK);
    assert_eq!(binary.headers["access-control-allow-origin"], "https://shop.example");
    let (message, trailers) = unframe(binary.body.clone());
    assert!(trailers.contains("grpc-status:0"), "{trailers:?}");
    let answer = pb::GetProductResponse::decode(message.expect("a message")).unwrap();
    assert_eq!(answer.product.unwrap().sku, "WEB-1");

    let text = shop
        .call(
            "POST",
            path,
            &[("content-type", "application/grpc-web-text"), ("accept", "application/grpc-web-text")],
            base64::engine::general_purpose::STANDARD.encode(frame(0, &request)),
        )
        .await;
    assert_eq!(text.status, StatusCode::OK);
    // The text body may be several base64 chunks back to back, each padded: every 4-character
    // group decodes on its own.
    let mut decoded = Vec::new();
    for group in text.body.chunks(4) {
        decoded.extend(base64::engine::general_purpose::STANDARD.decode(group).unwrap());
    }
    let (message, trailers) = unframe(Bytes::from(decoded));
    assert!(trailers.contains("grpc-status:0"), "{trailers:?} {:?} {:?}", text.headers, text.body);
    assert_eq!(pb::GetProductResponse::decode(message.unwrap()).unwrap().product.unwrap().sku, "WEB-1");

    // Refused at the door, in grpc-web: the status is in the headers (trailers-only).
    let refused = shop
        .call(
            "POST",
            "/mart.product.v1.CatalogService/CreateCategory",
            &[("content-type", "application/grpc-web+proto")],
            frame(0, &pb::CreateCategoryRequest { name: "x".into(), description: String::new() }.encode_to_vec()),
        )
        .await;
    assert_eq!(refused.headers["grpc-status"], "16", "{:?}", refused.headers);
    shop.stop().await;
}

#[tokio::test]
async fn cors_preflight_allows_listed_origins_only() {
    let shop = Shop::start(settings()).await;
    let preflight = |origin: &'static str| {
        let shop = &shop;
        async move {
            shop.call(
                "OPTIONS",
                "/mart.product.v1.CatalogService/GetProduct",
                &[
                    ("origin", origin),
                    ("access-control-request-method", "POST"),
                    ("access-control-request-headers", "content-type,x-grpc-web,authorization"),
                ],
                "",
            )
            .await
        }
    };
    let allowed = preflight("https://shop.example").await;
    assert_eq!(allowed.status, StatusCode::OK);
    assert_eq!(allowed.headers["access-control-allow-origin"], "https://shop.example");
    let methods = allowed.headers["access-control-allow-methods"].to_str().unwrap();
    assert!(methods.contains("POST"), "{methods}");
    let headers = allowed.headers["access-control-allow-headers"].to_str().unwrap();
    assert!(headers.contains("x-grpc-web") && headers.contains("authorization"), "{headers}");

    let elsewhere = preflight("https://evil.example").await;
    assert!(!elsewhere.headers.contains_key("access-control-allow-origin"));

    // Responses expose the gRPC status headers to the page.
    let simple = shop.call("GET", "/v1/categories", &[("origin", "https://shop.example")], "").await;
    let exposed = simple.headers["access-control-expose-headers"].to_str().unwrap();
    assert!(exposed.contains("grpc-status") && exposed.contains("x-request-id"), "{exposed}");
    shop.stop().await;
}

#[tokio::test]
async fn cors_star_allows_every_origin_without_credentials() {
    let shop = Shop::start(edge::Settings { cors_origins: vec!["*".to_owned()], ..settings() }).await;
    // The edge starts with `*` (it used to panic on it) and answers any page's preflight.
    let preflight = shop.call(
        "OPTIONS",
        "/mart.product.v1.CatalogService/GetProduct",
        &[
            ("origin", "https://anywhere.example"),
            ("access-control-request-method", "POST"),
            ("access-control-request-headers", "content-type,x-grpc-web,authorization"),
        ],
        "",
    );
    let preflight = tokio::time::timeout(std::time::Duration::from_secs(10), preflight)
        .await
        .expect("the edge answers with MART_CORS_ORIGINS='*'");
    assert_eq!(preflight.status, StatusCode::OK);
    assert_eq!(preflight.headers["access-control-allow-origin"], "*");
    // Never with credentials: a page may call with a token it holds, not with cookies.
    assert!(!preflight.headers.contains_key("access-control-allow-credentials"), "{:?}", preflight.headers);
    let simple = shop.call("GET", "/v1/categories", &[("origin", "https://elsewhere.example")], "").await;
    assert_eq!(simple.status, StatusCode::OK);
    assert_eq!(simple.headers["access-control-allow-origin"], "*");
    shop.stop().await;
}
