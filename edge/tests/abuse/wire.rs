//! Talking to the edge the way separate machines would: sockets bound to chosen loopback
//! addresses (127.0.0.2, 127.0.0.3, …: all of 127/8 is the loopback interface), HTTP/1.1
//! and HTTP/2 by hand, gRPC frames; and a stand-in service that records the metadata the
//! edge sends it.

use std::{
    convert::Infallible,
    net::{IpAddr, SocketAddr},
    sync::{Arc, Mutex},
};

use bytes::{BufMut, Bytes, BytesMut};
use edge::test_client::Answer;
use futures::StreamExt as _;
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::Frame;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::{TcpSocket, TcpStream};

/// A body for requests made here.
pub type AnyBody = BoxBody<Bytes, Infallible>;

/// `127.0.0.<last>`.
pub fn loopback(last: u8) -> IpAddr {
    IpAddr::from([127, 0, 0, last])
}

/// A TCP connection to `to` from the address `from`.
pub async fn connect_from(from: IpAddr, to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(from, 0))?;
    socket.connect(to).await
}

/// A whole body.
pub fn full(bytes: impl Into<Bytes>) -> AnyBody {
    Full::new(bytes.into()).boxed()
}

/// A body that sends `first` and then never ends: a request that never finishes arriving.
pub fn never_ending(first: Bytes) -> AnyBody {
    let frames = futures::stream::iter([Ok::<_, Infallible>(Frame::data(first))]).chain(futures::stream::pending());
    BodyExt::boxed(StreamBody::new(frames))
}

/// One HTTP/1.1 request from `from` on a connection of its own.
pub async fn http1_from(
    from: IpAddr,
    to: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Answer {
    let stream = connect_from(from, to).await.expect("connect to the edge");
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.expect("an HTTP/1.1 handshake");
    tokio::spawn(connection);
    let mut request = Request::builder().method(method).uri(path).header("host", to.to_string());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = sender.send_request(request.body(full(body)).unwrap()).await.expect("the edge answers");
    answer(response).await
}

async fn answer(response: Response<hyper::body::Incoming>) -> Answer {
    let (status, headers) = (response.status(), response.headers().clone());
    let body = response.into_body().collect().await.expect("a body").to_bytes();
    let json = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    Answer { status, headers, body, json }
}

/// An HTTP/2 connection (prior knowledge, as gRPC clients speak it) from `from` to `to`;
/// the task driving it is returned too, to be aborted at the end.
pub async fn http2_from(
    from: IpAddr,
    to: SocketAddr,
) -> std::io::Result<(hyper::client::conn::http2::SendRequest<AnyBody>, tokio::task::JoinHandle<()>)> {
    let stream = connect_from(from, to).await?;
    let (sender, connection) = hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
        .await
        .map_err(std::io::Error::other)?;
    let task = tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok((sender, task))
}

/// A gRPC request for `method` (`/pkg.Service/Method`) on `to` with `body` and `headers`.
pub fn grpc_request(to: SocketAddr, method: &str, headers: &[(&str, &str)], body: AnyBody) -> Request<AnyBody> {
    let mut request = Request::builder()
        .method("POST")
        .uri(format!("http://{to}{method}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.body(body).unwrap()
}

/// A gRPC call's outcome: the HTTP status, the `grpc-status` (from the trailers or, for a
/// trailers-only answer, the headers), and the message bytes.
pub async fn grpc_outcome(response: Response<hyper::body::Incoming>) -> (StatusCode, Option<String>, Bytes) {
    let status = response.status();
    let from_headers = grpc_status(response.headers());
    let collected = response.into_body().collect().await;
    match collected {
        Ok(collected) => {
            let trailers = collected.trailers().and_then(grpc_status);
            (status, trailers.or(from_headers), collected.to_bytes())
        }
        Err(_) => (status, from_headers, Bytes::new()),
    }
}

fn grpc_status(headers: &HeaderMap) -> Option<String> {
    headers.get("grpc-status").and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// One gRPC length-prefixed message.
pub fn grpc_frame(message: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(5 + message.len());
    out.put_u8(0);
    out.put_u32(message.len() as u32);
    out.put_slice(message);
    out.freeze()
}

// === a lone edge ===

/// An edge with `settings` in front of the service at `upstream` (every service is it),
/// trusting tokens of a key of its own; stops when the returned sender is dropped or sent to.
pub async fn lone_edge(
    settings: edge::Settings,
    upstream: &str,
) -> (SocketAddr, tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let mut config = edge::Config { settings, ..edge::Config::embedded() };
    for peer in [
        &mut config.peers.user,
        &mut config.peers.product,
        &mut config.peers.order,
        &mut config.peers.inventory,
        &mut config.peers.notify,
        &mut config.peers.payment,
    ] {
        *peer = upstream.to_owned();
    }
    let keys = mart_platform::test_util::TokenMinter::new().key_set();
    let edge = edge::Edge::new(&config, keys).expect("the edge builds");
    let listener = mart_platform::test_util::listener().await;
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        edge::serve(edge, listener, async move {
            let _ = stopped.await;
        })
        .await
        .expect("the edge runs");
    });
    (addr, stop, task)
}

/// A service that speaks HTTP/2 but never answers a call.
pub async fn hanging_service() -> String {
    let listener = mart_platform::test_util::listener().await;
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let service = hyper::service::service_fn(|_: Request<hyper::body::Incoming>| {
                futures::future::pending::<Result<Response<AnyBody>, Infallible>>()
            });
            tokio::spawn(
                hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service),
            );
        }
    });
    url
}

// === a recording service ===

/// A stand-in for a service: answers every gRPC call with an empty message (so the edge
/// gets a well-formed default response) and keeps the headers each call came with.
#[derive(Clone)]
pub struct Recorder {
    /// `http://127.0.0.1:port`, for the edge's peers.
    pub url: String,
    seen: Arc<Mutex<Vec<HeaderMap>>>,
}

impl Recorder {
    /// Starts one on a free port.
    pub async fn start() -> Self {
        let listener = mart_platform::test_util::listener().await;
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen: Arc<Mutex<Vec<HeaderMap>>> = Arc::default();
        let recorder = Self { url, seen: seen.clone() };
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let seen = seen.clone();
                let service = hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
                    seen.lock().unwrap().push(request.headers().clone());
                    async move { Ok::<_, Infallible>(empty_answer()) }
                });
                tokio::spawn(
                    hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service),
                );
            }
        });
        recorder
    }

    /// The headers of every call so far, oldest first.
    pub fn seen(&self) -> Vec<HeaderMap> {
        self.seen.lock().unwrap().clone()
    }

    /// The value of `name` on the latest call.
    pub fn last(&self, name: &str) -> Option<String> {
        self.seen().last().and_then(|headers| headers.get(name)).and_then(|v| v.to_str().ok()).map(str::to_owned)
    }
}

fn empty_answer() -> Response<AnyBody> {
    let mut trailers = HeaderMap::new();
    trailers.insert("grpc-status", HeaderValue::from_static("0"));
    let frames =
        futures::stream::iter([Ok::<_, Infallible>(Frame::data(grpc_frame(&[]))), Ok(Frame::trailers(trailers))]);
    let mut response = Response::new(BodyExt::boxed(StreamBody::new(frames)));
    response.headers_mut().insert("content-type", HeaderValue::from_static("application/grpc"));
    response
}
