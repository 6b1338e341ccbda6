//! A customer's address book, and nobody else's.

use mart_platform::{db_tests, test_util::TestDb};
use mart_proto::user::{self as pb, user_service_client::UserServiceClient};
use tonic::Code;

use crate::support::{TestApp, authed, bad_fields};

db_tests!(keep_your_addresses_and_only_yours, every_bad_address_field_is_named);

fn home() -> pb::AddAddressRequest {
    pb::AddAddressRequest {
        label: "Home".into(),
        line1: "12 Analytical Row".into(),
        line2: String::new(),
        city: "London".into(),
        postal_code: "W1 1AA".into(),
        country: "gb".into(),
        latitude: Some(51.5),
        longitude: Some(-0.12),
    }
}

async fn keep_your_addresses_and_only_yours(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let ada = app.customer("ada@example.com").await;
    let eve = app.customer("eve@example.com").await;
    let ada_id = app.me(&ada).await.unwrap().id;
    let mut client = app.client();

    let added = client.add_address(authed(&ada, home())).await.unwrap().into_inner().address.unwrap();
    assert_eq!((added.country.as_str(), added.city.as_str()), ("GB", "London"));
    assert_eq!((added.latitude, added.longitude), (Some(51.5), Some(-0.12)));
    let office = pb::AddAddressRequest { label: "Office".into(), latitude: None, longitude: None, ..home() };
    client.add_address(authed(&ada, office)).await.unwrap();

    let mine = client.list_addresses(authed(&ada, pb::ListAddressesRequest {})).await.unwrap().into_inner();
    assert_eq!(mine.addresses.iter().map(|a| a.label.as_str()).collect::<Vec<_>>(), ["Home", "Office"]);
    let theirs = client.list_addresses(authed(&eve, pb::ListAddressesRequest {})).await.unwrap().into_inner();
    assert!(theirs.addresses.is_empty());

    // Eve cannot delete Ada's address: it does not exist, as far as Eve can tell.
    let status = client
        .delete_address(authed(&eve, pb::DeleteAddressRequest { address_id: added.id.clone() }))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);

    // Services snapshot addresses through the internal GetAddress, scoped by owner too.
    let mut internal = UserServiceClient::new(app.channel());
    let got = internal
        .get_address(pb::GetAddressRequest { user_id: ada_id.clone(), address_id: added.id.clone() })
        .await
        .unwrap()
        .into_inner()
        .address
        .unwrap();
    assert_eq!(got, added);
    let eve_id = app.me(&eve).await.unwrap().id;
    let wrong_owner = internal
        .get_address(pb::GetAddressRequest { user_id: eve_id, address_id: added.id.clone() })
        .await
        .unwrap_err();
    assert_eq!(wrong_owner.code(), Code::NotFound);

    let blank = internal.get_address(pb::GetAddressRequest::default()).await.unwrap_err();
    assert_eq!(bad_fields(&blank), ["user_id", "address_id"]);

    client.delete_address(authed(&ada, pb::DeleteAddressRequest { address_id: added.id.clone() })).await.unwrap();
    let again =
        client.delete_address(authed(&ada, pb::DeleteAddressRequest { address_id: added.id })).await.unwrap_err();
    assert_eq!(again.code(), Code::NotFound);
    let left = client.list_addresses(authed(&ada, pb::ListAddressesRequest {})).await.unwrap().into_inner();
    assert_eq!(left.addresses.len(), 1);
}

async fn every_bad_address_field_is_named(db: TestDb) {
    let app = TestApp::spawn(db).await;
    let ada = app.customer("ada@example.com").await;
    let mut client = app.client();
    let cases = [
        ("line1", pb::AddAddressRequest { line1: "  ".into(), ..home() }),
        ("city", pb::AddAddressRequest { city: String::new(), ..home() }),
        ("postal_code", pb::AddAddressRequest { postal_code: "9".repeat(21), ..home() }),
        ("country", pb::AddAddressRequest { country: "XX".into(), ..home() }),
        ("country", pb::AddAddressRequest { country: "GBR".into(), ..home() }),
        ("label", pb::AddAddressRequest { label: "L".repeat(51), ..home() }),
        ("line2", pb::AddAddressRequest { line2: "x".repeat(201), ..home() }),
        ("latitude", pb::AddAddressRequest { latitude: Some(90.5), ..home() }),
        ("longitude", pb::AddAddressRequest { longitude: Some(-181.0), ..home() }),
        ("longitude", pb::AddAddressRequest { longitude: None, ..home() }),
    ];
    for (field, request) in cases {
        let status = client.add_address(authed(&ada, request)).await.expect_err(field);
        assert_eq!(bad_fields(&status), [field]);
    }
    let status = client.delete_address(authed(&ada, pb::DeleteAddressRequest { address_id: String::new() })).await;
    assert_eq!(bad_fields(&status.unwrap_err()), ["address_id"]);
    let none = client.list_addresses(authed(&ada, pb::ListAddressesRequest {})).await.unwrap().into_inner();
    assert!(none.addresses.is_empty());
}
