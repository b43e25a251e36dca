//! Files are written whole or not at all: a temp file in the same folder, fsync, rename.

use std::io::Write;
use std::path::Path;

pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile_in(dir)?;
    tmp.1.write_all(bytes)?;
    tmp.1.sync_all()?;
    std::fs::rename(&tmp.0, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp.0);
    })
}

fn tempfile_in(dir: &Path) -> std::io::Result<(std::path::PathBuf, std::fs::File)> {
    for attempt in 0..100u32 {
        let p = dir.join(format!(
            ".tmp-{}-{}-{attempt}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&p)
        {
            Ok(f) => return Ok((p, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("cannot create a temporary file"))
}

/// Check, before any work starts, that reports can be written into `dir`: it is (or can be made)
/// a folder and a file can be created in it. The error names the folder.
pub fn check_output_dir(dir: &Path, flag: &str) -> std::io::Result<()> {
    let fail = |why: String| std::io::Error::other(format!("{flag} {}: {why}", dir.display()));
    if dir.exists() && !dir.is_dir() {
        return Err(fail("exists and is not a folder".into()));
    }
    std::fs::create_dir_all(dir).map_err(|e| fail(format!("cannot create it ({e})")))?;
    let (p, _) = tempfile_in(dir).map_err(|e| fail(format!("cannot write into it ({e})")))?;
    let _ = std::fs::remove_file(p);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_dirs_are_checked_before_work() {
        let d = tempfile::tempdir().unwrap();
        assert!(check_output_dir(&d.path().join("new/reports"), "--reports").is_ok());
        let file = d.path().join("f");
        std::fs::write(&file, "x").unwrap();
        let e = check_output_dir(&file, "--reports")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("is not a folder") && e.contains("--reports"),
            "{e}"
        );
        let e = check_output_dir(Path::new("/proc/nope"), "--reports")
            .unwrap_err()
            .to_string();
        assert!(e.contains("/proc/nope"), "{e}");
    }
}
