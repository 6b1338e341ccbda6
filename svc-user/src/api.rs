//! The UserService gRPC API: per RPC, parse the request into domain values in one step
//! ([`wire`]), check who is asking, call a command (a state change, [`crate::commands`]) or
//! a read (a [`crate::store`] query), encode the answer. The access level of each RPC was
//! already enforced by the platform's access layer (from the `.proto`); handlers here add
//! the "own data only" rule.

pub mod wire;

use std::sync::Arc;

use mart_platform::{
    auth::{self, Principal},
    error::{Violations, reply},
    fields,
    paging::PageTokens,
    rpc,
    wake::Waker,
};
use mart_proto::user::{self as pb, user_service_server::UserService};
use sea_orm::DatabaseConnection;
use tonic::{Request, Response, Status};

use crate::{
    commands::{TokenIssuer, accounts, addresses as address_book, tokens},
    domain::{Address, Credentials, NewAccount, ProfileChanges, Role, Status as AccountStatus},
    error::Error,
    keys::KeyRing,
    store::{addresses, users},
    throttle::LoginThrottle,
};

/// The UserService implementation.
pub struct UserApi {
    /// Where reads go, and what commands write to.
    db: DatabaseConnection,
    /// Published by GetJwks.
    keys: Arc<KeyRing>,
    /// Signs the token pairs of Login, RefreshToken and ChangePassword.
    issuer: TokenIssuer,
    /// Issues and checks ListUsers' page tokens.
    pages: PageTokens,
    /// Nudged by commands after every commit that wrote events, so they leave at once.
    relay: Waker,
    /// Failed logins by email and client address.
    throttle: LoginThrottle,
}

impl UserApi {
    /// The API over `db`, publishing `keys`, signing with `issuer`, paging with `pages`,
    /// waking `relay` after writing events.
    pub fn new(
        db: DatabaseConnection,
        keys: Arc<KeyRing>,
        issuer: TokenIssuer,
        pages: PageTokens,
        relay: Waker,
    ) -> Self {
        Self { db, keys, issuer, pages, relay, throttle: LoginThrottle::default() }
    }
}

#[tonic::async_trait]
impl UserService for UserApi {
    async fn register(&self, request: Request<pb::RegisterRequest>) -> Result<Response<pb::RegisterResponse>, Status> {
        let request = request.into_inner();
        reply(
            async {
                let account = NewAccount::try_from(request)?;
                let user = accounts::register(&self.db, &self.relay, account, Role::User).await?;
                Ok::<_, Error>(pb::RegisterResponse { user: Some(wire::user(&user)?) })
            }
            .await,
        )
    }

