//! The broker's files on disk are private to its user: directories 0700, files 0600. The
//! database holds API key hashes, tenants and the audit log; readable by other local users it
//! would leak them, so modes are set when files are created and tightened when found looser.

use std::io;
use std::path::{Path, PathBuf};

/// Mode of the directories the broker creates.
pub const DIR_MODE: u32 = 0o700;
/// Mode of the files the broker creates.
pub const FILE_MODE: u32 = 0o600;

/// Creates `dir` and any missing parents with mode 0700 (less the umask). An existing
/// directory is left as it is: it may be a shared parent the operator chose; see
/// [`loose_mode`] to warn about it.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, DIR_MODE);
    builder.create(dir)
}

/// The permission bits of `path` when group or others have any access to it, else `None`.
pub fn loose_mode(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
        (mode & 0o077 != 0).then_some(mode)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// Tightens an existing file to 0600; a missing file is fine (nothing to protect).
pub fn tighten_file(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        match std::fs::metadata(path) {
            Ok(meta) if meta.permissions().mode() & 0o077 != 0 => {
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(FILE_MODE))
            }
            Ok(_) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}

/// Makes an SQLite database and its `-wal`/`-shm` files private before SQLite opens them.
///
/// With `create`, a missing database file is created empty with mode 0600 (SQLite takes an
/// empty file as a new database), and SQLite gives the `-wal` and `-shm` files it creates the
/// mode of the database file. Files that exist already are tightened to 0600.
pub(crate) fn secure_sqlite_files(db: &Path, create: bool) -> io::Result<()> {
    if create && !db.exists() {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, FILE_MODE);
        options.open(db)?;
    }
    for path in [db.to_path_buf(), sibling(db, "-wal"), sibling(db, "-shm")] {
        tighten_file(&path)?;
    }
    Ok(())
}

fn sibling(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn created_files_are_private_and_loose_ones_are_tightened() {
        let root = std::env::temp_dir().join(format!("broker-files-{}", uuid::Uuid::new_v4()));
        let dir = root.join("a/b");
        create_private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&root.join("a")), 0o700, "missing parents too");

        let db = dir.join("x.db");
        secure_sqlite_files(&db, true).unwrap();
        assert_eq!(mode(&db), 0o600);
        let wal = sibling(&db, "-wal");
        std::fs::write(&wal, b"").unwrap();
        std::fs::set_permissions(&wal, std::fs::Permissions::from_mode(0o644)).unwrap();
        secure_sqlite_files(&db, false).unwrap();
        assert_eq!(mode(&wal), 0o600);

        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(loose_mode(&dir), Some(0o755));
        std::fs::remove_dir_all(&root).unwrap();
    }
}
