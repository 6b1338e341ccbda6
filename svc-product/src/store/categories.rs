//! The `categories` table.

use chrono::{DateTime, Utc};
use sea_orm::{Condition, IntoActiveModel, QueryOrder, QuerySelect, Set, entity::prelude::*};

use crate::domain::{CategoryChanges, CategoryCursor, NewCategory};

/// One category.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "categories")]
pub struct Model {
    /// UUIDv7.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The name as the admin typed it (trimmed).
    pub name: String,
    /// The name lower-cased; unique, which is what makes "Tea" and "TEA" one category
    /// without a racy check-then-insert. Also the sort key of ListCategories.
    #[sea_orm(unique)]
    pub name_key: String,
    /// May be empty.
    pub description: String,
    /// When it was created.
    pub created_at: DateTimeUtc,
    /// When it last changed.
    pub updated_at: DateTimeUtc,
}

/// Products point here; the foreign key is declared in the migration.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Inserts the new category `id`, created at `now`. Fails with a unique violation when
/// another category has its name (compared case-insensitively).
pub async fn insert<C: ConnectionTrait>(
    db: &C,
    id: String,
    category: &NewCategory,
    now: DateTime<Utc>,
) -> Result<Model, DbErr> {
    ActiveModel {
        id: Set(id),
        name: Set(category.name.as_str().to_owned()),
        name_key: Set(category.name.key()),
        description: Set(category.description.clone()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
}

/// `category` with `changes` applied at `now`; written only when a value actually
/// changes, else `category` as it is. Fails with a unique violation when the new name is
/// another category's.
pub async fn update<C: ConnectionTrait>(
    db: &C,
    category: &Model,
    changes: CategoryChanges,
    now: DateTime<Utc>,
) -> Result<Model, DbErr> {
    let mut changed = category.clone().into_active_model();
    if let Some(name) = changes.name
        && name.as_str() != category.name
    {
        changed.name = Set(name.as_str().to_owned());
        changed.name_key = Set(name.key());
    }
    if let Some(description) = changes.description
        && description != category.description
    {
        changed.description = Set(description);
    }
    if !changed.is_changed() {
        return Ok(category.clone());
    }
    changed.updated_at = Set(now);
    changed.update(db).await
}

/// The category `id`.
pub async fn find<C: ConnectionTrait>(db: &C, id: &str) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(id.to_owned()).one(db).await
}

/// Up to `limit` categories ordered by name, strictly after `after` when given.
pub async fn list<C: ConnectionTrait>(db: &C, after: Option<&CategoryCursor>, limit: u64) -> Result<Vec<Model>, DbErr> {
    let mut query = Entity::find();
    if let Some(CategoryCursor { name_key, id }) = after {
        query = query.filter(
            Condition::any()
                .add(Column::NameKey.gt(name_key))
                .add(Condition::all().add(Column::NameKey.eq(name_key)).add(Column::Id.gt(id))),
        );
    }
    query.order_by_asc(Column::NameKey).order_by_asc(Column::Id).limit(limit).all(db).await
}

/// Deletes the category `id`; whether it existed. Fails with a foreign key violation when
/// products still point at it.
pub async fn delete<C: ConnectionTrait>(db: &C, id: &str) -> Result<bool, DbErr> {
    Ok(Entity::delete_by_id(id.to_owned()).exec(db).await?.rows_affected == 1)
}
