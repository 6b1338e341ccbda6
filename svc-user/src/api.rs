//! The UserService gRPC API: decode the request, check who is asking, apply the rules,
//! encode the answer. The access level of each RPC was already enforced by the platform's
//! access layer (from the `.proto`); handlers here add the "own data only" rule.

use std::sync::Arc;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use chrono::Utc;
use mart_platform::{
    auth::{self, Claims, Principal, jwt},
    config::AuthConfig,
    db::{self, is_unique_violation},
    error::Violations,
    outbox::relay::RelayWaker,
    paging,
    wire::timestamp,
};
use mart_proto::user::{self as pb, user_service_server::UserService};
use rand::RngCore;
use sea_orm::{ActiveModelTrait, DatabaseConnection, IntoActiveModel, Set};
use sha2::{Digest, Sha256};
use tonic::{Request, Response, Status};

use crate::{
    domain::{Address, AddressInput, Email, Name, Phone, Role, Status as AccountStatus, check_password},
    error::Error,
    events,
    keys::KeyRing,
    passwords,
    store::{addresses, refresh_tokens, users},
};

/// Login, RefreshToken and ChangePassword all answer with a token pair in the same four
/// fields of their own response message.
macro_rules! token_response {
    ($response:ident, $tokens:expr) => {{
        let tokens: TokenPair = $tokens;
        pb::$response {
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
            token_type: "Bearer".into(),
            expires_in: tokens.expires_in,
        }
    }};
}

/// The UserService implementation.
pub struct UserApi {
    db: DatabaseConnection,
    keys: Arc<KeyRing>,
    /// Nudged after every commit that wrote events, so they leave at once.
    relay: RelayWaker,
    auth: AuthConfig,
}

impl UserApi {
    /// The API over `db`, signing with `keys`, waking `relay` after writing events.
    pub fn new(db: DatabaseConnection, keys: Arc<KeyRing>, relay: RelayWaker, auth: AuthConfig) -> Self {
        Self { db, keys, relay, auth }
    }
}

fn reply<T>(result: Result<T, Error>) -> Result<Response<T>, Status> {
    result.map(Response::new).map_err(Status::from)
}

#[tonic::async_trait]
impl UserService for UserApi {
    async fn register(&self, request: Request<pb::RegisterRequest>) -> Result<Response<pb::RegisterResponse>, Status> {
        let request = request.into_inner();
        reply(
            async {
                let account = NewAccount::parse(
                    &request.email,
                    &request.password,
                    &request.first_name,
                    &request.last_name,
                    request.phone.as_deref(),
                )?;
                let user = register(&self.db, &self.relay, account, Role::User).await?;
                Ok(pb::RegisterResponse { user: Some(to_proto_user(&user)?) })
            }
            .await,
        )
    }

    async fn login(&self, request: Request<pb::LoginRequest>) -> Result<Response<pb::LoginResponse>, Status> {
        let request = request.into_inner();
        reply(
            async {
                let mut violations = Violations::new();
                let email = violations.check(Email::parse("email", &request.email));
                if request.password.is_empty() {
                    violations.add("password", "required");
                }
                violations.finish().map_err(Error::Invalid)?;
                let email = email.ok_or_else(|| Error::Internal("email parsed".into()))?;

                let user = users::find_by_email(&self.db, email.as_str()).await?;
                // Unknown emails verify against a decoy hash: the same work, the same answer.
                let matches =
                    passwords::verify(request.password, user.as_ref().map(|u| u.password_hash.clone())).await?;
                let user = match user {
                    Some(user) if matches => user,
                    _ => return Err(Error::InvalidCredentials),
                };
                match account_status(&user)? {
                    AccountStatus::Active => {}
                    AccountStatus::Disabled => return Err(Error::AccountDisabled),
                    AccountStatus::Deleted => return Err(Error::InvalidCredentials),
                }
                let txn = db::begin(&self.db).await?;
                let tokens = self.issue_tokens(&txn, &user, None).await?;
                txn.commit().await?;
                Ok(token_response!(LoginResponse, tokens))
            }
            .await,
        )
    }

