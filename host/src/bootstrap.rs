//! First start: a broker with an empty store creates an admin key and a `default` tenant with a
//! key, and writes both keys to files in the data directory (readable by the owner only), so
//! the quick start works with no setup and no key ever appears in a log.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use broker_store::{Store, StoreError};

/// The tenant created on first start.
pub const DEFAULT_TENANT: &str = "default";
/// File (in the data directory) holding the admin key created on first start.
pub const ADMIN_KEY_FILE: &str = "admin.key";
/// File (in the data directory) holding the `default` tenant's key created on first start.
pub const TENANT_KEY_FILE: &str = "default-tenant.key";

/// What the first start created.
#[derive(Debug)]
pub struct Bootstrapped {
    /// The admin key file.
    pub admin_key_file: PathBuf,
    /// The default tenant's key file.
    pub tenant_key_file: PathBuf,
}

/// Creates the first keys if the store has no admin key yet; returns where they were written.
pub async fn ensure_keys(store: &Store, data_dir: &Path) -> anyhow::Result<Option<Bootstrapped>> {
    let has_admin = store
        .list_keys(None)
        .await?
        .iter()
        .any(|k| k.revoked_at.is_none());
    if has_admin {
        return Ok(None);
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating data directory {}", data_dir.display()))?;
    let admin = store.issue_key(None, "created on first start").await?;
    let admin_key_file = data_dir.join(ADMIN_KEY_FILE);
    write_private(&admin_key_file, &admin.key)?;

    match store.create_tenant(DEFAULT_TENANT).await {
        Ok(_) | Err(StoreError::Conflict(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let tenant = store
        .issue_key(Some(DEFAULT_TENANT), "created on first start")
        .await?;
    let tenant_key_file = data_dir.join(TENANT_KEY_FILE);
    write_private(&tenant_key_file, &tenant.key)?;
    Ok(Some(Bootstrapped {
        admin_key_file,
        tenant_key_file,
    }))
}

/// Writes `text` to a new file only its owner can read.
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(text.as_bytes())?;
    file.write_all(b"\n")?;
    Ok(())
}
