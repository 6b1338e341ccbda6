//! Sessions: a login opens a refresh-token family, each refresh rotates to a new token in
//! the family, a logout revokes it. Only the SHA-256 of a refresh token is stored; the
//! access token is a short-lived JWT signed with the [`KeyRing`]'s current key.

use std::{net::IpAddr, sync::Arc, time::Duration};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use chrono::Utc;
use mart_platform::{
    auth::{self, Claims, jwt},
    db,
};
use rand::RngCore;
use sea_orm::{ConnectionTrait, DatabaseConnection};
use sha2::{Digest, Sha256};

use crate::{
    config::Config,
    domain::{Credentials, Role, Status},
    error::Error,
    keys::KeyRing,
    passwords,
    store::{refresh_tokens, users},
    throttle::LoginThrottle,
};

/// A freshly issued token pair.
#[derive(Debug)]
pub struct TokenPair {
    /// The signed access JWT.
    pub access_token: String,
    /// The refresh token; only its hash is kept.
    pub refresh_token: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
}

/// Signs access tokens and stores refresh tokens: the key ring and the token settings
/// (issuer, audience, lifetimes) every session command needs.
pub struct TokenIssuer {
    keys: Arc<KeyRing>,
    /// The `iss` claim, shared by every verifier (`config.auth`).
    issuer: String,
    /// The `aud` claim, shared by every verifier (`config.auth`).
    audience: String,
    /// How long an access token is valid (`MART_ACCESS_TOKEN_TTL`).
    access_token_ttl: Duration,
    /// How long a refresh token is valid (`MART_REFRESH_TOKEN_TTL`).
    refresh_token_ttl: Duration,
}

// === impl TokenIssuer ===

impl TokenIssuer {
    /// Issues tokens signed with `keys`, with the claims and lifetimes of `config`.
    pub fn new(keys: Arc<KeyRing>, config: &Config) -> Self {
        Self {
            keys,
            issuer: config.auth.issuer.clone(),
            audience: config.auth.audience.clone(),
            access_token_ttl: config.own.access_token_ttl,
            refresh_token_ttl: config.own.refresh_token_ttl,
        }
    }

    /// Signs an access token and stores a new refresh token (in `family`, or a new one), in
    /// the caller's transaction `db`.
    pub async fn issue<C: ConnectionTrait>(
        &self,
        db: &C,
        user: &users::Model,
        family: Option<String>,
    ) -> Result<TokenPair, Error> {
        let now = Utc::now();
        let role = match user.account_role()? {
            Role::Admin => auth::Role::Admin,
            Role::User => auth::Role::User,
        };
        let ttl = self.access_token_ttl.as_secs() as i64;
        // The session is the family: when it is revoked, verifiers refuse its access tokens.
        let family_id = family.unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
        let claims = Claims {
            sub: user.id.clone(),
            role,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            exp: now.timestamp() + ttl,
            iat: now.timestamp(),
            jti: uuid::Uuid::now_v7().to_string(),
            sid: family_id.clone(),
        };
        let (kid, key) = self.keys.signer().await?;
        let access_token = jwt::sign(&claims, &kid, &key);

        let mut secret = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut secret);
        let refresh_token = B64.encode(secret);
        let refresh_ttl = chrono::Duration::from_std(self.refresh_token_ttl).unwrap_or(chrono::Duration::days(30));
        refresh_tokens::insert(
            db,
            refresh_tokens::NewToken {
                user_id: user.id.clone(),
                family_id,
                token_hash: token_hash(&refresh_token),
                created_at: now,
                expires_at: now + refresh_ttl,
            },
        )
        .await?;
        Ok(TokenPair { access_token, refresh_token, expires_in: ttl })
    }
}

// === the session commands ===

/// Signs in with `credentials` from `client`: a token pair in a new family. Unknown emails
/// verify against a decoy hash: the same work, the same answer as a wrong password; and
/// both count as failures in `throttle`, which refuses attempts that come too fast after
/// too many of them before any hashing.
pub async fn login(
    db: &DatabaseConnection,
    issuer: &TokenIssuer,
    throttle: &LoginThrottle,
    credentials: Credentials,
    client: Option<IpAddr>,
) -> Result<TokenPair, Error> {
    let email = credentials.email.as_str().to_owned();
    throttle.check(&email, client)?;
    let user = users::find_by_email(db, &email).await?;
    let matches = passwords::verify(credentials.password, user.as_ref().map(|u| u.password_hash.clone())).await?;
    let user = match user {
        Some(user) if matches => user,
        _ => {
            throttle.failed(&email, client);
            return Err(Error::InvalidCredentials);
        }
    };
    throttle.succeeded(&email);
    match user.account_status()? {
        Status::Active => {}
        Status::Disabled => return Err(Error::AccountDisabled),
        Status::Deleted => return Err(Error::InvalidCredentials),
    }
    let txn = db::begin_write(db).await?;
    let tokens = issuer.issue(&txn, &user, None).await?;
    txn.commit().await?;
    Ok(tokens)
}

/// Exchanges a refresh token for a new pair in the same family. A token that was already
/// exchanged means it leaked: the whole family is revoked.
pub async fn refresh(db: &DatabaseConnection, issuer: &TokenIssuer, presented: &str) -> Result<TokenPair, Error> {
    let token = refresh_tokens::find_by_hash(db, &token_hash(presented)).await?.ok_or(Error::InvalidRefreshToken)?;
    if token.revoked_at.is_some() {
        return Err(Error::InvalidRefreshToken);
    }
    let txn = db::begin_write(db).await?;
    if token.used_at.is_some() || !refresh_tokens::mark_used(&txn, &token.id).await? {
        tracing::warn!(user_id = %token.user_id, family = %token.family_id, "refresh token reused: revoking its family");
        refresh_tokens::revoke_family(&txn, &token.family_id).await?;
        txn.commit().await?;
        return Err(Error::InvalidRefreshToken);
    }
    if token.expires_at <= Utc::now() {
        return Err(Error::InvalidRefreshToken);
    }
    let user = users::find(&txn, &token.user_id).await?.ok_or(Error::InvalidRefreshToken)?;
    match user.account_status()? {
        Status::Active => {}
        Status::Disabled => return Err(Error::AccountDisabled),
        Status::Deleted => return Err(Error::InvalidRefreshToken),
    }
    let tokens = issuer.issue(&txn, &user, Some(token.family_id)).await?;
    txn.commit().await?;
    Ok(tokens)
}

/// Ends the session `presented` belongs to, if it is one of `user_id`'s. Someone else's
/// token, or none at all: nothing to do, and nothing to tell.
pub async fn logout(db: &DatabaseConnection, user_id: &str, presented: &str) -> Result<(), Error> {
    let txn = db::begin_write(db).await?;
    if let Some(token) = refresh_tokens::find_by_hash(&txn, &token_hash(presented)).await?
        && token.user_id == user_id
    {
        refresh_tokens::revoke_family(&txn, &token.family_id).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// What is stored of a refresh token: its hex SHA-256.
fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}
