//! Payload files on disk: their digests, removing whatever is at a path,
//! and keeping a payload read-only once it is kept.

use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// A file, or every regular file of a directory in name order: what a drop
/// of `WIRE=PATH` feeds (`koaljac run --drop`, `koaljac drop`).
pub fn files_of(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    if !std::fs::metadata(path)?.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(path)?.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_file()).collect();
    files.sort();
    Ok(files)
}

/// A tar archive as it streams in, unpacked into `dir` off the async
/// threads: never whole in memory (a `dir` payload between agents, and a
/// `dir` output fetched by `koaljac fetch`).
pub async fn unpack_tar(
    archive: impl tokio::io::AsyncRead + Send + Unpin + 'static,
    dir: &Path,
) -> std::io::Result<()> {
    let reader = tokio_util::io::SyncIoBridge::new(archive);
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || tar::Archive::new(reader).unpack(&dir)).await.map_err(std::io::Error::other)?
}

/// `sha256:` and the size of a file, or of a directory's files in name order.
pub fn content_digest(path: &Path) -> std::io::Result<(String, u64)> {
    let mut hash = Sha256::new();
    let mut size = 0;
    if path.is_dir() {
        let mut files = Vec::new();
        collect_files(path, path, &mut files)?;
        files.sort();
        for relative in files {
            hash.update(relative.to_string_lossy().as_bytes());
            hash.update([0]);
            size += hash_file(&path.join(&relative), &mut hash)?;
        }
    } else {
        size = hash_file(path, &mut hash)?;
    }
    Ok((hex_digest(hash), size))
}

/// The digest of a file's bytes as they pass by (a download), equal to
/// `content_digest` of the file they make.
#[derive(Default)]
pub struct StreamDigest {
    hash: Sha256,
    size: u64,
}

impl StreamDigest {
    pub fn update(&mut self, bytes: &[u8]) {
        self.hash.update(bytes);
        self.size += bytes.len() as u64;
    }

    pub fn finish(self) -> (String, u64) {
        (hex_digest(self.hash), self.size)
    }
}

fn hex_digest(hash: Sha256) -> String {
    let digest: String = hash.finalize().iter().map(|byte| format!("{byte:02x}")).collect();
    format!("sha256:{digest}")
}

fn hash_file(path: &Path, hash: &mut Sha256) -> std::io::Result<u64> {
    let mut file = std::fs::File::open(path)?;
    let mut buffer = vec![0; 64 * 1024];
    let mut size = 0;
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            return Ok(size);
        }
        hash.update(&buffer[..n]);
        size += n as u64;
    }
}

fn collect_files(root: &Path, dir: &Path, files: &mut Vec<std::path::PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_files(root, &path, files)?;
        } else if let Ok(relative) = path.strip_prefix(root) {
            files.push(relative.to_path_buf());
        }
    }
    Ok(())
}

/// Removes a file or a whole directory, if there is one.
pub fn remove_any(path: &Path) {
    if path.is_dir() {
        let _ = std::fs::remove_dir_all(path);
    } else {
        let _ = std::fs::remove_file(path);
    }
}

/// A kept payload file is never written again; read-only, so a consumer's
/// code cannot change it in place through a hard-linked cache entry.
pub fn read_only(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if path.is_file() {
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o444));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_digests_cover_names_and_bytes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("m")).unwrap();
        std::fs::write(dir.path().join("m/a"), "1").unwrap();
        let (first, size) = content_digest(&dir.path().join("m")).unwrap();
        assert_eq!(size, 1);
        std::fs::rename(dir.path().join("m/a"), dir.path().join("m/b")).unwrap();
        let (renamed, _) = content_digest(&dir.path().join("m")).unwrap();
        assert_ne!(first, renamed);
        std::fs::write(dir.path().join("f"), "1").unwrap();
        assert!(content_digest(&dir.path().join("f")).unwrap().0.starts_with("sha256:"));
    }
}
