//! The shape of one gRPC call in traces, the same on both sides: the span's name and
//! attributes, and the code read off an answer. The traced client channel and the server
//! layer both use it.

/// The status of a gRPC answer as far as its headers tell: an error is sent as
/// trailers-only (`grpc-status` in the headers); an answer with a body is taken as OK.
pub(crate) fn grpc_code(headers: &http::HeaderMap) -> tonic::Code {
    headers
        .get("grpc-status")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<i32>().ok())
        .map_or(tonic::Code::Ok, tonic::Code::from)
}

/// The span of one gRPC call seen from `kind`'s side (`client` or `server`), named as the
/// OpenTelemetry conventions name it (`mart.order.v1.OrderService/PlaceOrder`).
pub(crate) fn rpc_span(kind: &'static str, path: &str) -> tracing::Span {
    let (rpc_service, rpc_method) = split_path(path);
    tracing::info_span!(
        "grpc",
        otel.name = %path.trim_start_matches('/'),
        otel.kind = kind,
        otel.status_code = tracing::field::Empty,
        rpc.system = "grpc",
        rpc.service = rpc_service,
        rpc.method = rpc_method,
        rpc.grpc.status_code = tracing::field::Empty,
    )
}

/// `("mart.order.v1.OrderService", "PlaceOrder")` from `/mart.order.v1.OrderService/PlaceOrder`.
pub(crate) fn split_path(path: &str) -> (&str, &str) {
    path.trim_start_matches('/').split_once('/').unwrap_or((path, ""))
}

/// Puts the call's gRPC code on its span (and marks the span failed for server-side codes).
pub(crate) fn record_code(span: &tracing::Span, code: tonic::Code) {
    span.record("rpc.grpc.status_code", code as i32);
    if matches!(
        code,
        tonic::Code::Unknown
            | tonic::Code::DeadlineExceeded
            | tonic::Code::Unimplemented
            | tonic::Code::Internal
            | tonic::Code::Unavailable
            | tonic::Code::DataLoss
    ) {
        span.record("otel.status_code", "ERROR");
    }
}

/// The metadata key in which the edge passes on the end client's address, as it decided it
/// (behind trusted proxies, the right-most untrusted hop); it drops any copy a client sends.
pub const CLIENT_IP: &str = "x-mart-client-ip";

/// The end client's address for per-client rules (login throttling): the edge's
/// [`CLIENT_IP`], else the TCP peer (a caller that reached the service directly).
pub fn client_ip<T>(request: &tonic::Request<T>) -> Option<std::net::IpAddr> {
    request
        .metadata()
        .get(CLIENT_IP)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse().ok())
        .or_else(|| request.remote_addr().map(|addr| addr.ip()))
}

/// The key per-client limits count `ip` under: an IPv4 address, or an IPv6 address's /64
/// (the block one subscriber gets, and can rotate through at will), the way the edge keys
/// its own limits; an IPv4-mapped IPv6 address is its IPv4 address. `203.0.113.7`, or
/// `2001:db8:1:2::/64`.
pub fn client_key(ip: std::net::IpAddr) -> String {
    use std::net::{IpAddr, Ipv6Addr};
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => format!("{}/64", Ipv6Addr::from(u128::from(v6) & !(u128::MAX >> 64))),
        },
    }
}

#[cfg(test)]
mod client_ip_tests {
    use super::*;

    #[test]
    fn the_edge_header_wins_and_junk_falls_back_to_the_peer() {
        let mut request = tonic::Request::new(());
        assert_eq!(client_ip(&request), None);
        request.metadata_mut().insert(CLIENT_IP, "203.0.113.7".parse().unwrap());
        assert_eq!(client_ip(&request), Some("203.0.113.7".parse().unwrap()));
        request.metadata_mut().insert(CLIENT_IP, "not an address".parse().unwrap());
        assert_eq!(client_ip(&request), None);
    }

    #[test]
    fn clients_are_keyed_by_ipv4_address_or_ipv6_slash_64() {
        let key = |ip: &str| client_key(ip.parse().unwrap());
        assert_eq!(key("203.0.113.7"), "203.0.113.7");
        assert_eq!(key("::ffff:203.0.113.7"), "203.0.113.7");
        assert_eq!(key("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
    }
}
