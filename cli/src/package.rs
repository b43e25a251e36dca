//! Reproducible Lambda deployment packages: a zip with `bootstrap` at its root, fixed timestamps
//! (1980-01-01 00:00, the zip epoch) and permissions (0755), deflate-compressed. The same binary
//! always gives the same bytes, so the sha256 identifies the code.

use flate2::write::DeflateEncoder;
use flate2::{Compression, Crc};
use std::io::Write;

/// Lambda's limits on a deployment package uploaded directly.
pub const MAX_ZIPPED: u64 = 50 * 1024 * 1024;
pub const MAX_UNZIPPED: u64 = 250 * 1024 * 1024;

/// Zip the given files (name, bytes, unix mode) deterministically.
pub fn zip(files: &[(&str, &[u8], u32)]) -> std::io::Result<Vec<u8>> {
    const DOS_TIME: u16 = 0;
    const DOS_DATE: u16 = (1 << 5) | 1; // 1980-01-01
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data, mode) in files {
        let mut crc = Crc::new();
        crc.update(data);
        let mut enc = DeflateEncoder::new(Vec::new(), Compression::best());
        enc.write_all(data)?;
        let compressed = enc.finish()?;
        let offset =
            u32::try_from(out.len()).map_err(|_| std::io::Error::other("package over 4 GiB"))?;
        let size =
            u32::try_from(data.len()).map_err(|_| std::io::Error::other("file over 4 GiB"))?;
        let csize = compressed.len() as u32;
        let name_len = name.len() as u16;
        // Local file header.
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        out.extend_from_slice(&20u16.to_le_bytes()); // version needed
        out.extend_from_slice(&0u16.to_le_bytes()); // flags
        out.extend_from_slice(&8u16.to_le_bytes()); // deflate
        out.extend_from_slice(&DOS_TIME.to_le_bytes());
        out.extend_from_slice(&DOS_DATE.to_le_bytes());
        out.extend_from_slice(&crc.sum().to_le_bytes());
        out.extend_from_slice(&csize.to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&name_len.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // extra
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&compressed);
        // Central directory entry.
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&((3u16 << 8) | 20).to_le_bytes()); // made by Unix, 2.0
        central.extend_from_slice(&20u16.to_le_bytes());
        central.extend_from_slice(&0u16.to_le_bytes());
        central.extend_from_slice(&8u16.to_le_bytes());
        central.extend_from_slice(&DOS_TIME.to_le_bytes());
        central.extend_from_slice(&DOS_DATE.to_le_bytes());
        central.extend_from_slice(&crc.sum().to_le_bytes());
        central.extend_from_slice(&csize.to_le_bytes());
        central.extend_from_slice(&size.to_le_bytes());
        central.extend_from_slice(&name_len.to_le_bytes());
        central.extend_from_slice(&0u16.to_le_bytes()); // extra
        central.extend_from_slice(&0u16.to_le_bytes()); // comment
        central.extend_from_slice(&0u16.to_le_bytes()); // disk
        central.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
        central.extend_from_slice(&((0o100_000 | mode) << 16).to_le_bytes()); // regular file + mode
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let cd_offset = out.len() as u32;
    let cd_size = central.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&(files.len() as u16).to_le_bytes());
    out.extend_from_slice(&(files.len() as u16).to_le_bytes());
    out.extend_from_slice(&cd_size.to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zips_are_reproducible_and_readable_by_unzip() {
        let data = b"#!/bin/sh\necho hello\n".repeat(100);
        let a = zip(&[("bootstrap", &data, 0o755)]).unwrap();
        let b = zip(&[("bootstrap", &data, 0o755)]).unwrap();
        assert_eq!(a, b);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.zip");
        std::fs::write(&path, &a).unwrap();
        // Python's zipfile is on every machine this project runs on; it checks CRCs on read.
        let out = std::process::Command::new("python3")
            .args(["-c", "import sys,zipfile,stat; z=zipfile.ZipFile(sys.argv[1]); i=z.getinfo('bootstrap'); print(len(z.read('bootstrap')), oct(stat.S_IMODE(i.external_attr>>16)), i.date_time)", path.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            format!("{} 0o755 (1980, 1, 1, 0, 0, 0)", data.len())
        );
    }
}
