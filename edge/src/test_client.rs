//! An HTTP/1.1 client for tests that talk to the edge the way curl or a browser would
//! (feature `test-util`): send a request, get status, headers, body and its JSON back.

use std::net::SocketAddr;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::{client::legacy::Client, rt::TokioExecutor};
use serde_json::Value;

/// Requests to one edge.
#[derive(Clone, Debug)]
pub struct HttpClient {
    /// The edge's address.
    pub addr: SocketAddr,
}

/// What came back.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The body as JSON, `Null` when it is not JSON.
    pub json: Value,
}

impl Answer {
    /// The field paths of the error's field violations.
    pub fn violations(&self) -> Vec<String> {
        self.json["details"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|detail| detail["fieldViolations"].as_array().into_iter().flatten())
            .filter_map(|violation| violation["field"].as_str().map(str::to_owned))
            .collect()
    }
}

impl HttpClient {
    /// `method path` with `headers` and `body`. Panics when the edge does not answer at all:
    /// in a test that is the failure.
    pub async fn call(&self, method: &str, path: &str, headers: &[(&str, &str)], body: impl Into<Bytes>) -> Answer {
        let mut request = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).expect("a method name"))
            .uri(format!("http://{}{path}", self.addr));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Full::new(body.into())).expect("a well-formed request");
        let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
        let response = client.request(request).await.expect("the edge answers");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.expect("a body").to_bytes();
        let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
        Answer { status, headers, body, json }
    }

    /// `GET path`, as the holder of `token` if any.
    pub async fn get(&self, path: &str, token: Option<&str>) -> Answer {
        let bearer = token.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> = bearer.iter().map(|b| ("authorization", b.as_str())).collect();
        self.call("GET", path, &headers, Bytes::new()).await
    }

    /// `method path` with a JSON `body`, as the holder of `token` if any.
    pub async fn send(&self, method: &str, path: &str, token: Option<&str>, body: Value) -> Answer {
        let bearer = token.map(|t| format!("Bearer {t}"));
        let mut headers = vec![("content-type", "application/json")];
        headers.extend(bearer.iter().map(|b| ("authorization", b.as_str())));
        self.call(method, path, &headers, body.to_string()).await
    }
}
