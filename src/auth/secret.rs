//! The generated development secret and the secret file: where it lives,
//! reading it, and creating it (owner-only) when it is missing. With
//! PostgreSQL and no file named, the development secret lives in the
//! database (`instance_settings`), so that every process on it accepts the
//! others' tokens wherever it was started.

use std::{
    fs,
    io::Write,
    path::{Path, PathBuf},
};

use rand::TryRngCore;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

use super::MIN_SECRET_BYTES;
use crate::config::{JwtArgs, Secret};

/// Where the generated secret lives when none is configured.
pub fn secret_file(jwt: &JwtArgs, database_url: &str) -> PathBuf {
    if let Some(path) = &jwt.jwt_secret_file {
        return path.clone();
    }
    match sqlite_path(database_url) {
        Some(db) => PathBuf::from(format!("{}.jwt-secret", db.display())),
        None => PathBuf::from("licensegraph.jwt-secret"),
    }
}

/// The file path of a `sqlite://` URL, if it names a file.
pub fn sqlite_path(database_url: &str) -> Option<PathBuf> {
    let rest = database_url.strip_prefix("sqlite://").or_else(|| database_url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

/// Why a secret file could not be used.
#[derive(Debug, PartialEq, Eq)]
pub enum SecretFileError {
    /// There is no such file.
    Missing,
    /// It cannot be read, or holds too short a secret.
    Unusable(String),
}

/// Reads the HS256 secret kept in `path` (surrounding whitespace ignored);
/// never creates one. What production mode uses for
/// `LICENSEGRAPH_JWT_SECRET_FILE`.
pub fn load_secret(path: &Path) -> Result<Secret, SecretFileError> {
    match fs::read_to_string(path) {
        Ok(text) => {
            let text = text.trim().to_owned();
            if text.len() < MIN_SECRET_BYTES {
                return Err(SecretFileError::Unusable(format!(
                    "the secret in {} is shorter than {MIN_SECRET_BYTES} bytes",
                    path.display()
                )));
            }
            Ok(Secret::new(text))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(SecretFileError::Missing),
        Err(e) => Err(SecretFileError::Unusable(format!("cannot read {}: {e}", path.display()))),
    }
}

/// Reads the secret at `path`, or generates 32 random bytes (64 hex
/// characters) from the OS's cryptographic source and writes them there,
/// readable by the owner only.
pub fn load_or_create_secret(path: &Path) -> Result<Secret, String> {
    match load_secret(path) {
        Ok(secret) => return Ok(secret),
        Err(SecretFileError::Missing) => {}
        Err(SecretFileError::Unusable(message)) => return Err(message),
    }
    let secret = generate()?;
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(secret.as_bytes()).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            tracing::info!(path = %path.display(), "generated a new JWT secret");
            Ok(Secret::new(secret))
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load_or_create_secret(path),
        Err(e) => Err(format!("cannot create {}: {e}", path.display())),
    }
}

/// 32 random bytes from the OS's cryptographic source, as 64 hex characters.
fn generate() -> Result<String, String> {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.try_fill_bytes(&mut bytes).map_err(|e| format!("no OS randomness: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Whether a generated secret is kept in the database rather than in a
/// file: no key configured, no secret file named, and a PostgreSQL
/// database (several processes, perhaps on several machines, share it).
pub fn kept_in_database(jwt: &JwtArgs, database_url: &str) -> bool {
    jwt.jwt_secret.is_none()
        && jwt.jwt_public_key.is_none()
        && jwt.jwt_secret_file.is_none()
        && !database_url.starts_with("sqlite:")
}

/// The generated secret kept in `db`: made by whichever process asks
/// first (the others read it), one statement to write, one to read.
pub async fn database_secret(db: &DatabaseConnection) -> Result<Secret, String> {
    let backend = db.get_database_backend();
    let p = |n| crate::service::placeholder(backend, n);
    let insert = format!(
        "INSERT INTO instance_settings (name, value) VALUES ({}, {}) ON CONFLICT (name) DO NOTHING",
        p(1),
        p(2)
    );
    let unreadable = |e: sea_orm::DbErr| format!("cannot keep the JWT secret in the database: {e}");
    let values = [SECRET_SETTING.into(), generate()?.into()];
    db.execute_raw(Statement::from_sql_and_values(backend, insert, values)).await.map_err(unreadable)?;
    let select = format!("SELECT value FROM instance_settings WHERE name = {}", p(1));
    let row = db
        .query_one_raw(Statement::from_sql_and_values(backend, select, [SECRET_SETTING.into()]))
        .await
        .map_err(unreadable)?
        .ok_or("the JWT secret vanished from the database")?;
    let secret: String = row.try_get_by_index(0).map_err(unreadable)?;
    if secret.len() < MIN_SECRET_BYTES {
        return Err("the JWT secret in the database is too short".into());
    }
    Ok(Secret::new(secret))
}

/// `jwt` with the secret kept in `db` when [`kept_in_database`] says so;
/// unchanged otherwise.
pub async fn with_database_secret(
    jwt: &JwtArgs,
    database_url: &str,
    db: &DatabaseConnection,
) -> Result<JwtArgs, String> {
    let mut jwt = jwt.clone();
    if kept_in_database(&jwt, database_url) {
        jwt.jwt_secret = Some(database_secret(db).await?);
    }
    Ok(jwt)
}

/// The `instance_settings` row holding the generated development secret.
const SECRET_SETTING: &str = "jwt_secret";
