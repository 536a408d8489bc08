//! Organisations: the tenants. Everything else a tenant owns hangs off an [`OrgId`].

use serde::{Deserialize, Serialize};

use crate::members::Role;
use crate::{OrgId, Result, Store, StoreError, UserId, with_db};

/// Longest accepted organisation name, in characters.
const MAX_NAME_CHARS: usize = 100;
/// Longest slug the store derives from a name.
const MAX_SLUG_LEN: usize = 40;

/// An organisation (tenant).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Org {
    /// Random id; the tenant id everywhere else in the app.
    pub id: OrgId,
    /// Display name, as given.
    pub name: String,
    /// URL-friendly unique name derived from `name` (lowercase ASCII letters, digits and `-`).
    pub slug: String,
    /// Creation time, unix milliseconds.
    pub created: i64,
}

#[derive(sqlx::FromRow)]
struct OrgWithRole {
    #[sqlx(flatten)]
    org: Org,
    #[sqlx(try_from = "String")]
    role: Role,
}

impl Store {
    /// Creates an organisation. Its slug is derived from `name`; when that slug is taken a short
    /// random suffix is added, so two tenants may share a display name and creating one does not
    /// reveal that another exists.
    pub async fn create_org(&self, name: &str) -> Result<Org> {
        self.insert_org(name, None).await
    }

    /// Creates an organisation with `admin` as its first admin, in one transaction, so that no
    /// organisation ever exists without an admin.
    pub async fn create_org_with_admin(&self, name: &str, admin: &UserId) -> Result<Org> {
        self.insert_org(name, Some(admin)).await
    }

    async fn insert_org(&self, name: &str, admin: Option<&UserId>) -> Result<Org> {
        let name = validate_name(name)?;
        let base = slugify(&name);
        let now = self.now();
        let id = OrgId::generate();
        with_db!(self, db => {
            let mut tx = db.begin().await?;
            let mut slug = base.clone();
            let mut inserted = false;
            // `ON CONFLICT DO NOTHING` rather than catching the unique violation: on PostgreSQL a
            // failed statement aborts the whole transaction, so it could not be retried inside it.
            for _ in 0..8 {
                let done = sqlx::query(
                    "INSERT INTO orgs (id, name, slug, created) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (slug) DO NOTHING",
                )
                .bind(&id)
                .bind(&name)
                .bind(&slug)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() == 1 {
                    inserted = true;
                    break;
                }
                slug = format!("{base}-{}", &crate::secret::random_id()[..6]);
            }
            if !inserted {
                return Err(StoreError::Conflict("could not find a free slug".into()));
            }
            if let Some(admin) = admin {
                sqlx::query(
                    "INSERT INTO memberships (org_id, user_id, role, created) VALUES ($1, $2, $3, $4)",
                )
                .bind(&id)
                .bind(admin)
                .bind(Role::Admin.as_str())
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(Org { id, name, slug, created: now })
        })
    }

    /// The organisation with this id.
    pub async fn org(&self, id: &OrgId) -> Result<Org> {
        with_db!(self, db => {
            sqlx::query_as::<_, Org>("SELECT id, name, slug, created FROM orgs WHERE id = $1")
                .bind(id)
                .fetch_optional(db)
                .await?
                .ok_or(StoreError::NotFound)
        })
    }

    /// The organisation with this slug (for URLs). Finding it grants nothing: callers still
    /// check the user's membership with [`Store::role_of`].
    pub async fn org_by_slug(&self, slug: &str) -> Result<Org> {
        with_db!(self, db => {
            sqlx::query_as::<_, Org>("SELECT id, name, slug, created FROM orgs WHERE slug = $1")
                .bind(slug)
                .fetch_optional(db)
                .await?
                .ok_or(StoreError::NotFound)
        })
    }

    /// The organisations `user` belongs to, with the user's role in each, ordered by name.
    pub async fn orgs_for_user(&self, user: &UserId) -> Result<Vec<(Org, Role)>> {
        let rows = with_db!(self, db => {
            sqlx::query_as::<_, OrgWithRole>(
                "SELECT o.id, o.name, o.slug, o.created, m.role \
                 FROM memberships m JOIN orgs o ON o.id = m.org_id \
                 WHERE m.user_id = $1 ORDER BY o.name, o.id",
            )
            .bind(user)
            .fetch_all(db)
            .await?
        });
        Ok(rows.into_iter().map(|r| (r.org, r.role)).collect())
    }
}

fn validate_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(StoreError::Invalid("organisation name is empty".into()));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(StoreError::Invalid(format!(
            "organisation name is longer than {MAX_NAME_CHARS} characters"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(StoreError::Invalid(
            "organisation name contains control characters".into(),
        ));
    }
    Ok(name.to_string())
}

/// Lowercase ASCII letters and digits, every other run of characters turned into one `-`.
fn slugify(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
        if slug.len() >= MAX_SLUG_LEN {
            break;
        }
    }
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        "org".to_string()
    } else {
        slug.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(slugify("Acme Corp."), "acme-corp");
        assert_eq!(slugify("  --Hello, World!!  "), "hello-world");
        assert_eq!(slugify("日本"), "org");
        assert_eq!(slugify(&"x".repeat(100)).len(), MAX_SLUG_LEN);
        assert!(validate_name(" ").is_err());
        assert!(validate_name("a\u{7}b").is_err());
        assert_eq!(validate_name("  Acme ").unwrap(), "Acme");
    }
}
