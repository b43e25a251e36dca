//! template-rust.yaml: cfn-lint clean, and every function crate has its resource.

mod common;

use std::process::Command;

#[test]
fn cfn_lint_passes() {
    let root = common::root();
    let lint = root.join(".venv/bin/cfn-lint");
    assert!(
        lint.is_file(),
        "{} missing: run scripts/setup.sh",
        lint.display()
    );
    let out = Command::new(lint)
        .arg("template-rust.yaml")
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cfn-lint template-rust.yaml:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_function_crate_has_a_rust_resource_and_config() {
    let root = common::root();
    let project = common::project();
    let template = std::fs::read_to_string(root.join("template-rust.yaml")).unwrap();
    for entry in std::fs::read_dir(root.join("functions")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        let (fname, cfg) = project
            .config
            .functions
            .iter()
            .find(|(_, c)| c.crate_name == name)
            .unwrap_or_else(|| {
                panic!("crate functions/{name} has no [functions.*] entry in manuel-migrate.toml")
            });
        let resource = format!("  {}Rust:\n", cfg.template_resource);
        assert!(
            template.contains(&resource),
            "template-rust.yaml lacks {}Rust",
            cfg.template_resource
        );
        assert!(
            template.contains(&format!("CodeUri: functions/{name}\n")),
            "no CodeUri for {name}"
        );
        assert!(
            template.contains(&format!("Binary: {name}\n")),
            "no BuildProperties.Binary for {name}"
        );
        for route in &cfg.routes {
            let (method, path) = route.split_once(' ').unwrap();
            assert!(
                template.contains(&format!(
                    "Path: {path}\n            Method: {}\n",
                    method.to_lowercase()
                )),
                "{fname}: route {route} missing from template-rust.yaml"
            );
        }
    }
}