    async fn login(&self, request: Request<pb::LoginRequest>) -> Result<Response<pb::LoginResponse>, Status> {
        let client = rpc::client_ip(&request);
        let request = request.into_inner();
        reply(
            async {
                let credentials = Credentials::try_from(request)?;
                Ok::<_, Error>(tokens::login(&self.db, &self.issuer, &self.throttle, credentials, client).await?.into())
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
                    return Err(Error::invalid("refresh_token", "required"));
                }
                Ok::<_, Error>(tokens::refresh(&self.db, &self.issuer, &request.refresh_token).await?.into())
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
                    return Err(Error::invalid("refresh_token", "required"));
                }
                tokens::logout(&self.db, &me.user_id, &request.refresh_token).await?;
                Ok::<_, Error>(pb::LogoutResponse {})
            }
            .await,
        )
    }

    async fn get_jwks(&self, _request: Request<pb::GetJwksRequest>) -> Result<Response<pb::GetJwksResponse>, Status> {
        reply(
            async {
                let published = self.keys.published().await?;
                Ok::<_, Error>(pb::GetJwksResponse {
                    keys: published.keys.iter().map(|k| k.to_jwk()).collect(),
                    revoked_sessions: published.revoked_sessions,
                })
            }
            .await,
        )
    }

    async fn get_me(&self, request: Request<pb::GetMeRequest>) -> Result<Response<pb::GetMeResponse>, Status> {
        let me = auth::principal(&request)?;
        reply(
            async {
                let user = self.active_user(&me).await?;
                Ok::<_, Error>(pb::GetMeResponse { user: Some(wire::user(&user)?) })
            }
            .await,
        )
    }

    async fn update_me(&self, request: Request<pb::UpdateMeRequest>) -> Result<Response<pb::UpdateMeResponse>, Status> {
        let me = auth::principal(&request)?;
        let request = request.into_inner();
        reply(
            async {
                let changes = ProfileChanges::try_from(request)?;
                let user = self.active_user(&me).await?;
                let user = accounts::update_profile(&self.db, &self.relay, user, changes).await?;
                Ok::<_, Error>(pb::UpdateMeResponse { user: Some(wire::user(&user)?) })
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
                let change = wire::password_change(request, &user.email)?;
                Ok::<_, Error>(accounts::change_password(&self.db, &self.issuer, user, change).await?.into())
            }
            .await,
        )
    }

    async fn delete_me(&self, request: Request<pb::DeleteMeRequest>) -> Result<Response<pb::DeleteMeResponse>, Status> {
        let me = auth::principal(&request)?;
        reply(
            async {
                let user = self.active_user(&me).await?;
                accounts::delete_account(&self.db, &self.relay, user).await?;
                Ok::<_, Error>(pb::DeleteMeResponse {})
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
                let address = Address::try_from(request)?;
                let user = self.active_user(&me).await?;
                let row = address_book::add(&self.db, user.id, address).await?;
                Ok::<_, Error>(pb::AddAddressResponse { address: Some(wire::address(&row)) })
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
                Ok::<_, Error>(pb::ListAddressesResponse { addresses: rows.iter().map(wire::address).collect() })
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
                let address_id = fields::id("address_id", &request.address_id)?;
                address_book::delete(&self.db, &me.user_id, &address_id).await?;
                Ok::<_, Error>(pb::DeleteAddressResponse {})
            }
            .await,
        )
    }

    async fn list_users(
        &self,
        request: Request<pb::ListUsersRequest>,
    ) -> Result<Response<pb::ListUsersResponse>, Status> {
        let me = auth::principal(&request)?;
        let request = request.into_inner();
        reply(
            async {
                self.active_admin(&me).await?;
                let query = wire::ListUsers::parse(request, &self.pages)?;
                let rows = users::list(&self.db, &query.filter, query.limit + 1).await?;
                query.page(rows, &self.pages)
            }
            .await,
        )
    }

    async fn get_user(&self, request: Request<pb::GetUserRequest>) -> Result<Response<pb::GetUserResponse>, Status> {
        let me = auth::principal(&request)?;
        let request = request.into_inner();
        reply(
            async {
                self.active_admin(&me).await?;
                let user = self.find_user(&request.user_id).await?;
                Ok::<_, Error>(pb::GetUserResponse { user: Some(wire::user(&user)?) })
            }
            .await,
        )
    }

    async fn set_user_role(
        &self,
        request: Request<pb::SetUserRoleRequest>,
    ) -> Result<Response<pb::SetUserRoleResponse>, Status> {
        let me = auth::principal(&request)?;
        let request = request.into_inner();
        reply(
            async {
                self.active_admin(&me).await?;
                let role = wire::new_role(request.role)?;
                let user = self.find_user(&request.user_id).await?;
                let user = accounts::set_role(&self.db, user, role).await?;
                Ok::<_, Error>(pb::SetUserRoleResponse { user: Some(wire::user(&user)?) })
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
                self.active_admin(&me).await?;
                let status = wire::new_status(request.status)?;
                let user = self.find_user(&request.user_id).await?;
                let user = accounts::set_status(&self.db, &me.user_id, user, status).await?;
                Ok::<_, Error>(pb::SetUserStatusResponse { user: Some(wire::user(&user)?) })
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
                // The defaults are never used: `finish` fails if either id did not parse.
                let user_id = violations.check(fields::id("user_id", &request.user_id)).unwrap_or_default();
                let address_id = violations.check(fields::id("address_id", &request.address_id)).unwrap_or_default();
                violations.finish().map_err(Error::Invalid)?;
                let row =
                    addresses::find_owned(&self.db, &user_id, &address_id).await?.ok_or(Error::NotFound("address"))?;
                Ok::<_, Error>(pb::GetAddressResponse { address: Some(wire::address(&row)) })
            }
            .await,
        )
    }
}

// === reads shared by the handlers ===

impl UserApi {
    /// The caller's account, if it is still active.
    async fn active_user(&self, me: &Principal) -> Result<users::Model, Error> {
        let user = users::find(&self.db, &me.user_id).await?.ok_or(Error::NotFound("user"))?;
        match user.account_status()? {
            AccountStatus::Active => Ok(user),
            AccountStatus::Disabled => Err(Error::AccountDisabled),
            AccountStatus::Deleted => Err(Error::NotFound("user")),
        }
    }

    /// The caller's account, if it is an active admin's now. The token says what the role
    /// was when it was issued; an admin RPC acts on what it is.
    async fn active_admin(&self, me: &Principal) -> Result<users::Model, Error> {
        let user = self.active_user(me).await.map_err(|_| Error::NotAdmin)?;
        if user.account_role()? == Role::Admin { Ok(user) } else { Err(Error::NotAdmin) }
    }

    /// The account `user_id` names, whatever its status.
    async fn find_user(&self, user_id: &str) -> Result<users::Model, Error> {
        let user_id = fields::id("user_id", user_id)?;
        users::find(&self.db, &user_id).await?.ok_or(Error::NotFound("user"))
    }
}
