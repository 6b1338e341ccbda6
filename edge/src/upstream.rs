//! The services behind the edge: one pooled HTTP/2 channel each, the unary call REST makes
//! (with its deadline and read-only retries), and which headers may cross into metadata.

use std::{collections::HashMap, str::FromStr, time::Duration};

use http::{HeaderMap, HeaderName, HeaderValue, uri::PathAndQuery};
use mart_platform::{client::PeerChannel, config::Peers};
use prost::Message;
use prost_reflect::{DynamicMessage, MessageDescriptor};
use tonic::{
    Code, Status,
    codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder},
    metadata::MetadataMap,
    transport::Endpoint,
};

/// Headers that services may see, as metadata. Nothing else crosses. `x-mart-client-ip`
/// is the edge's own ([`crate::client::CLIENT_IP`]): what a client sent under that name is
/// replaced at the door; `traceparent` and `tracestate` are the client's only when
/// `MART_EDGE_TRUST_TRACE_CONTEXT` is on (otherwise they are dropped at the door too).
pub const FORWARDED_HEADERS: [&str; 7] = [
    "authorization",
    "idempotency-key",
    "stripe-signature",
    "x-request-id",
    "traceparent",
    "tracestate",
    crate::client::CLIENT_IP,
];

/// How many times a read is tried when the service is unavailable.
const READ_ATTEMPTS: u32 = 3;

/// One channel per service, by the service's full proto name. Calls through them are
/// client spans of the edge's trace, and `traceparent` is the edge's own.
#[derive(Clone, Debug)]
pub struct Upstreams {
    channels: HashMap<String, PeerChannel>,
    /// Where each service lives, for the log when one is not ready (never for the answer).
    addresses: HashMap<String, String>,
}

/// Why the upstream table could not be built.
#[derive(Debug, thiserror::Error)]
#[error("{service} at {address}: {source}")]
pub struct UpstreamError {
    service: String,
    address: String,
    source: tonic::transport::Error,
}

impl Upstreams {
    /// Channels to every service of the contract at the `peers` addresses. Nothing connects
    /// yet: each channel connects on first use and reconnects on its own.
    pub fn new(peers: &Peers) -> Result<Self, UpstreamError> {
        let mut channels = HashMap::new();
        let mut addresses = HashMap::new();
        for service in mart_proto::contract::service_names() {
            let address = match domain_of(&service) {
                "user" => &peers.user,
                "product" => &peers.product,
                "order" => &peers.order,
                "inventory" => &peers.inventory,
                "notify" => &peers.notify,
                "payment" => &peers.payment,
                _ => continue,
            };
            let endpoint = Endpoint::from_shared(address.clone())
                .map_err(|source| UpstreamError { service: service.clone(), address: address.clone(), source })?
                .connect_timeout(Duration::from_secs(2))
                .tcp_nodelay(true)
                .http2_keep_alive_interval(Duration::from_secs(30))
                .keep_alive_while_idle(true);
            channels.insert(service.clone(), PeerChannel::over(endpoint.connect_lazy(), "edge"));
            addresses.insert(service, address.clone());
        }
        Ok(Self { channels, addresses })
    }

    /// The channel to the service that owns the gRPC `path` (`/pkg.Service/Method`).
    pub fn for_path(&self, path: &str) -> Option<&PeerChannel> {
        let service = path.trim_start_matches('/').split('/').next()?;
        self.channels.get(service)
    }

    /// Every service with its channel and address.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &PeerChannel, &str)> {
        self.channels
            .iter()
            .map(|(name, channel)| (name.as_str(), channel, self.addresses.get(name).map(String::as_str).unwrap_or("")))
    }
}

/// `mart.user.v1.UserService` → `user`.
fn domain_of(service: &str) -> &str {
    service.split('.').nth(1).unwrap_or("")
}

