//! Access tokens: compact JWS with `alg: EdDSA` (Ed25519) and a `kid` header.
//!
//! Written by hand rather than with a general JWT library so that exactly one algorithm
//! exists: `alg: none`, HMAC-with-the-public-key and friends cannot be accepted because
//! there is no code path that would accept them.

use std::{sync::Arc, time::Duration};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use ed25519_dalek::{Signature, Signer, SigningKey};
use serde::{Deserialize, Serialize};
use tonic::Status;

use super::{KeySet, Principal};
use crate::{config::AuthConfig, error};

/// The longest an access token may be valid unless `MART_ACCESS_TOKEN_MAX_TTL` says otherwise.
pub const DEFAULT_MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// The claims of an access token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// Their role.
    pub role: Role,
    /// Who issued it (`mart`).
    pub iss: String,
    /// Who it is for (`mart`).
    pub aud: String,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issue time, seconds since the epoch.
    pub iat: i64,
    /// Token id, unique per token.
    pub jti: String,
    /// The session (refresh-token family) it was issued in: when the session ends early
    /// (logout, password change, account disabled, closed or given another role),
    /// verifiers refuse its tokens.
    pub sid: String,
}

/// The role claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A customer.
    User,
    /// A shop administrator.
    Admin,
}

#[derive(Serialize, Deserialize)]
struct Header {
    alg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    typ: Option<String>,
    kid: Option<String>,
}

/// Why a token was refused. Each becomes UNAUTHENTICATED; the reason is for logs and for
/// clients that want to refresh on expiry.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    /// Not three base64url parts with JSON inside.
    #[error("malformed token")]
    Malformed,
    /// Anything but EdDSA, `none` included.
    #[error("unsupported algorithm {0:?}")]
    Algorithm(String),
    /// No `kid`, or one no published key has.
    #[error("unknown signing key")]
    UnknownKey,
    /// The signature does not verify.
    #[error("bad signature")]
    Signature,
    /// `exp` has passed.
    #[error("token expired")]
    Expired,
    /// Wrong `iss` or `aud`, issued in the future, or valid for longer than any token may be.
    #[error("token not meant for us")]
    Claims,
    /// Its session was ended before it expired.
    #[error("session ended")]
    Revoked,
}

impl TokenError {
    /// The status a caller sees.
    pub fn into_status(self) -> Status {
        match self {
            TokenError::Expired => error::unauthenticated("TOKEN_EXPIRED", "the access token has expired; refresh it"),
            TokenError::Revoked => error::unauthenticated("TOKEN_REVOKED", "this session has ended; sign in again"),
            TokenError::Malformed
            | TokenError::Algorithm(_)
            | TokenError::UnknownKey
            | TokenError::Signature
            | TokenError::Claims => error::unauthenticated("INVALID_TOKEN", "the access token is not valid"),
        }
    }
}

/// Signs `claims` with `key`, naming it `kid` in the header.
pub fn sign(claims: &Claims, kid: &str, key: &SigningKey) -> String {
    let header = Header { alg: "EdDSA".to_owned(), typ: Some("JWT".to_owned()), kid: Some(kid.to_owned()) };
    // Serialising plain structs of strings and integers cannot fail.
    let header = B64.encode(serde_json::to_vec(&header).expect("header serialises"));
    let claims = B64.encode(serde_json::to_vec(claims).expect("claims serialise"));
    let signing_input = format!("{header}.{claims}");
    let signature = key.sign(signing_input.as_bytes());
    format!("{signing_input}.{}", B64.encode(signature.to_bytes()))
}

/// Checks access tokens: signature against the published keys, then issuer, audience,
/// expiry, lifetime, and whether the session was ended.
pub struct Verifier {
    keys: Arc<KeySet>,
    issuer: String,
    audience: String,
    /// Clock skew tolerated on `iat` (tokens "from the future" by more are refused).
    leeway: Duration,
    /// The longest a token may be valid (`exp - iat`): a leaked key cannot mint tokens for
    /// longer, and revocations need be published only that long.
    max_lifetime: Duration,
}

impl Verifier {
    /// A verifier trusting `keys` for tokens from `issuer` to `audience`, valid for at most
    /// [`DEFAULT_MAX_TOKEN_LIFETIME`].
    pub fn new(keys: Arc<KeySet>, issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            keys,
            issuer: issuer.into(),
            audience: audience.into(),
            leeway: Duration::from_secs(60),
            max_lifetime: DEFAULT_MAX_TOKEN_LIFETIME,
        }
    }

    /// The verifier of a service of this shop: `keys` for the claims and lifetime `auth` says.
    pub fn for_shop(keys: Arc<KeySet>, auth: &AuthConfig) -> Self {
        Self { max_lifetime: auth.max_token_lifetime, ..Self::new(keys, &auth.issuer, &auth.audience) }
    }

    /// The principal `token` speaks for, if it holds.
    pub async fn verify(&self, token: &str) -> Result<Principal, TokenError> {
        let claims = self.verify_claims(token).await?;
        Ok(Principal { user_id: claims.sub, role: claims.role, token_id: claims.jti })
    }

    /// The claims of `token`, if it holds.
    pub async fn verify_claims(&self, token: &str) -> Result<Claims, TokenError> {
        let mut parts = token.split('.');
        let (Some(header), Some(claims), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let header: Header = decode_json(header)?;
        if header.alg != "EdDSA" {
            return Err(TokenError::Algorithm(header.alg));
        }
        let kid = header.kid.ok_or(TokenError::UnknownKey)?;
        let key = self.keys.get(&kid).await.ok_or(TokenError::UnknownKey)?;

        let signature = B64.decode(signature).map_err(|_| TokenError::Malformed)?;
        let signature = Signature::from_slice(&signature).map_err(|_| TokenError::Signature)?;
        let signing_input = &token[..header_and_claims_len(token)];
        key.verify_strict(signing_input.as_bytes(), &signature).map_err(|_| TokenError::Signature)?;

        let claims: Claims = decode_json(claims)?;
        let now = chrono::Utc::now().timestamp();
        if claims.exp <= now {
            return Err(TokenError::Expired);
        }
        let lifetime = claims.exp.saturating_sub(claims.iat);
        if claims.iss != self.issuer
            || claims.aud != self.audience
            || claims.iat > now.saturating_add(self.leeway.as_secs() as i64)
            || lifetime > self.max_lifetime.as_secs() as i64
        {
            return Err(TokenError::Claims);
        }
        if self.keys.is_revoked(&claims.sid).await {
            return Err(TokenError::Revoked);
        }
        Ok(claims)
    }
}

