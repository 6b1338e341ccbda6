//! Calls to other services. svc-product asks one question, of svc-inventory: how many
//! units of each variant of a product can be ordered now.
//!
//! The answer decorates GetProduct and is never worth failing it for: the call has a short
//! deadline, and a slow, failing or absent svc-inventory means "stock unknown".

use std::{collections::HashMap, time::Duration};

use mart_platform::client::PeerChannel;
use mart_proto::inventory::{BatchGetStockRequest, inventory_service_client::InventoryServiceClient};

/// How long GetProduct waits for svc-inventory, connecting included.
pub const DEADLINE: Duration = Duration::from_millis(300);

/// A client of svc-inventory's BatchGetStock.
#[derive(Clone)]
pub struct StockClient {
    /// Connected on first use and reconnected as needed, so svc-product starts (and
    /// serves) whether or not svc-inventory is up.
    client: InventoryServiceClient<PeerChannel>,
}

impl StockClient {
    /// A client of svc-inventory at `addr` (`http://host:port`).
    pub fn new(addr: &str) -> Result<Self, tonic::transport::Error> {
        Ok(Self { client: InventoryServiceClient::new(PeerChannel::lazy(addr, "svc-product", DEADLINE)?) })
    }

    /// Units available to order of each variant of `product_ids` (by variant id), or `None`
    /// when svc-inventory does not answer in time.
    pub async fn levels(&self, product_ids: &[String]) -> Option<HashMap<String, i32>> {
        let mut client = self.client.clone();
        let request = BatchGetStockRequest { product_ids: product_ids.to_vec() };
        match tokio::time::timeout(DEADLINE * 10, client.batch_get_stock(request)).await {
            Ok(Ok(response)) => Some(
                response
                    .into_inner()
                    .stocks
                    .into_iter()
                    .map(|s| (if s.variant_id.is_empty() { s.product_id } else { s.variant_id }, s.available))
                    .collect(),
            ),
            Ok(Err(status)) => {
                tracing::debug!(code = ?status.code(), message = status.message(), "no stock from svc-inventory");
                None
            }
            Err(_) => None,
        }
    }

    /// Units available to order of each variant of `product_id` (by variant id), or `None`
    /// when svc-inventory does not say in time (or has no stock record for it).
    pub async fn available(&self, product_id: &str) -> Option<HashMap<String, i32>> {
        let mut client = self.client.clone();
        let request = BatchGetStockRequest { product_ids: vec![product_id.to_owned()] };
        match tokio::time::timeout(DEADLINE, client.batch_get_stock(request)).await {
            Ok(Ok(response)) => {
                let levels: HashMap<String, i32> = response
                    .into_inner()
                    .stocks
                    .into_iter()
                    .filter(|s| s.product_id == product_id)
                    // A figure from before variants is the default variant's, whose id is the product's.
                    .map(|s| (if s.variant_id.is_empty() { s.product_id } else { s.variant_id }, s.available))
                    .collect();
                Some(levels).filter(|levels| !levels.is_empty())
            }
            Ok(Err(status)) => {
                tracing::debug!(product_id, code = ?status.code(), message = status.message(), "no stock from svc-inventory");
                None
            }
            Err(_) => {
                tracing::warn!(product_id, deadline = ?DEADLINE, "svc-inventory did not answer in time; stock unknown");
                None
            }
        }
    }
}