    async fn refresh_token(
        &self,
        request: Request<pb::RefreshTokenRequest>,
    ) -> Result<Response<pb::RefreshTokenResponse>, Status> {
        let request = request.into_inner();
        reply(
            async {
                if request.refresh_token.is_empty() {
                    return Err(Error::Invalid(vec![mart_platform::error::FieldViolation::new(
                        "refresh_token",
                        "required",
                    )]));
                }
                let tokens = self.rotate_refresh_token(&request.refresh_token).await?;
                Ok(token_response!(RefreshTokenResponse, tokens))
            }
            .await,
        )
    }

    async fn logout(&self, request: Request<pb::LogoutRequest>) -> Result<Response<pb::LogoutResponse>, Status> {
        let me = auth::principal(&request)?;
        let request = request.into_inner();
        reply(
            async {
                if request.refresh_token.is_empty() {
                    return Err(Error::Invalid(vec![mart_platform::error::FieldViolation::new(
                        "refresh_token",
                        "required",
                    )]));
                }
                // Someone else's token, or none at all: nothing to do, and nothing to tell.
                if let Some(token) = refresh_tokens::find_by_hash(&self.db, &token_hash(&request.refresh_token)).await?
                    && token.user_id == me.user_id
                {
                    refresh_tokens::revoke_family(&self.db, &token.family_id).await?;
                }
                Ok(pb::LogoutResponse {})
            }
            .await,
        )
    }

    async fn get_jwks(&self, _request: Request<pb::GetJwksRequest>) -> Result<Response<pb::GetJwksResponse>, Status> {
        reply(
            async {
                let keys = self.keys.published().await?;
                Ok(pb::GetJwksResponse { keys: keys.iter().map(|k| k.to_jwk()).collect() })
            }
            .await,
        )
    }

    async fn get_me(&self, request: Request<pb::GetMeRequest>) -> Result<Response<pb::GetMeResponse>, Status> {
        let me = auth::principal(&request)?;
        reply(
            async {
                let user = self.active_user(&me).await?;
                Ok(pb::GetMeResponse { user: Some(to_proto_user(&user)?) })
            }
            .await,
        )
    }

    async fn update_me(&self, request: Request<pb::UpdateMeRequest>) -> Result<Response<pb::UpdateMeResponse>, Status> {
        let me = auth::principal(&request)?;
        let request = request.into_inner();
        reply(
            async {
                let mut violations = Violations::new();
                let first_name =
                    request.first_name.as_deref().and_then(|v| violations.check(Name::parse("first_name", v)));
                let last_name =
                    request.last_name.as_deref().and_then(|v| violations.check(Name::parse("last_name", v)));
                // An empty phone clears it.
                let phone = request.phone.as_deref().map(|v| {
                    if v.trim().is_empty() { Some(None) } else { violations.check(Phone::parse("phone", v)).map(Some) }
                });
                let email = request.email.as_deref().and_then(|v| violations.check(Email::parse("email", v)));
                violations.finish().map_err(Error::Invalid)?;

                let user = self.active_user(&me).await?;
                let email = email.filter(|email| email.as_str() != user.email);
                if email.is_some() {
                    let current = request.current_password.clone().unwrap_or_default();
                    if current.is_empty() {
                        return Err(violation("current_password", "required to change the email address"));
                    }
                    if !passwords::verify(current, Some(user.password_hash.clone())).await? {
                        return Err(violation("current_password", "does not match"));
                    }
                }

                let mut changed = user.clone().into_active_model();
                if let Some(name) = first_name {
                    changed.first_name = Set(name.into_inner());
                }
                if let Some(name) = last_name {
                    changed.last_name = Set(name.into_inner());
                }
                if let Some(phone) = phone.flatten() {
                    changed.phone = Set(phone.map(Phone::into_inner));
                }
                if let Some(email) = email {
                    changed.email = Set(email.as_str().to_owned());
                }
                if !changed.is_changed() {
                    return Ok(pb::UpdateMeResponse { user: Some(to_proto_user(&user)?) });
                }
                changed.updated_at = Set(Utc::now());

                let txn = db::begin(&self.db).await?;
                let user = changed.update(&txn).await.map_err(email_taken_or)?;
                events::updated(&txn, &user).await?;
                txn.commit().await?;
                self.relay.wake();
                Ok(pb::UpdateMeResponse { user: Some(to_proto_user(&user)?) })
            }
            .await,
        )
    }

