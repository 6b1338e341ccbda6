//! The `contacts` table: how to reach each user, copied from the user service's events (no
//! call to svc-user at send time). A deleted account keeps a row without personal data, so
//! that nothing is sent to it any more.

use chrono::Utc;
use mart_platform::db;
use sea_orm::{Set, entity::prelude::*, sea_query::OnConflict};

use crate::domain::Contact;

/// A user's contact data.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "contacts")]
pub struct Model {
    /// The user (svc-user's id).
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: String,
    /// Sign-in email address; empty once deleted.
    pub email: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// E.164 phone number.
    pub phone: Option<String>,
    /// The account was deleted: contact nobody.
    pub deleted: bool,
    /// When the last event about it arrived.
    pub updated_at: DateTimeUtc,
}

/// No navigable relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// The contact, unless the account is deleted.
    pub fn contact(&self) -> Option<Contact> {
        (!self.deleted).then(|| Contact {
            email: self.email.clone(),
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            phone: self.phone.clone(),
        })
    }
}

/// The row of `user_id`, deleted or not.
pub async fn find<C: ConnectionTrait>(db: &C, user_id: &str) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(user_id.to_owned()).one(db).await
}

/// Stores the current contact of `user_id`, unless the account was deleted (a deleted
/// account stays deleted).
pub async fn upsert<C: ConnectionTrait>(db: &C, user_id: &str, contact: &Contact) -> Result<(), DbErr> {
    let now = Utc::now();
    let updated = Entity::update_many()
        .col_expr(Column::Email, Expr::value(contact.email.clone()))
        .col_expr(Column::FirstName, Expr::value(contact.first_name.clone()))
        .col_expr(Column::LastName, Expr::value(contact.last_name.clone()))
        .col_expr(Column::Phone, Expr::value(contact.phone.clone()))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::UserId.eq(user_id))
        .filter(Column::Deleted.eq(false))
        .exec(db)
        .await?;
    if updated.rows_affected == 0 {
        let row = ActiveModel {
            user_id: Set(user_id.to_owned()),
            email: Set(contact.email.clone()),
            first_name: Set(contact.first_name.clone()),
            last_name: Set(contact.last_name.clone()),
            phone: Set(contact.phone.clone()),
            deleted: Set(false),
            updated_at: Set(now),
        };
        // A row written since the update above (a deletion) is kept: a deleted account
        // stays deleted.
        db::insert_once(db, row, [Column::UserId]).await?;
    }
    Ok(())
}

/// Forgets the personal data of `user_id` and marks the account deleted.
pub async fn delete<C: ConnectionTrait>(db: &C, user_id: &str) -> Result<(), DbErr> {
    let row = ActiveModel {
        user_id: Set(user_id.to_owned()),
        email: Set(String::new()),
        first_name: Set(String::new()),
        last_name: Set(String::new()),
        phone: Set(None),
        deleted: Set(true),
        updated_at: Set(Utc::now()),
    };
    Entity::insert(row)
        .on_conflict(
            OnConflict::column(Column::UserId)
                .update_columns([
                    Column::Email,
                    Column::FirstName,
                    Column::LastName,
                    Column::Phone,
                    Column::Deleted,
                    Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}
