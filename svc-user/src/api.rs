//! The UserService gRPC API: per RPC, parse the request into domain values in one step
//! ([`wire`]), check who is asking, call a command (a state change, [`crate::commands`]) or
//! a read (a [`crate::store`] query), encode the answer. The access level of each RPC was
//! already enforced by the platform's access layer (from the `.proto`); handlers here add
//! the "own data only" rule.

pub mod wire;

use std::sync::Arc;

use mart_platform::{
    auth::{self, Principal},
    config::AuthConfig,
    error::Violations,
    outbox::relay::RelayWaker,
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
};

/// The UserService implementation.
pub struct UserApi {
    /// Where reads go, and what commands write to.
    db: DatabaseConnection,
    /// Published by GetJwks.
    keys: Arc<KeyRing>,
    /// Signs the token pairs of Login, RefreshToken and ChangePassword.
    issuer: TokenIssuer,
    /// Nudged by commands after every commit that wrote events, so they leave at once.
    relay: RelayWaker,
}

impl UserApi {
    /// The API over `db`, signing with `keys`, waking `relay` after writing events.
    pub fn new(db: DatabaseConnection, keys: Arc<KeyRing>, relay: RelayWaker, auth: AuthConfig) -> Self {
        let issuer = TokenIssuer::new(keys.clone(), auth);
        Self { db, keys, issuer, relay }
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
                let account = NewAccount::try_from(request)?;
                let user = accounts::register(&self.db, &self.relay, account, Role::User).await?;
                Ok(pb::RegisterResponse { user: Some(wire::user(&user)?) })
            }
            .await,
        )
    }

    async fn login(&self, request: Request<pb::LoginRequest>) -> Result<Response<pb::LoginResponse>, Status> {
        let request = request.into_inner();
        reply(
            async {
                let credentials = Credentials::try_from(request)?;
                Ok(tokens::login(&self.db, &self.issuer, credentials).await?.into())
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
                Ok(tokens::refresh(&self.db, &self.issuer, &request.refresh_token).await?.into())
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
                Ok(pb::GetMeResponse { user: Some(wire::user(&user)?) })
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
                Ok(pb::UpdateMeResponse { user: Some(wire::user(&user)?) })
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
                Ok(accounts::change_password(&self.db, &self.issuer, user, change).await?.into())
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
                let address = Address::try_from(request)?;
                let user = self.active_user(&me).await?;
                let row = address_book::add(&self.db, user.id, address).await?;
                Ok(pb::AddAddressResponse { address: Some(wire::address(&row)) })
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
                Ok(pb::ListAddressesResponse { addresses: rows.iter().map(wire::address).collect() })
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
                let address_id = wire::required("address_id", &request.address_id)?;
                address_book::delete(&self.db, &me.user_id, address_id).await?;
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
                let (filter, limit) = wire::list_users(request)?;
                let rows = users::list(&self.db, filter, limit + 1).await?;
                wire::users_page(rows, limit)
            }
            .await,
        )
    }

    async fn get_user(&self, request: Request<pb::GetUserRequest>) -> Result<Response<pb::GetUserResponse>, Status> {
        let request = request.into_inner();
        reply(
            async {
                let user = self.find_user(&request.user_id).await?;
                Ok(pb::GetUserResponse { user: Some(wire::user(&user)?) })
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
                let role = wire::new_role(request.role)?;
                let user = self.find_user(&request.user_id).await?;
                let user = accounts::set_role(&self.db, user, role).await?;
                Ok(pb::SetUserRoleResponse { user: Some(wire::user(&user)?) })
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
                let status = wire::new_status(request.status)?;
                let user = self.find_user(&request.user_id).await?;
                let user = accounts::set_status(&self.db, &me.user_id, user, status).await?;
                Ok(pb::SetUserStatusResponse { user: Some(wire::user(&user)?) })
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
                Ok(pb::GetAddressResponse { address: Some(wire::address(&row)) })
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

    /// The account `user_id` names, whatever its status.
    async fn find_user(&self, user_id: &str) -> Result<users::Model, Error> {
        let user_id = wire::required("user_id", user_id)?;
        users::find(&self.db, user_id).await?.ok_or(Error::NotFound("user"))
    }
}