    async fn change_password(
        &self,
        request: Request<pb::ChangePasswordRequest>,
    ) -> Result<Response<pb::ChangePasswordResponse>, Status> {
        let me = auth::principal(&request)?;
        let request = request.into_inner();
        reply(
            async {
                let user = self.active_user(&me).await?;
                let mut violations = Violations::new();
                if request.current_password.is_empty() {
                    violations.add("current_password", "required");
                }
                violations.check(check_password("new_password", &request.new_password, &user.email));
                if !request.new_password.is_empty() && request.new_password == request.current_password {
                    violations.add("new_password", "must differ from the current password");
                }
                violations.finish().map_err(Error::Invalid)?;
                if !passwords::verify(request.current_password, Some(user.password_hash.clone())).await? {
                    return Err(violation("current_password", "does not match"));
                }
                let hash = passwords::hash(request.new_password).await?;

                let txn = db::begin(&self.db).await?;
                let mut changed = user.into_active_model();
                changed.password_hash = Set(hash);
                changed.updated_at = Set(Utc::now());
                let user = changed.update(&txn).await?;
                // Every session that knew the old password ends; this one gets a fresh pair.
                refresh_tokens::revoke_all(&txn, &user.id).await?;
                let tokens = self.issue_tokens(&txn, &user, None).await?;
                txn.commit().await?;
                Ok(token_response!(ChangePasswordResponse, tokens))
            }
            .await,
        )
    }

    async fn delete_me(&self, request: Request<pb::DeleteMeRequest>) -> Result<Response<pb::DeleteMeResponse>, Status> {
        let me = auth::principal(&request)?;
        reply(
            async {
                let user = self.active_user(&me).await?;
                let txn = db::begin(&self.db).await?;
                let was_admin = user.role == Role::Admin.as_str();
                let mut changed = user.into_active_model();
                changed.status = Set(AccountStatus::Deleted.as_str().to_owned());
                changed.updated_at = Set(Utc::now());
                let user = changed.update(&txn).await?;
                if was_admin && users::count_active_admins(&txn).await? == 0 {
                    return Err(Error::LastAdmin);
                }
                refresh_tokens::revoke_all(&txn, &user.id).await?;
                events::deleted(&txn, &user.id).await?;
                txn.commit().await?;
                self.relay.wake();
                Ok(pb::DeleteMeResponse {})
            }
            .await,
        )
    }

    async fn add_address(
        &self,
        request: Request<pb::AddAddressRequest>,
    ) -> Result<Response<pb::AddAddressResponse>, Status> {
        let me = auth::principal(&request)?;
        let request = request.into_inner();
        reply(
            async {
                let address = Address::try_from(AddressInput {
                    label: request.label,
                    line1: request.line1,
                    line2: request.line2,
                    city: request.city,
                    postal_code: request.postal_code,
                    country: request.country,
                    latitude: request.latitude,
                    longitude: request.longitude,
                })
                .map_err(Error::Invalid)?;
                let user = self.active_user(&me).await?;
                let row = addresses::ActiveModel {
                    id: Set(uuid::Uuid::now_v7().to_string()),
                    user_id: Set(user.id),
                    label: Set(address.label),
                    line1: Set(address.line1),
                    line2: Set(address.line2),
                    city: Set(address.city),
                    postal_code: Set(address.postal_code),
                    country: Set(address.country),
                    latitude: Set(address.coordinates.map(|(lat, _)| lat)),
                    longitude: Set(address.coordinates.map(|(_, lng)| lng)),
                    created_at: Set(Utc::now()),
                }
                .insert(&self.db)
                .await?;
                Ok(pb::AddAddressResponse { address: Some(to_proto_address(&row)) })
            }
            .await,
        )
    }

