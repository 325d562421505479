//! The core's module order stated in docs/architecture.md, checked on the sources where the
//! compiler does not: each module imports only those before it. (Between crates the compiler
//! keeps the layers: a crate cannot name one above it.)
#![cfg(not(target_arch = "wasm32"))]

use std::fs;
use std::path::Path;

/// Every `.rs` file under `dir`, with its text.
fn sources(dir: &Path) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).expect("source directory") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            found.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = fs::read_to_string(&path).expect("readable");
            found.push((path.display().to_string(), text));
        }
    }
    found
}

fn src(layer: &str) -> Vec<(String, String)> {
    sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join(layer))
}

/// The lines of `text` that are code (not comments).
fn code(text: &str) -> impl Iterator<Item = &str> {
    text.lines().map(str::trim_start).filter(|line| !line.starts_with("//"))
}

#[test]
fn core_modules_import_only_the_modules_before_them() {
    let order = [
        "ids",
        "interest",
        "counter",
        "proof",
        "rules",
        "digest",
        "merkle",
        "signing",
        "seal",
        "witness",
        "totals",
        "tally",
        "quota",
        "replica",
        "restore",
        "actions",
        "sync",
        "wire",
        "wire_sync",
        "wire_light",
        "light",
    ];
    for (path, text) in src("src") {
        // A module in a directory (`replica/mod.rs`, `replica/merging.rs`) is its directory's.
        let file = Path::new(&path);
        let parent = file.parent().and_then(|p| p.file_name()).and_then(|s| s.to_str());
        let name = match parent {
            Some(dir) if dir != "src" => dir,
            _ => file.file_stem().and_then(|s| s.to_str()).expect("name"),
        };
        let Some(position) = order.iter().position(|m| *m == name) else {
            assert_eq!(name, "lib", "{path}: a core module missing from the order");
            continue;
        };
        for line in code(&text) {
            for (later, module) in order.iter().enumerate().skip(position + 1) {
                for import in [format!("super::{module}"), format!("crate::{module}::")] {
                    assert!(
                        !line.contains(&import),
                        "{name} (#{position}) imports {module} (#{later}), which comes after it"
                    );
                }
            }
        }
    }
}
