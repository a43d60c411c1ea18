//! The generated development secret and the secret file: where it lives,
//! reading it, and creating it (owner-only) when it is missing.

use std::{
    fs,
    io::Write,
    path::{Path, PathBuf},
};

use rand::TryRngCore;

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
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.try_fill_bytes(&mut bytes).map_err(|e| format!("no OS randomness: {e}"))?;
    let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
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