    async fn list_addresses(
        &self,
        request: Request<pb::ListAddressesRequest>,
    ) -> Result<Response<pb::ListAddressesResponse>, Status> {
        let me = auth::principal(&request)?;
        reply(
            async {
                let rows = addresses::list(&self.db, &me.user_id).await?;
                Ok(pb::ListAddressesResponse { addresses: rows.iter().map(to_proto_address).collect() })
            }
            .await,
        )
    }

    async fn delete_address(
        &self,
        request: Request<pb::DeleteAddressRequest>,
    ) -> Result<Response<pb::DeleteAddressResponse>, Status> {
        let me = auth::principal(&request)?;
        let request = request.into_inner();
        reply(
            async {
                if request.address_id.trim().is_empty() {
                    return Err(violation("address_id", "required"));
                }
                // Another user's address is indistinguishable from a missing one.
                if !addresses::delete_owned(&self.db, &me.user_id, &request.address_id).await? {
                    return Err(Error::NotFound("address"));
                }
                Ok(pb::DeleteAddressResponse {})
            }
            .await,
        )
    }

    async fn list_users(
        &self,
        request: Request<pb::ListUsersRequest>,
    ) -> Result<Response<pb::ListUsersResponse>, Status> {
        let request = request.into_inner();
        reply(
            async {
                let mut violations = Violations::new();
                let limit = violations.check(paging::page_size(request.page_size)).unwrap_or(20);
                let after = if request.page_token.is_empty() {
                    None
                } else {
                    let decoded = B64.decode(&request.page_token).ok().and_then(|b| String::from_utf8(b).ok());
                    if decoded.is_none() {
                        violations.add("page_token", "not a token from a previous page");
                    }
                    decoded
                };
                let role = match pb::Role::try_from(request.role) {
                    Ok(pb::Role::Unspecified) => None,
                    Ok(pb::Role::User) => Some(Role::User.as_str()),
                    Ok(pb::Role::Admin) => Some(Role::Admin.as_str()),
                    Err(_) => {
                        violations.add("role", "unknown role");
                        None
                    }
                };
                let status = match pb::UserStatus::try_from(request.status) {
                    Ok(pb::UserStatus::Unspecified) => None,
                    Ok(pb::UserStatus::Active) => Some(AccountStatus::Active.as_str()),
                    Ok(pb::UserStatus::Disabled) => Some(AccountStatus::Disabled.as_str()),
                    Ok(pb::UserStatus::Deleted) => Some(AccountStatus::Deleted.as_str()),
                    Err(_) => {
                        violations.add("status", "unknown status");
                        None
                    }
                };
                violations.finish().map_err(Error::Invalid)?;
                let email_prefix = Some(request.email_prefix.trim().to_lowercase()).filter(|p| !p.is_empty());

                let filter = users::Filter { role, status, email_prefix, after };
                let mut rows = users::list(&self.db, filter, limit + 1).await?;
                let next_page_token = if rows.len() as u64 > limit {
                    rows.truncate(limit as usize);
                    rows.last().map(|last| B64.encode(&last.id)).unwrap_or_default()
                } else {
                    String::new()
                };
                Ok(pb::ListUsersResponse {
                    users: rows.iter().map(to_proto_user).collect::<Result<_, _>>()?,
                    next_page_token,
                })
            }
            .await,
        )
    }

