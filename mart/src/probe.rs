//! `mart probe`: is the service or edge in this container healthy? The answer a container
//! health check needs (Docker's `HEALTHCHECK`, compose's `healthcheck`): healthy or not,
//! and one line saying why, within [`TIMEOUT`].
//!
//! A target is `grpc://host:port` (the server's `grpc.health.v1` status, service `""`: the
//! whole server) or `http://host:port/path` (a GET that must answer 2xx). Without one, the
//! probe looks where the container's own configuration says it listens
//! ([`Target::from_env`]), so one `HEALTHCHECK` line serves every binary in the image.

use std::{
    fmt,
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    time::Duration,
};

use bytes::Bytes;
use http::{Request, Uri};
use http_body_util::Empty;
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};

/// How long one probe may take in all, connecting included. Shorter than the health
/// checks' own timeouts (3 s in deploy/), so the probe reports why instead of being killed.
pub const TIMEOUT: Duration = Duration::from_secs(2);

/// Where the edge listens when `MART_HTTP_ADDR` is unset (DESIGN.md §5): what `mart up` serves.
const DEFAULT_HTTP_ADDR: &str = "127.0.0.1:8000";

/// What to probe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A gRPC server at `host:port`; healthy when it reports SERVING.
    Grpc {
        /// `host:port`.
        authority: String,
    },
    /// An HTTP endpoint; healthy when a GET answers 2xx.
    Http {
        /// The whole `http://host:port/path`.
        uri: Uri,
    },
}

/// Why a probe failed. Either way the container is not known to be healthy.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The target (or the variable it came from) is not one the probe understands.
    #[error("{0}")]
    BadTarget(String),
    /// The target did not answer as a healthy one does.
    #[error("{target}: {reason}")]
    Unhealthy {
        /// What was probed.
        target: Target,
        /// What went wrong: no connection, no answer in time, the status it gave.
        reason: String,
    },
}

impl Target {
    /// Parses `grpc://host:port` or `http://host:port[/path]` (`/` when no path is given).
    pub fn parse(target: &str) -> Result<Self, ProbeError> {
        let bad = |why: &str| {
            ProbeError::BadTarget(format!("probe target {target:?}: {why} (grpc://host:port or http://host:port/path)"))
        };
        let uri: Uri = target.parse().map_err(|_| bad("not a URL"))?;
        let authority = uri.authority().filter(|a| a.port_u16().is_some()).ok_or_else(|| bad("no host:port"))?;
        match uri.scheme_str() {
            Some("grpc") if uri.path() == "/" || uri.path().is_empty() => {
                Ok(Target::Grpc { authority: authority.to_string() })
            }
            Some("grpc") => Err(bad("a gRPC target has no path: it checks the whole server")),
            Some("http") => Ok(Target::Http { uri }),
            _ => Err(bad("unsupported scheme")),
        }
    }

    /// The target a container's own configuration implies, read through `lookup` (the
    /// environment, in the binary): the edge's `/healthz` at `MART_HTTP_ADDR` when that is set;
    /// else gRPC health at `MART_GRPC_ADDR` (a service); else the edge's default address, where
    /// `mart up` serves. A wildcard listen address (`0.0.0.0`, `[::]`) is probed on loopback.
    pub fn from_env(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ProbeError> {
        let var = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let addr = |name: &str, value: &str| {
            value
                .parse::<SocketAddr>()
                .map(on_loopback)
                .map_err(|_| ProbeError::BadTarget(format!("invalid {name}={value:?}: expected host:port")))
        };
        if let Some(http) = var("MART_HTTP_ADDR") {
            return Self::parse(&format!("http://{}/healthz", addr("MART_HTTP_ADDR", &http)?));
        }
        if let Some(grpc) = var("MART_GRPC_ADDR") {
            return Ok(Target::Grpc { authority: addr("MART_GRPC_ADDR", &grpc)?.to_string() });
        }
        Self::parse(&format!("http://{DEFAULT_HTTP_ADDR}/healthz"))
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Grpc { authority } => write!(f, "grpc://{authority}"),
            Target::Http { uri } => write!(f, "{uri}"),
        }
    }
}

