//! Secrets generated on first start and kept in the data directory.

use rand::RngCore;
use std::fs;
use std::io::{self, Write};
use std::path::Path;

/// Reads the hex secret stored at `path`, or creates one of `bytes` random bytes there, readable
/// by the owner only. A freshly created file is written completely before it appears under its
/// name, so a crash never leaves half a secret behind.
pub fn load_or_create(path: &Path, bytes: usize) -> io::Result<Vec<u8>> {
    match fs::read_to_string(path) {
        Ok(text) => hex::decode(text.trim()).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{} is not a hex secret: {e}", path.display()),
            )
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let mut secret = vec![0u8; bytes];
            rand::rngs::OsRng.fill_bytes(&mut secret);
            write_new_private_file(path, hex::encode(&secret).as_bytes())?;
            Ok(secret)
        }
        Err(e) => Err(e),
    }
}

/// Writes a new owner-only file completely under a temporary name, then renames it into place.
pub fn write_new_private_file(path: &Path, contents: &[u8]) -> io::Result<()> {
    let partial = path.with_extension("tmp");
    write_private(&partial, contents)?;
    fs::rename(&partial, path)
}

fn write_private(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_created_once_and_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jwt.secret");
        let first = load_or_create(&path, 32).unwrap();
        assert_eq!(first.len(), 32);
        assert_eq!(load_or_create(&path, 32).unwrap(), first);
    }

    #[cfg(unix)]
    #[test]
    fn a_created_secret_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jwt.secret");
        load_or_create(&path, 32).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn a_corrupt_secret_file_is_an_error_not_a_new_secret() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jwt.secret");
        fs::write(&path, "not hex").unwrap();
        assert!(load_or_create(&path, 32).is_err());
    }
}