    async fn get_user(&self, request: Request<pb::GetUserRequest>) -> Result<Response<pb::GetUserResponse>, Status> {
        let request = request.into_inner();
        reply(
            async {
                let user = self.find_user(&request.user_id).await?;
                Ok(pb::GetUserResponse { user: Some(to_proto_user(&user)?) })
            }
            .await,
        )
    }

    async fn set_user_role(
        &self,
        request: Request<pb::SetUserRoleRequest>,
    ) -> Result<Response<pb::SetUserRoleResponse>, Status> {
        let request = request.into_inner();
        reply(
            async {
                let role = match pb::Role::try_from(request.role) {
                    Ok(pb::Role::User) => Role::User,
                    Ok(pb::Role::Admin) => Role::Admin,
                    Ok(pb::Role::Unspecified) | Err(_) => {
                        return Err(violation("role", "must be ROLE_USER or ROLE_ADMIN"));
                    }
                };
                let user = self.find_user(&request.user_id).await?;
                if account_status(&user)? == AccountStatus::Deleted {
                    return Err(Error::AccountDeleted);
                }
                if user.role == role.as_str() {
                    return Ok(pb::SetUserRoleResponse { user: Some(to_proto_user(&user)?) });
                }
                let txn = db::begin(&self.db).await?;
                let mut changed = user.into_active_model();
                changed.role = Set(role.as_str().to_owned());
                changed.updated_at = Set(Utc::now());
                let user = changed.update(&txn).await?;
                if role == Role::User && users::count_active_admins(&txn).await? == 0 {
                    return Err(Error::LastAdmin);
                }
                // Tokens carry the role: end the sessions that were issued under the old one.
                refresh_tokens::revoke_all(&txn, &user.id).await?;
                txn.commit().await?;
                Ok(pb::SetUserRoleResponse { user: Some(to_proto_user(&user)?) })
            }
            .await,
        )
    }

    async fn set_user_status(
        &self,
        request: Request<pb::SetUserStatusRequest>,
    ) -> Result<Response<pb::SetUserStatusResponse>, Status> {
        let me = auth::principal(&request)?;
        let request = request.into_inner();
        reply(
            async {
                let status = match pb::UserStatus::try_from(request.status) {
                    Ok(pb::UserStatus::Active) => AccountStatus::Active,
                    Ok(pb::UserStatus::Disabled) => AccountStatus::Disabled,
                    Ok(pb::UserStatus::Deleted | pb::UserStatus::Unspecified) | Err(_) => {
                        return Err(violation("status", "must be USER_STATUS_ACTIVE or USER_STATUS_DISABLED"));
                    }
                };
                let user = self.find_user(&request.user_id).await?;
                if user.id == me.user_id {
                    return Err(Error::OwnStatus);
                }
                if account_status(&user)? == AccountStatus::Deleted {
                    return Err(Error::AccountDeleted);
                }
                let txn = db::begin(&self.db).await?;
                let mut changed = user.into_active_model();
                changed.status = Set(status.as_str().to_owned());
                changed.updated_at = Set(Utc::now());
                let user = changed.update(&txn).await?;
                if status == AccountStatus::Disabled {
                    refresh_tokens::revoke_all(&txn, &user.id).await?;
                }
                txn.commit().await?;
                Ok(pb::SetUserStatusResponse { user: Some(to_proto_user(&user)?) })
            }
            .await,
        )
    }

    async fn get_address(
        &self,
        request: Request<pb::GetAddressRequest>,
    ) -> Result<Response<pb::GetAddressResponse>, Status> {
        let request = request.into_inner();
        reply(
            async {
                let mut violations = Violations::new();
                if request.user_id.trim().is_empty() {
                    violations.add("user_id", "required");
                }
                if request.address_id.trim().is_empty() {
                    violations.add("address_id", "required");
                }
                violations.finish().map_err(Error::Invalid)?;
                let row = addresses::find_owned(&self.db, &request.user_id, &request.address_id)
                    .await?
                    .ok_or(Error::NotFound("address"))?;
                Ok(pb::GetAddressResponse { address: Some(to_proto_address(&row)) })
            }
            .await,
        )
    }
}

