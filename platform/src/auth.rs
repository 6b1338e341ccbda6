//! Who is calling, and may they call this RPC.
//!
//! svc-user signs short-lived Ed25519 access tokens ([`jwt`]); every service verifies them
//! against the published keys ([`keys`]). The check itself is one tower layer
//! ([`AccessLayer`]) in front of every service: it looks up the RPC's access level in the
//! contract (`mart.common.v1.access` in the `.proto`), so no handler can forget it. Handlers
//! that act on "own data" read the [`Principal`] the layer attached.

use std::{
    sync::Arc,
    task::{Context, Poll},
};

use futures::future::BoxFuture;
use http::HeaderMap;
use mart_proto::contract::{self, Access};
use tonic::Status;

use crate::error;

pub mod jwt;
pub mod keys;

pub use jwt::{Claims, Role, TokenError, Verifier};
pub use keys::{KeySet, PublicKey, Published};

/// The signed-in caller, as the access token says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The user's id (`sub`).
    pub user_id: String,
    /// Their role when the token was issued.
    pub role: Role,
    /// The token's id (`jti`).
    pub token_id: String,
}

impl Principal {
    /// Whether the caller is an admin.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Whether the caller may act on data owned by `user_id`: its owner, or an admin.
    pub fn may_access(&self, user_id: &str) -> bool {
        self.user_id == user_id || self.is_admin()
    }
}

/// The principal the access layer attached to `request`. Fails as UNAUTHENTICATED when
/// there is none (a PUBLIC RPC called without a token).
pub fn principal<T>(request: &tonic::Request<T>) -> Result<Principal, Status> {
    request
        .extensions()
        .get::<Principal>()
        .cloned()
        .ok_or_else(|| error::unauthenticated("MISSING_TOKEN", "sign in first: no access token was sent"))
}

/// Decides whether a call to the gRPC `path` may proceed, and as whom.
///
/// Methods outside the contract (health, reflection) pass with no principal. A contract
/// method without an access level is refused: the contract test forbids that, and a
/// mistake must fail closed.
pub async fn authorize(verifier: &Verifier, path: &str, headers: &HeaderMap) -> Result<Option<Principal>, Status> {
    let Some(method) = contract::method(path) else {
        return Ok(None);
    };
    match method.access {
        None => Err(error::permission_denied("NO_ACCESS_RULE", "this method has no access rule")),
        // A stale token must not stop anyone from logging in again, nor another scheme's
        // credentials (a staging proxy's basic auth) from browsing: ignore what does not hold.
        Some(Access::Public) => match bearer_token(headers) {
            Ok(Some(token)) => Ok(verifier.verify(token).await.ok()),
            Ok(None) | Err(_) => Ok(None),
        },
        Some(Access::User) => {
            let token = bearer_token(headers)?.ok_or_else(missing_token)?;
            Ok(Some(verifier.verify(token).await.map_err(TokenError::into_status)?))
        }
        Some(Access::Admin) => {
            let token = bearer_token(headers)?.ok_or_else(missing_token)?;
            let principal = verifier.verify(token).await.map_err(TokenError::into_status)?;
            if principal.is_admin() {
                Ok(Some(principal))
            } else {
                Err(error::permission_denied("ADMIN_ONLY", "this needs an admin account"))
            }
        }
        // Services call each other without an end user's token; a user never calls these.
        Some(Access::Internal) => match bearer_token(headers)? {
            Some(_) => Err(error::permission_denied("INTERNAL_ONLY", "this method is for other services only")),
            None => Ok(None),
        },
    }
}

fn missing_token() -> Status {
    error::unauthenticated("MISSING_TOKEN", "sign in first: no access token was sent")
}

/// The token in `authorization: Bearer <token>`, if any. A header that is there but not a
/// bearer token is an error, not "anonymous".
fn bearer_token(headers: &HeaderMap) -> Result<Option<&str>, Status> {
    let Some(value) = headers.get(http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    let malformed = || error::unauthenticated("MALFORMED_AUTHORIZATION", "authorization must be `Bearer <token>`");
    let value = value.to_str().map_err(|_| malformed())?;
    let (scheme, token) = value.split_once(' ').ok_or_else(malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(malformed());
    }
    Ok(Some(token.trim()))
}

// === impl AccessLayer ===

/// The tower layer every service's gRPC server runs behind. See [`authorize`].
#[derive(Clone)]
pub struct AccessLayer {
    verifier: Arc<Verifier>,
}

impl AccessLayer {
    /// A layer checking tokens with `verifier`.
    pub fn new(verifier: Arc<Verifier>) -> Self {
        Self { verifier }
    }
}

impl<S> tower::Layer<S> for AccessLayer {
    type Service = AccessService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AccessService { inner, verifier: self.verifier.clone() }
    }
}

/// The service [`AccessLayer`] wraps around the routes.
#[derive(Clone)]
pub struct AccessService<S> {
    inner: S,
    verifier: Arc<Verifier>,
}

impl<S, B> tower::Service<http::Request<B>> for AccessService<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<tonic::body::Body>> + Clone + Send + 'static,
    S::Future: Send,
    B: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        // The clone is not ready yet; keep the ready one for this call (tower's usual swap).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let verifier = self.verifier.clone();
        Box::pin(async move {
            match authorize(&verifier, request.uri().path(), request.headers()).await {
                Ok(principal) => {
                    if let Some(principal) = principal {
                        request.extensions_mut().insert(principal);
                    }
                    inner.call(request).await
                }
                Err(status) => {
                    tracing::debug!(path = request.uri().path(), code = ?status.code(), "call refused");
                    Ok(status.into_http())
                }
            }
        })
    }
}