/// The length of `header.claims`, the signed part of a token.
fn header_and_claims_len(token: &str) -> usize {
    token.rfind('.').unwrap_or(token.len())
}

fn decode_json<T: for<'de> Deserialize<'de>>(part: &str) -> Result<T, TokenError> {
    let bytes = B64.decode(part).map_err(|_| TokenError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed)
}

#[cfg(test)]
mod tests {
    use rand::rngs::OsRng;

    use super::*;
    use crate::auth::PublicKey;

    fn claims(exp_in: i64) -> Claims {
        let now = chrono::Utc::now().timestamp();
        Claims {
            sub: "u1".into(),
            role: Role::User,
            iss: "mart".into(),
            aud: "mart".into(),
            exp: now + exp_in,
            iat: now,
            jti: "t1".into(),
            sid: "s1".into(),
        }
    }

    fn verifier(key: &SigningKey) -> Verifier {
        let keys = KeySet::fixed(vec![PublicKey { kid: "k1".into(), key: key.verifying_key() }]);
        Verifier::new(Arc::new(keys), "mart", "mart")
    }

    #[tokio::test]
    async fn a_signed_token_verifies() {
        let key = SigningKey::generate(&mut OsRng);
        let token = sign(&claims(60), "k1", &key);
        assert_eq!(verifier(&key).verify(&token).await.unwrap().user_id, "u1");
    }

    #[tokio::test]
    async fn tampering_is_refused() {
        let key = SigningKey::generate(&mut OsRng);
        let other = SigningKey::generate(&mut OsRng);
        let v = verifier(&key);

        assert_eq!(v.verify(&sign(&claims(-1), "k1", &key)).await, Err(TokenError::Expired));
        assert_eq!(v.verify(&sign(&claims(60), "k1", &other)).await, Err(TokenError::Signature));
        assert_eq!(v.verify(&sign(&claims(60), "k9", &key)).await, Err(TokenError::UnknownKey));
        let mut wrong_aud = claims(60);
        wrong_aud.aud = "elsewhere".into();
        assert_eq!(v.verify(&sign(&wrong_aud, "k1", &key)).await, Err(TokenError::Claims));

        // alg none, with the payload promoted to admin.
        let mut admin = claims(60);
        admin.role = Role::Admin;
        let none = format!(
            "{}.{}.",
            B64.encode(br#"{"alg":"none","kid":"k1"}"#),
            B64.encode(serde_json::to_vec(&admin).unwrap())
        );
        assert_eq!(v.verify(&none).await, Err(TokenError::Algorithm("none".into())));

        // A valid signature over different claims.
        let good = sign(&claims(60), "k1", &key);
        let (head, rest) = good.split_once('.').unwrap();
        let (_, sig) = rest.split_once('.').unwrap();
        let forged = format!("{head}.{}.{sig}", B64.encode(serde_json::to_vec(&admin).unwrap()));
        assert_eq!(v.verify(&forged).await, Err(TokenError::Signature));

        assert_eq!(v.verify("not-a-token").await, Err(TokenError::Malformed));
    }

    #[tokio::test]
    async fn tokens_valid_for_longer_than_the_maximum_are_refused() {
        let key = SigningKey::generate(&mut OsRng);
        let v = verifier(&key);
        let mut forever = claims(0);
        forever.exp = forever.iat + DEFAULT_MAX_TOKEN_LIFETIME.as_secs() as i64 + 1;
        assert_eq!(v.verify(&sign(&forever, "k1", &key)).await, Err(TokenError::Claims));
        let mut overflowing = claims(0);
        (overflowing.iat, overflowing.exp) = (i64::MIN, i64::MAX);
        assert_eq!(v.verify(&sign(&overflowing, "k1", &key)).await, Err(TokenError::Claims));
        let mut longest = claims(0);
        longest.exp = longest.iat + DEFAULT_MAX_TOKEN_LIFETIME.as_secs() as i64;
        assert!(v.verify(&sign(&longest, "k1", &key)).await.is_ok());
    }

    #[tokio::test]
    async fn tokens_of_a_revoked_session_are_refused() {
        let key = SigningKey::generate(&mut OsRng);
        let published = crate::auth::keys::Published {
            keys: vec![PublicKey { kid: "k1".into(), key: key.verifying_key() }],
            revoked_sessions: vec!["s1".into()],
        };
        let keys = KeySet::new(Arc::new(move || {
            let published = published.clone();
            Box::pin(async move { Ok(published) })
        }));
        let v = Verifier::new(Arc::new(keys), "mart", "mart");
        assert_eq!(v.verify(&sign(&claims(60), "k1", &key)).await, Err(TokenError::Revoked));
        let mut other_session = claims(60);
        other_session.sid = "s2".into();
        assert!(v.verify(&sign(&other_session, "k1", &key)).await.is_ok());
    }
}