// === use cases shared by the handlers ===

/// A freshly issued token pair.
struct TokenPair {
    access_token: String,
    refresh_token: String,
    expires_in: i64,
}

impl UserApi {
    /// The caller's account, if it is still active.
    async fn active_user(&self, me: &Principal) -> Result<users::Model, Error> {
        let user = users::find(&self.db, &me.user_id).await?.ok_or(Error::NotFound("user"))?;
        match account_status(&user)? {
            AccountStatus::Active => Ok(user),
            AccountStatus::Disabled => Err(Error::AccountDisabled),
            AccountStatus::Deleted => Err(Error::NotFound("user")),
        }
    }

    async fn find_user(&self, user_id: &str) -> Result<users::Model, Error> {
        if user_id.trim().is_empty() {
            return Err(violation("user_id", "required"));
        }
        users::find(&self.db, user_id).await?.ok_or(Error::NotFound("user"))
    }

    /// Signs an access token and stores a new refresh token (in `family`, or a new one).
    async fn issue_tokens<C: sea_orm::ConnectionTrait>(
        &self,
        db: &C,
        user: &users::Model,
        family: Option<String>,
    ) -> Result<TokenPair, Error> {
        let now = Utc::now();
        let role = match Role::parse(&user.role) {
            Some(Role::Admin) => auth::Role::Admin,
            Some(Role::User) => auth::Role::User,
            None => return Err(corrupt(user)),
        };
        let ttl = self.auth.access_token_ttl.as_secs() as i64;
        let claims = Claims {
            sub: user.id.clone(),
            role,
            iss: self.auth.issuer.clone(),
            aud: self.auth.audience.clone(),
            exp: now.timestamp() + ttl,
            iat: now.timestamp(),
            jti: uuid::Uuid::now_v7().to_string(),
        };
        let (kid, key) = self.keys.signer().await?;
        let access_token = jwt::sign(&claims, &kid, &key);

        let mut secret = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut secret);
        let refresh_token = B64.encode(secret);
        let refresh_ttl = chrono::Duration::from_std(self.auth.refresh_token_ttl).unwrap_or(chrono::Duration::days(30));
        refresh_tokens::ActiveModel {
            id: Set(uuid::Uuid::now_v7().to_string()),
            user_id: Set(user.id.clone()),
            family_id: Set(family.unwrap_or_else(|| uuid::Uuid::now_v7().to_string())),
            token_hash: Set(token_hash(&refresh_token)),
            created_at: Set(now),
            expires_at: Set(now + refresh_ttl),
            used_at: Set(None),
            revoked_at: Set(None),
        }
        .insert(db)
        .await?;
        Ok(TokenPair { access_token, refresh_token, expires_in: ttl })
    }

    /// Exchanges a refresh token for a new pair in the same family. A token that was
    /// already exchanged means it leaked: the whole family is revoked.
    async fn rotate_refresh_token(&self, presented: &str) -> Result<TokenPair, Error> {
        let token =
            refresh_tokens::find_by_hash(&self.db, &token_hash(presented)).await?.ok_or(Error::InvalidRefreshToken)?;
        if token.revoked_at.is_some() {
            return Err(Error::InvalidRefreshToken);
        }
        let txn = db::begin(&self.db).await?;
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
        match account_status(&user)? {
            AccountStatus::Active => {}
            AccountStatus::Disabled => return Err(Error::AccountDisabled),
            AccountStatus::Deleted => return Err(Error::InvalidRefreshToken),
        }
        let tokens = self.issue_tokens(&txn, &user, Some(token.family_id)).await?;
        txn.commit().await?;
        Ok(tokens)
    }
}

/// A validated registration.
pub(crate) struct NewAccount {
    email: Email,
    password: String,
    first_name: Name,
    last_name: Name,
    phone: Option<Phone>,
}

