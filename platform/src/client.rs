//! Calling another service: [`PeerChannel`], a tonic channel that opens a client span per
//! call, hands the trace context on in the call's metadata (`traceparent`), and counts
//! the call in `mart_rpc_client_*`. Every service's peer clients and the edge's upstreams
//! are built on it, so a call crossing services stays in its trace.

use std::{
    task::{Context, Poll},
    time::{Duration, Instant},
};

use futures::future::BoxFuture;
use tonic::{
    body::Body,
    transport::{Channel, Endpoint},
};
use tracing::Instrument as _;

use crate::{
    metrics,
    rpc::{grpc_code, record_code, rpc_span},
    telemetry,
};

/// A lazily connected channel to a peer, traced and measured as `caller`.
#[derive(Clone, Debug)]
pub struct PeerChannel {
    channel: Channel,
    caller: &'static str,
}

impl PeerChannel {
    /// A channel to `addr` (`http://host:port`) that connects on first use; connecting and
    /// each call are bounded by `deadline`. Calls made through it are reported as `caller`'s.
    pub fn lazy(addr: &str, caller: &'static str, deadline: Duration) -> Result<Self, tonic::transport::Error> {
        let endpoint =
            Endpoint::from_shared(addr.to_owned())?.connect_timeout(deadline).timeout(deadline).tcp_nodelay(true);
        Ok(Self::over(endpoint.connect_lazy(), caller))
    }

    /// Wraps a channel built elsewhere (its own endpoint settings).
    pub fn over(channel: Channel, caller: &'static str) -> Self {
        metrics::install();
        Self { channel, caller }
    }

    /// The channel without spans or metrics: for health probes, which would bury the
    /// traces worth reading.
    pub fn untraced(&self) -> Channel {
        self.channel.clone()
    }
}

impl tower::Service<http::Request<Body>> for PeerChannel {
    type Response = http::Response<Body>;
    type Error = tonic::transport::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        tower::Service::poll_ready(&mut self.channel, cx)
    }

    fn call(&mut self, mut request: http::Request<Body>) -> Self::Future {
        let path = request.uri().path().to_owned();
        let span = rpc_span("client", &path);
        telemetry::inject(&span, request.headers_mut());
        let caller = self.caller;
        let started = Instant::now();
        let call = span.in_scope(|| self.channel.call(request));
        Box::pin(
            async move {
                let result = call.await;
                let code = match &result {
                    Ok(response) => grpc_code(response.headers()),
                    Err(error) => transport_code(error),
                };
                record_code(&tracing::Span::current(), code);
                metrics::rpc_made(caller, &path, code, started.elapsed());
                result
            }
            .instrument(span),
        )
    }
}

/// What the caller of a call that failed in the transport gets: the endpoint's timeout is
/// a deadline passing; anything else, an unreachable peer.
fn transport_code(error: &tonic::transport::Error) -> tonic::Code {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(cause) = source {
        if cause.is::<tonic::TimeoutExpired>() {
            return tonic::Code::DeadlineExceeded;
        }
        source = cause.source();
    }
    tonic::Code::Unavailable
}
