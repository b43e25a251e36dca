//! `functions build | package | publish`: release bootstraps with cargo-lambda, reproducible zips,
//! and the upload that makes the Rust code a version of the deployed function.

use super::{elf_arch, elf_machine};
use crate::cli::LambdaArch;
use crate::config::Project;
use crate::exit;
use std::path::Path;

/// The selected functions (all when none is named), validated: (name, crate).
pub(super) fn selected(
    project: &Project,
    names: &[String],
) -> anyhow::Result<Vec<(String, String)>> {
    let names = if names.is_empty() {
        project.function_names()
    } else {
        names.to_vec()
    };
    names
        .into_iter()
        .map(|n| Ok((n.clone(), project.function(&n)?.crate_name.clone())))
        .collect()
}

pub(crate) fn lambda_dir(project: &Project) -> std::path::PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| project.root.join("target"))
        .join("lambda")
}

pub(super) fn build(
    project: &Project,
    names: &[String],
    arch: LambdaArch,
    cargo_profile: &str,
) -> anyhow::Result<i32> {
    let fns = selected(project, names)?;
    let tool = project.tools_bin().join("cargo-lambda");
    if !tool.is_file() {
        anyhow::bail!(
            "cargo-lambda not found at {} (run scripts/setup.sh, which installs it from PyPI with zig)",
            tool.display()
        );
    }
    let path = format!(
        "{}:{}",
        project.tools_bin().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let flag = match arch {
        LambdaArch::Arm64 => "--arm64",
        LambdaArch::X86_64 => "--x86-64",
    };
    let pb = indicatif::ProgressBar::new(fns.len() as u64);
    pb.set_style(
        indicatif::ProgressStyle::with_template(
            "{prefix:>12} [{bar:30}] {pos}/{len} {msg} {elapsed}",
        )
        .expect("template")
        .progress_chars("=> "),
    );
    pb.set_prefix("build");
    pb.enable_steady_tick(std::time::Duration::from_millis(200));
    let mut t = crate::commands::table();
    t.set_header(vec!["function", "bootstrap", "architecture", "size"]);
    let logs = project.state_dir().join("build");
    std::fs::create_dir_all(&logs)?;
    for (name, krate) in fns {
        pb.set_message(krate.clone());
        let log = logs.join(format!("{krate}.log"));
        let out = std::fs::File::create(&log)?;
        let status = std::process::Command::new("cargo")
            .args([
                "lambda",
                "build",
                "--profile",
                cargo_profile,
                flag,
                "--bin",
                &krate,
            ])
            .current_dir(&project.root)
            .env("PATH", &path)
            .stdout(out.try_clone()?)
            .stderr(out)
            .status()
            .map_err(|e| anyhow::anyhow!("cannot run cargo lambda: {e}"))?;
        if !status.success() {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let last = text
                .lines()
                .rev()
                .find(|l| l.contains("error"))
                .or_else(|| text.lines().last())
                .unwrap_or("")
                .trim()
                .to_owned();
            anyhow::bail!(
                "cargo lambda build of {krate} failed: {last} (full log: {})",
                log.display()
            );
        }
        let bin = lambda_dir(project).join(&krate).join("bootstrap");
        let meta =
            std::fs::metadata(&bin).map_err(|e| anyhow::anyhow!("{}: {e}", bin.display()))?;
        t.add_row(vec![
            name,
            bin.display().to_string(),
            elf_arch(&bin).unwrap_or("?").to_owned(),
            format!("{:.1} MB", meta.len() as f64 / 1e6),
        ]);
        pb.inc(1);
    }
    pb.finish_and_clear();
    println!("{t}");
    Ok(exit::OK)
}

pub(super) fn package(project: &Project, names: &[String]) -> anyhow::Result<i32> {
    use sha2::Digest;
    let fns = selected(project, names)?;
    let mut t = crate::commands::table();
    t.set_header(vec![
        "function",
        "package",
        "architecture",
        "bootstrap",
        "zip",
        "sha256",
        "Lambda limits",
    ]);
    for (name, krate) in fns {
        let bin = lambda_dir(project).join(&krate).join("bootstrap");
        let data = std::fs::read(&bin).map_err(|_| {
            anyhow::anyhow!(
                "{} not built: run `manuel-migrate functions build --function {name}`",
                bin.display()
            )
        })?;
        let arch = elf_arch(&bin)
            .ok_or_else(|| anyhow::anyhow!("{}: not an ELF executable", bin.display()))?;
        let mut extra = Vec::new();
        for (file, path) in project.function(&name)?.bundled_files(&project.root, arch) {
            let bytes = std::fs::read(&path).map_err(|e| {
                anyhow::anyhow!(
                    "{}: {e} (listed in `files` of {name}; run scripts/setup.sh)",
                    path.display()
                )
            })?;
            extra.push((file, bytes));
        }
        let mut entries: Vec<(&str, &[u8], u32)> = vec![("bootstrap", &data, 0o755)];
        entries.extend(extra.iter().map(|(f, b)| (f.as_str(), b.as_slice(), 0o644)));
        let zip = crate::package::zip(&entries)?;
        let unzipped: usize = entries.iter().map(|e| e.1.len()).sum();
        let out = lambda_dir(project).join(format!("{krate}.zip"));
        crate::fsutil::write_atomic(&out, &zip)?;
        let ok = (zip.len() as u64) <= crate::package::MAX_ZIPPED
            && (unzipped as u64) <= crate::package::MAX_UNZIPPED;
        t.add_row(vec![
            name,
            out.display().to_string(),
            arch.to_owned(),
            format!("{:.1} MB", data.len() as f64 / 1e6),
            format!("{:.1} MB", zip.len() as f64 / 1e6),
            hex::encode(sha2::Sha256::digest(&zip)),
            if ok {
                "ok (≤ 50 MB zipped, ≤ 250 MB unzipped)".into()
            } else {
                "TOO LARGE for direct upload".into()
            },
        ]);
        if !ok {
            println!("{t}");
            anyhow::bail!("{}: over Lambda's deployment package limits", out.display());
        }
    }
    println!("{t}");
    Ok(exit::OK)
}

pub(super) async fn publish(
    project: &Project,
    function: &str,
    as_version_of: Option<&str>,
    zip: Option<&Path>,
) -> anyhow::Result<i32> {
    use sha2::Digest;
    let cfg = project.function(function)?;
    let zip_path = zip
        .map(Path::to_path_buf)
        .unwrap_or_else(|| lambda_dir(project).join(format!("{}.zip", cfg.crate_name)));
    let bytes = std::fs::read(&zip_path).map_err(|e| {
        anyhow::anyhow!(
            "{}: {e} (run `functions build` and `functions package`)",
            zip_path.display()
        )
    })?;
    let arch = zip_arch(&bytes).ok_or_else(|| {
        anyhow::anyhow!(
            "{}: no bootstrap ELF found in the package",
            zip_path.display()
        )
    })?;
    let target = as_version_of
        .map(str::to_owned)
        .or_else(|| cfg.deploy.as_ref().and_then(|d| d.function_name.clone()))
        .unwrap_or_else(|| format!("manuel-{function}-rust-{}", project.config.project.stage));
    let sha = hex::encode(sha2::Sha256::digest(&bytes));
    let conf = crate::aws::config(project).await;
    let client = aws_sdk_lambda::Client::new(&conf);
    // The version the alias serves before the Rust code arrives is the Python one.
    let alias = cfg
        .deploy
        .as_ref()
        .and_then(|d| d.alias.clone())
        .unwrap_or_else(|| "live".into());
    let python_version = match cfg.deploy.as_ref().and_then(|d| d.python_version.clone()) {
        Some(v) => Some(v),
        None => client
            .get_alias()
            .function_name(&target)
            .name(&alias)
            .send()
            .await
            .ok()
            .and_then(|a| a.function_version().map(str::to_owned)),
    };
    let lambda_arch = match arch {
        "aarch64" => aws_sdk_lambda::types::Architecture::Arm64,
        _ => aws_sdk_lambda::types::Architecture::X8664,
    };
    let description = format!("manuel-migrate {} {}", cfg.crate_name, &sha[..16]);
    let published =
        crate::deploy::publish(&client, &target, bytes, lambda_arch, &description).await?;
    println!(
        "published {} version {} ({arch}, package sha256 {sha})",
        published.function, published.version
    );
    if as_version_of.is_some() {
        let mut values = vec![
            ("function_name", target.as_str()),
            ("alias", alias.as_str()),
            ("rust_version", published.version.as_str()),
        ];
        if let Some(v) = python_version.as_deref() {
            values.push(("python_version", v));
        }
        crate::config::record_deploy(&project.root, function, &values)?;
        println!(
            "recorded in manuel-migrate.toml: [functions.{function}.deploy] function_name = {target}, alias = {alias}, rust_version = {}{}",
            published.version,
            python_version.map(|v| format!(", python_version = {v}")).unwrap_or_default()
        );
        println!("note: $LATEST of {target} now holds the Rust code; clients must call the alias '{alias}'");
    }
    Ok(exit::OK)
}

/// The architecture of the `bootstrap` inside a package (reads the first local file entry).
pub(crate) fn zip_arch(zip: &[u8]) -> Option<&'static str> {
    use std::io::Read;
    if zip.len() < 30 || zip[..4] != [0x50, 0x4b, 0x03, 0x04] {
        return None;
    }
    let method = u16::from_le_bytes([zip[8], zip[9]]);
    let csize = u32::from_le_bytes([zip[18], zip[19], zip[20], zip[21]]) as usize;
    let name_len = u16::from_le_bytes([zip[26], zip[27]]) as usize;
    let extra = u16::from_le_bytes([zip[28], zip[29]]) as usize;
    let start = 30 + name_len + extra;
    let data = zip.get(start..start + csize)?;
    let mut head = [0u8; 20];
    match method {
        0 => head.copy_from_slice(data.get(..20)?),
        8 => flate2::read::DeflateDecoder::new(data)
            .read_exact(&mut head)
            .ok()?,
        _ => return None,
    }
    elf_machine(&head)
}