impl NewAccount {
    /// Checks every field at once.
    pub(crate) fn parse(
        email: &str,
        password: &str,
        first_name: &str,
        last_name: &str,
        phone: Option<&str>,
    ) -> Result<Self, Error> {
        let mut violations = Violations::new();
        violations.check(check_password("password", password, email));
        let email = violations.check(Email::parse("email", email));
        let first_name = violations.check(Name::parse("first_name", first_name));
        let last_name = violations.check(Name::parse("last_name", last_name));
        let phone = match phone.map(str::trim).filter(|p| !p.is_empty()) {
            Some(phone) => violations.check(Phone::parse("phone", phone)).map(Some),
            None => Some(None),
        };
        violations.finish().map_err(Error::Invalid)?;
        match (email, first_name, last_name, phone) {
            (Some(email), Some(first_name), Some(last_name), Some(phone)) => {
                Ok(Self { email, password: password.to_owned(), first_name, last_name, phone })
            }
            _ => Err(Error::Internal("validated fields missing".into())),
        }
    }
}

/// Creates an account with `role`: the one way accounts come to be (Register, the first
/// admin, `svc-user admin create`). The email's unique index decides races.
pub(crate) async fn register(
    db: &DatabaseConnection,
    relay: &RelayWaker,
    account: NewAccount,
    role: Role,
) -> Result<users::Model, Error> {
    let hash = passwords::hash(account.password).await?;
    let now = Utc::now();
    let txn = db::begin(db).await?;
    let user = users::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        email: Set(account.email.as_str().to_owned()),
        password_hash: Set(hash),
        first_name: Set(account.first_name.into_inner()),
        last_name: Set(account.last_name.into_inner()),
        phone: Set(account.phone.map(Phone::into_inner)),
        role: Set(role.as_str().to_owned()),
        status: Set(AccountStatus::Active.as_str().to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(email_taken_or)?;
    events::registered(&txn, &user).await?;
    txn.commit().await?;
    relay.wake();
    Ok(user)
}

// === encoding and small helpers ===

fn violation(field: &str, description: &str) -> Error {
    Error::Invalid(vec![mart_platform::error::FieldViolation::new(field, description)])
}

fn email_taken_or(error: sea_orm::DbErr) -> Error {
    if is_unique_violation(&error) { Error::EmailTaken } else { Error::Database(error) }
}

fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

fn account_status(user: &users::Model) -> Result<AccountStatus, Error> {
    AccountStatus::parse(&user.status).ok_or_else(|| corrupt(user))
}

fn corrupt(user: &users::Model) -> Error {
    Error::Internal(format!("user {} has role {:?} / status {:?}", user.id, user.role, user.status))
}

fn to_proto_user(user: &users::Model) -> Result<pb::User, Error> {
    let role = match Role::parse(&user.role).ok_or_else(|| corrupt(user))? {
        Role::User => pb::Role::User,
        Role::Admin => pb::Role::Admin,
    };
    let status = match account_status(user)? {
        AccountStatus::Active => pb::UserStatus::Active,
        AccountStatus::Disabled => pb::UserStatus::Disabled,
        AccountStatus::Deleted => pb::UserStatus::Deleted,
    };
    Ok(pb::User {
        id: user.id.clone(),
        email: user.email.clone(),
        first_name: user.first_name.clone(),
        last_name: user.last_name.clone(),
        phone: user.phone.clone(),
        role: role.into(),
        status: status.into(),
        created_at: Some(timestamp(&user.created_at)),
        updated_at: Some(timestamp(&user.updated_at)),
    })
}

fn to_proto_address(row: &addresses::Model) -> pb::Address {
    pb::Address {
        id: row.id.clone(),
        label: row.label.clone(),
        line1: row.line1.clone(),
        line2: row.line2.clone(),
        city: row.city.clone(),
        postal_code: row.postal_code.clone(),
        country: row.country.clone(),
        latitude: row.latitude,
        longitude: row.longitude,
        created_at: Some(timestamp(&row.created_at)),
    }
}
