//! What svc-order asks other services, over gRPC with a deadline: the catalog for the
//! current names, SKUs, option values, images and prices of variants
//! (CatalogService.BatchGetVariants), the address book for the shipping address
//! (UserService.GetAddress). Both are INTERNAL RPCs, called without a user's token.
//!
//! Unlike svc-product's stock decoration, these answers are needed: a cart cannot be
//! priced nor an order placed without them, so a slow or absent peer is UNAVAILABLE.

use std::{collections::HashMap, time::Duration};

use mart_platform::{client::PeerChannel, money::Money};
use mart_proto::{
    product::{BatchGetVariantsRequest, VariantDetails, catalog_service_client::CatalogServiceClient},
    user::{GetAddressRequest, user_service_client::UserServiceClient},
};
use tonic::Code;

use crate::{
    domain::{CatalogEntry, CatalogLookup, OptionValue, ShippingAddress},
    error::Error,
};

/// How long a call to a peer may take, connecting included.
pub const DEADLINE: Duration = Duration::from_secs(2);

/// The most ids one BatchGetVariants call takes (the contract's limit).
const BATCH: usize = 100;

fn channel(addr: &str) -> Result<PeerChannel, tonic::transport::Error> {
    // Lazy: svc-order starts (and serves what it can) whether or not its peers are up.
    PeerChannel::lazy(addr, "svc-order", DEADLINE)
}

/// A client of svc-product's catalog.
#[derive(Clone)]
pub struct Catalog {
    client: CatalogServiceClient<PeerChannel>,
}

impl Catalog {
    /// A client of svc-product at `addr` (`http://host:port`).
    pub fn new(addr: &str) -> Result<Self, tonic::transport::Error> {
        Ok(Self { client: CatalogServiceClient::new(channel(addr)?) })
    }

    /// What the catalog says about each of `ids` (variant ids, or ids of single-variant
    /// products) it knows, archived ones included, by the id asked for; and which of them
    /// are products with several variants.
    pub async fn variants(&self, ids: &[String]) -> Result<CatalogLookup, Error> {
        let mut found = CatalogLookup { entries: HashMap::with_capacity(ids.len()), ..Default::default() };
        for chunk in ids.chunks(BATCH) {
            let mut client = self.client.clone();
            let request = BatchGetVariantsRequest { ids: chunk.to_vec() };
            let response = tokio::time::timeout(DEADLINE, client.batch_get_variants(request))
                .await
                .map_err(|_| unavailable("svc-product", "deadline exceeded"))?
                .map_err(|status| unavailable("svc-product", status.message()))?
                .into_inner();
            for details in response.variants {
                // What cannot be priced is left out, as a variant the catalog does not know.
                if let Some(entry) = entry(&details) {
                    found.entries.insert(details.requested_id, entry);
                }
            }
            found.ambiguous.extend(response.ambiguous_product_ids);
        }
        Ok(found)
    }
}

/// `details` as svc-order uses it; `None` (logged) when it cannot be priced.
fn entry(details: &VariantDetails) -> Option<CatalogEntry> {
    let requested_id = details.requested_id.as_str();
    let Some(variant) = details.variant.as_ref().filter(|variant| !variant.id.is_empty()) else {
        tracing::warn!(requested_id, "the catalog sent variant details without the variant");
        return None;
    };
    let Some(price) = variant.unit_price.as_ref() else {
        tracing::warn!(variant_id = variant.id, "the catalog sent a variant without a price");
        return None;
    };
    let price = match Money::from_stored(price.amount_minor, &price.currency) {
        Ok(price) => price,
        Err(error) => {
            tracing::warn!(variant_id = variant.id, %error, "the catalog sent a price this shop cannot read");
            return None;
        }
    };
    Some(CatalogEntry {
        product_id: details.product_id.clone(),
        variant_id: variant.id.clone(),
        sku: variant.sku.clone(),
        name: details.product_name.clone(),
        option_values: variant
            .option_values
            .iter()
            .map(|v| OptionValue { name: v.name.clone(), value: v.value.clone() })
            .collect(),
        image_url: variant.image_url.clone(),
        price,
        orderable: details.orderable,
    })
}

/// A client of svc-user's address book.
#[derive(Clone)]
pub struct AddressBook {
    client: UserServiceClient<PeerChannel>,
}

impl AddressBook {
    /// A client of svc-user at `addr` (`http://host:port`).
    pub fn new(addr: &str) -> Result<Self, tonic::transport::Error> {
        Ok(Self { client: UserServiceClient::new(channel(addr)?) })
    }

    /// `user_id`'s address `address_id`; NOT_FOUND when it is not theirs (or gone).
    pub async fn address(&self, user_id: &str, address_id: &str) -> Result<ShippingAddress, Error> {
        let mut client = self.client.clone();
        let request = GetAddressRequest { user_id: user_id.to_owned(), address_id: address_id.to_owned() };
        let response = match tokio::time::timeout(DEADLINE, client.get_address(request)).await {
            Err(_) => return Err(unavailable("svc-user", "deadline exceeded")),
            Ok(Err(status)) if status.code() == Code::NotFound => return Err(Error::NotFound("address")),
            Ok(Err(status)) => return Err(unavailable("svc-user", status.message())),
            Ok(Ok(response)) => response.into_inner(),
        };
        let address = response.address.ok_or_else(|| unavailable("svc-user", "an answer without the address"))?;
        Ok(ShippingAddress {
            address_id: address.id,
            label: address.label,
            line1: address.line1,
            line2: address.line2,
            city: address.city,
            postal_code: address.postal_code,
            country: address.country,
            latitude: address.latitude,
            longitude: address.longitude,
        })
    }
}

fn unavailable(service: &'static str, why: &str) -> Error {
    tracing::warn!(service, why, "a peer call failed");
    Error::Unavailable(service)
}