/// Probes `target` once, within [`TIMEOUT`]; on success, the line to print.
pub async fn check(target: &Target) -> Result<String, ProbeError> {
    let unhealthy = |reason: String| ProbeError::Unhealthy { target: target.clone(), reason };
    let answer = match target {
        Target::Grpc { authority } => tokio::time::timeout(TIMEOUT, grpc(authority)).await,
        Target::Http { uri } => tokio::time::timeout(TIMEOUT, http(uri)).await,
    };
    match answer {
        Ok(Ok(status)) => Ok(format!("{target} is healthy ({status})")),
        Ok(Err(reason)) => Err(unhealthy(reason)),
        Err(_) => Err(unhealthy(format!("no answer within {}s", TIMEOUT.as_secs()))),
    }
}

/// The server's overall health status, or why there is none.
async fn grpc(authority: &str) -> Result<String, String> {
    let endpoint =
        tonic::transport::Endpoint::from_shared(format!("http://{authority}")).map_err(|error| chain(&error))?;
    let channel = endpoint.connect_timeout(TIMEOUT).connect().await.map_err(|error| chain(&error))?;
    let response = HealthClient::new(channel)
        .check(HealthCheckRequest { service: String::new() })
        .await
        .map_err(|status| format!("health check failed: {} {}", status.code(), status.message()))?;
    match response.into_inner().status() {
        ServingStatus::Serving => Ok("SERVING".to_owned()),
        other => Err(format!("reports {}", other.as_str_name())),
    }
}

/// The endpoint's 2xx status, or why there is none.
async fn http(uri: &Uri) -> Result<String, String> {
    let mut connector = HttpConnector::new();
    connector.set_connect_timeout(Some(TIMEOUT));
    let client = Client::builder(TokioExecutor::new()).build::<_, Empty<Bytes>>(connector);
    let request = Request::get(uri.clone())
        .header(http::header::USER_AGENT, "mart-probe")
        .body(Empty::new())
        .map_err(|error| error.to_string())?;
    let response = client.request(request).await.map_err(|error| chain(&error))?;
    let status = response.status();
    if status.is_success() { Ok(status.to_string()) } else { Err(format!("answered {status}")) }
}

/// Loopback in place of a wildcard listen address: where a process reaches its own listener.
fn on_loopback(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => SocketAddr::new(Ipv4Addr::LOCALHOST.into(), addr.port()),
        IpAddr::V6(ip) if ip.is_unspecified() => SocketAddr::new(Ipv6Addr::LOCALHOST.into(), addr.port()),
        _ => addr,
    }
}

/// An error and its causes on one line: transport errors say little at the top ("transport
/// error", "client error (Connect)") and the useful part ("Connection refused") below.
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut line = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !line.contains(&cause_text) {
            line.push_str(": ");
            line.push_str(&cause_text);
        }
        source = cause.source();
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned())
    }

    #[test]
    fn targets_parse_and_print_as_given() {
        assert_eq!(
            Target::parse("grpc://svc-user:50051").unwrap(),
            Target::Grpc { authority: "svc-user:50051".into() }
        );
        assert_eq!(Target::parse("http://edge:8000/readyz").unwrap().to_string(), "http://edge:8000/readyz");
        assert_eq!(Target::parse("http://127.0.0.1:8000").unwrap().to_string(), "http://127.0.0.1:8000/");
        for bad in
            ["svc-user:50051", "ftp://x:21/", "grpc://svc-user", "grpc://h:1/mart.user.v1.UserService", "https://h:1/"]
        {
            let error = Target::parse(bad).expect_err(bad);
            assert!(error.to_string().contains(bad), "{error}");
        }
    }

    #[test]
    fn without_a_target_the_containers_own_listener_is_probed_on_loopback() {
        let edge = Target::from_env(env(&[("MART_HTTP_ADDR", "0.0.0.0:8000"), ("MART_GRPC_ADDR", "0.0.0.0:1")]));
        assert_eq!(edge.unwrap().to_string(), "http://127.0.0.1:8000/healthz");
        let service = Target::from_env(env(&[("MART_GRPC_ADDR", "[::]:50053"), ("MART_HTTP_ADDR", " ")]));
        assert_eq!(service.unwrap().to_string(), "grpc://[::1]:50053");
        let pinned = Target::from_env(env(&[("MART_GRPC_ADDR", "10.0.0.7:50052")]));
        assert_eq!(pinned.unwrap().to_string(), "grpc://10.0.0.7:50052");
        assert_eq!(Target::from_env(env(&[])).unwrap().to_string(), "http://127.0.0.1:8000/healthz");
        let bad = Target::from_env(env(&[("MART_GRPC_ADDR", "localhost")])).unwrap_err();
        assert!(bad.to_string().contains("MART_GRPC_ADDR"), "{bad}");
    }
}