/// Calls `method` on `channel` with `message`, waiting at most `deadline`. `idempotent`
/// calls (reads) are tried again, within the same deadline, when the service is
/// unavailable. The answer may be as large as `max_message` bytes (an image, from GetMedia).
pub async fn unary(
    channel: &PeerChannel,
    method: &mart_proto::contract::Method,
    message: DynamicMessage,
    metadata: MetadataMap,
    deadline: Duration,
    idempotent: bool,
    max_message: usize,
) -> Result<(DynamicMessage, MetadataMap), Status> {
    let path = PathAndQuery::from_str(&method.path).map_err(|_| Status::internal("bad method path"))?;
    let output = method.descriptor.output();
    let started = tokio::time::Instant::now();
    let mut attempt = 1;
    loop {
        let remaining = deadline.saturating_sub(started.elapsed());
        let mut request = tonic::Request::from_parts(metadata.clone(), Default::default(), message.clone());
        request.set_timeout(remaining);
        let mut grpc = tonic::client::Grpc::new(channel.clone()).max_decoding_message_size(max_message);
        let call = async {
            grpc.ready().await.map_err(|error| Status::unavailable(format!("the service is unreachable: {error}")))?;
            grpc.unary(request, path.clone(), DynamicCodec { output: output.clone() }).await
        };
        let result = match tokio::time::timeout(remaining, call).await {
            // tonic's channel enforces the `grpc-timeout` it sends and reports its expiry as
            // CANCELLED; for the caller that is the deadline passing.
            Ok(Err(status))
                if status.code() == Code::Cancelled && started.elapsed() + Duration::from_millis(10) >= deadline =>
            {
                Err(Status::deadline_exceeded("the service did not answer in time"))
            }
            Ok(result) => result,
            Err(_) => Err(Status::deadline_exceeded("the service did not answer in time")),
        };
        match result {
            Ok(response) => {
                let (metadata, message, _) = response.into_parts();
                return Ok((message, metadata));
            }
            Err(status) if idempotent && status.code() == Code::Unavailable && attempt < READ_ATTEMPTS => {
                let backoff = Duration::from_millis(25 << attempt);
                if started.elapsed() + backoff >= deadline {
                    return Err(status);
                }
                tokio::time::sleep(backoff).await;
                attempt += 1;
            }
            Err(status) => return Err(status),
        }
    }
}

/// The metadata for a call: the forwarded headers of `headers`, nothing else.
pub fn metadata_from(headers: &HeaderMap) -> MetadataMap {
    MetadataMap::from_headers(forwarded(headers))
}

/// The forwarded headers of `headers`.
pub fn forwarded(headers: &HeaderMap) -> HeaderMap {
    let mut out = HeaderMap::with_capacity(FORWARDED_HEADERS.len());
    for name in FORWARDED_HEADERS {
        for value in headers.get_all(name) {
            out.append(HeaderName::from_static(name), value.clone());
        }
    }
    out
}

