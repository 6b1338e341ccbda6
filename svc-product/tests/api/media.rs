//! An admin uploads a product photo, the catalog shows it and anyone can fetch it back;
//! what is not an image, or is too large, or comes from someone who may not upload, is
//! refused and stores nothing.

use mart_platform::{
    db_tests,
    test_util::{TestDb, authed, png_of},
};
use mart_proto::{google::api::HttpBody, product as pb};
use sha2::{Digest, Sha256};
use tonic::{Code, Request};

use crate::support::{TestApp, bad_fields, new_product, reason};

db_tests!(a_product_shows_an_uploaded_photo);

fn upload(data: Vec<u8>, content_type: &str) -> pb::UploadMediaRequest {
    pb::UploadMediaRequest { body: Some(HttpBody { content_type: content_type.into(), data, extensions: vec![] }) }
}

fn get(media_id: &str) -> Request<pb::GetMediaRequest> {
    Request::new(pb::GetMediaRequest { media_id: media_id.into() })
}

/// What the media folder holds: file names.
fn stored(app: &TestApp) -> Vec<String> {
    std::fs::read_dir(app.media.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

async fn a_product_shows_an_uploaded_photo(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let mut client = app.client();
    let photo = png_of(3000);

    // The type comes from the bytes: sent as octet-stream, it is a PNG.
    let uploaded = client
        .upload_media(authed(&app.admin, upload(photo.clone(), "application/octet-stream")))
        .await
        .unwrap()
        .into_inner();
    let digest = hex::encode(Sha256::digest(&photo));
    assert_eq!(uploaded.media_id, digest, "the id is the content's SHA-256");
    assert_eq!(uploaded.url, format!("/v1/media/{digest}"));
    assert_eq!((uploaded.content_type.as_str(), uploaded.size_bytes), ("image/png", 3000));
    let again = client.upload_media(authed(&app.admin, upload(photo.clone(), "image/png"))).await.unwrap();
    assert_eq!(again.into_inner().media_id, digest, "the same bytes are the same media");
    assert_eq!(stored(&app), vec![digest.clone()], "stored once, under its id");

    // Anyone fetches it back, byte for byte, to be kept for good.
    let served = client.get_media(get(&digest)).await.unwrap();
    assert_eq!(
        served.metadata().get("cache-control").unwrap().to_str().unwrap(),
        "public, max-age=31536000, immutable"
    );
    let served = served.into_inner();
    assert_eq!(served.content_type, "image/png");
    assert!(served.data == photo, "the bytes come back unchanged");

    // A product shows it, by the URL it is served at.
    let clothes = app.category("Clothes").await;
    let mut request = new_product(&clothes.id, "MUG-1", "Mug", 900);
    request.images = vec![pb::NewProductImage { media_id: digest.clone(), alt: "A mug".into(), url: String::new() }];
    let product = app.create(request).await.unwrap();
    let shown =
        client.get_product(Request::new(pb::GetProductRequest { product_id: product.id.clone() })).await.unwrap();
    let image = &shown.into_inner().product.unwrap().images[0];
    assert_eq!((image.media_id.as_str(), image.url.as_str()), (digest.as_str(), uploaded.url.as_str()));
    assert_eq!(image.alt, "A mug");
}

#[tokio::test]
async fn what_is_not_an_image_is_refused() {
    let app = TestApp::spawn(TestDb::sqlite().await).await;
    let mut client = app.client();

    let text = upload(b"hello, I am not a picture\n".to_vec(), "image/png");
    assert_eq!(bad_fields(&client.upload_media(authed(&app.admin, text)).await.unwrap_err()), ["body"]);
    let gif = upload(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;".to_vec(), "image/gif");
    assert_eq!(bad_fields(&client.upload_media(authed(&app.admin, gif)).await.unwrap_err()), ["body"]);
    let empty = upload(Vec::new(), "image/png");
    assert_eq!(bad_fields(&client.upload_media(authed(&app.admin, empty)).await.unwrap_err()), ["body"]);
    let none = pb::UploadMediaRequest { body: None };
    assert_eq!(bad_fields(&client.upload_media(authed(&app.admin, none)).await.unwrap_err()), ["body"]);
    assert!(stored(&app).is_empty(), "nothing refused is stored");

    // Fetching: a media id is a digest, and an unknown one is not there.
    for bad in ["", "../../etc/passwd", "0190b4c4-0000-7000-8000-000000000000", &"A".repeat(64)] {
        assert_eq!(bad_fields(&client.get_media(get(bad)).await.unwrap_err()), ["media_id"], "{bad:?}");
    }
    assert_eq!(client.get_media(get(&"0".repeat(64))).await.unwrap_err().code(), Code::NotFound);
}

#[tokio::test]
async fn only_admins_upload() {
    let app = TestApp::spawn(TestDb::sqlite().await).await;
    let mut client = app.client();

    let anonymous = client.upload_media(Request::new(upload(png_of(100), "image/png"))).await.unwrap_err();
    assert_eq!(anonymous.code(), Code::Unauthenticated);
    let customer = client.upload_media(authed(&app.customer, upload(png_of(100), "image/png"))).await.unwrap_err();
    assert_eq!(customer.code(), Code::PermissionDenied);
    assert!(stored(&app).is_empty());
}

#[tokio::test]
async fn uploads_stop_at_the_media_limit() {
    let app = TestApp::spawn_with(TestDb::sqlite().await, |config| config.own.media_max_bytes = 10_000).await;
    let mut client = app.client();

    let over = client.upload_media(authed(&app.admin, upload(png_of(10_001), "image/png"))).await.unwrap_err();
    assert_eq!((over.code(), reason(&over).as_str()), (Code::ResourceExhausted, "TOO_LARGE"));
    assert!(over.message().contains("media limit of 10000 bytes (MART_MEDIA_MAX_BYTES)"), "{over:?}");
    assert!(stored(&app).is_empty());
    client.upload_media(authed(&app.admin, upload(png_of(10_000), "image/png"))).await.expect("at the limit");
}

#[tokio::test]
async fn an_image_larger_than_a_grpc_message_goes_through() {
    // tonic refuses messages over 4 MiB unless told otherwise: the default media limit
    // (5 MiB) is above that, so the server must allow it, both ways.
    let app = TestApp::spawn(TestDb::sqlite().await).await;
    let mut client = app.client().max_decoding_message_size(6 << 20);
    let photo = png_of(4_800_000);

    let uploaded = client.upload_media(authed(&app.admin, upload(photo.clone(), "image/png"))).await.unwrap();
    let served = client.get_media(get(&uploaded.into_inner().media_id)).await.unwrap().into_inner();
    assert_eq!(served.data.len(), photo.len());
}