/// The deadline a client asked for with `grpc-timeout` (`5S`, `250m`, …), if any.
pub fn requested_timeout(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get("grpc-timeout")?.to_str().ok()?;
    let (digits, unit) = text.split_at(text.len().checked_sub(1)?);
    let amount: u64 = digits.parse().ok()?;
    if digits.len() > 8 {
        return None;
    }
    Some(match unit {
        "H" => Duration::from_secs(amount * 3600),
        "M" => Duration::from_secs(amount * 60),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

/// The deadline of a unary call: what the client asked with `grpc-timeout`, cut to `max`,
/// or `default` when it asked nothing usable.
pub fn deadline(headers: &HeaderMap, default: Duration, max: Duration) -> Duration {
    requested_timeout(headers).map_or(default, |asked| asked.min(max)).min(max)
}

/// Calls the server-streaming `method` on `channel` with `message`: its messages as they
/// come, each up to `max_message` bytes. The call has no deadline (a watch lives as long
/// as the service lets it); only its start — the service's first answer — must come
/// within `start_within`.
pub async fn server_streaming(
    channel: &PeerChannel,
    method: &mart_proto::contract::Method,
    message: DynamicMessage,
    metadata: MetadataMap,
    start_within: Duration,
    max_message: usize,
) -> Result<(tonic::codec::Streaming<DynamicMessage>, MetadataMap), Status> {
    let path = PathAndQuery::from_str(&method.path).map_err(|_| Status::internal("bad method path"))?;
    let codec = DynamicCodec { output: method.descriptor.output() };
    let request = tonic::Request::from_parts(metadata, Default::default(), message);
    let mut grpc = tonic::client::Grpc::new(channel.clone()).max_decoding_message_size(max_message);
    let call = async {
        grpc.ready().await.map_err(|error| Status::unavailable(format!("the service is unreachable: {error}")))?;
        grpc.server_streaming(request, path, codec).await
    };
    match tokio::time::timeout(start_within, call).await {
        Ok(Ok(response)) => {
            let (metadata, stream, _) = response.into_parts();
            Ok((stream, metadata))
        }
        Ok(Err(status)) => Err(status),
        Err(_) => Err(Status::deadline_exceeded("the service did not answer in time")),
    }
}

/// A header value from metadata, for echoing (`x-request-id`).
pub fn header_value(metadata: &MetadataMap, name: &str) -> Option<HeaderValue> {
    metadata.get(name).and_then(|value| HeaderValue::from_bytes(value.as_bytes()).ok())
}

// === impl DynamicCodec ===

/// Encodes any message and decodes the method's output type from its descriptor.
#[derive(Clone, Debug)]
struct DynamicCodec {
    output: MessageDescriptor,
}

impl Codec for DynamicCodec {
    type Encode = DynamicMessage;
    type Decode = DynamicMessage;
    type Encoder = DynamicEncoder;
    type Decoder = DynamicDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        DynamicEncoder
    }

    fn decoder(&mut self) -> Self::Decoder {
        DynamicDecoder(self.output.clone())
    }
}

#[derive(Debug)]
struct DynamicEncoder;

impl Encoder for DynamicEncoder {
    type Item = DynamicMessage;
    type Error = Status;

    fn encode(&mut self, item: Self::Item, dst: &mut EncodeBuf<'_>) -> Result<(), Self::Error> {
        item.encode(dst).map_err(|error| Status::internal(format!("encoding the request: {error}")))
    }
}

#[derive(Debug)]
struct DynamicDecoder(MessageDescriptor);

impl Decoder for DynamicDecoder {
    type Item = DynamicMessage;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, Self::Error> {
        DynamicMessage::decode(self.0.clone(), src)
            .map(Some)
            .map_err(|error| Status::internal(format!("the service's answer does not decode: {error}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeouts_parse() {
        let mut headers = HeaderMap::new();
        headers.insert("grpc-timeout", HeaderValue::from_static("250m"));
        assert_eq!(requested_timeout(&headers), Some(Duration::from_millis(250)));
        headers.insert("grpc-timeout", HeaderValue::from_static("5S"));
        assert_eq!(requested_timeout(&headers), Some(Duration::from_secs(5)));
        headers.insert("grpc-timeout", HeaderValue::from_static("soon"));
        assert_eq!(requested_timeout(&headers), None);
    }

    #[test]
    fn deadlines_are_cut_to_the_maximum() {
        let (default, max) = (Duration::from_secs(10), Duration::from_secs(30));
        let mut headers = HeaderMap::new();
        assert_eq!(deadline(&headers, default, max), default);
        headers.insert("grpc-timeout", HeaderValue::from_static("99999999S"));
        assert_eq!(deadline(&headers, default, max), max);
        headers.insert("grpc-timeout", HeaderValue::from_static("99999999H"));
        assert_eq!(deadline(&headers, default, max), max);
        headers.insert("grpc-timeout", HeaderValue::from_static("2S"));
        assert_eq!(deadline(&headers, default, max), Duration::from_secs(2));
        // A default above the maximum is cut too.
        assert_eq!(deadline(&HeaderMap::new(), Duration::from_secs(60), max), max);
    }

    #[test]
    fn only_listed_headers_cross() {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", HeaderValue::from_static("Bearer x"));
        headers.insert("cookie", HeaderValue::from_static("secret"));
        headers.insert("x-user-id", HeaderValue::from_static("someone-else"));
        let forwarded = forwarded(&headers);
        assert_eq!(forwarded.len(), 1);
        assert!(forwarded.contains_key("authorization"));
    }
}
