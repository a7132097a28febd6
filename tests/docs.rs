//! The repository as a newcomer meets it: every `just` command the README and `docs/` show is
//! a recipe of the justfile, the README stays a short guide, the licences it names exist, and
//! nothing the build, the tests or the tools read lies outside the repository; the shared
//! crate keeps its floors, and files and functions stay short enough to read.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    // Cargo's run-time value: a shared build directory may hold a binary compiled in another
    // checkout, whose compile-time path would be stale.
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The recipe names a justfile defines: unindented `name args...:` lines (not `set`, not
/// comments, not `:=` assignments).
fn recipes(justfile: &str) -> Vec<String> {
    justfile
        .lines()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_lowercase()) && !l.starts_with("set "))
        .filter(|l| l.contains(':') && !l.contains(":="))
        .filter_map(|l| l.split([' ', ':']).next())
        .map(str::to_string)
        .collect()
}

/// The text inside a Markdown file's code: fenced blocks and inline `code` spans.
fn code_spans(markdown: &str) -> Vec<String> {
    let mut spans = vec![];
    let mut fenced = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            spans.push(line.to_string());
            continue;
        }
        let mut parts = line.split('`');
        parts.next();
        while let Some(inside) = parts.next() {
            spans.push(inside.to_string());
            parts.next();
        }
    }
    spans
}

/// Every recipe a `just NAME` in `markdown`'s code asks for.
fn just_commands(markdown: &str) -> Vec<String> {
    let mut names = vec![];
    for span in code_spans(markdown) {
        let words: Vec<&str> = span.split_whitespace().collect();
        for pair in words.windows(2) {
            if pair[0] == "just" && !pair[1].starts_with('-') {
                let name = pair[1].trim_end_matches(|c: char| !c.is_ascii_alphanumeric());
                names.push(name.to_string());
            }
        }
    }
    names
}

fn markdown_files() -> Vec<PathBuf> {
    let mut files = vec![root().join("README.md")];
    if let Ok(entries) = std::fs::read_dir(root().join("docs")) {
        let mut docs: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "md"))
            .collect();
        docs.sort();
        files.extend(docs);
    }
    files
}

#[test]
fn every_just_command_shown_is_a_recipe() {
    let defined = recipes(&read(&root().join("justfile")));
    assert!(
        defined.iter().any(|r| r == "test"),
        "the justfile parser found no `test` recipe: {defined:?}"
    );
    let mut unknown = vec![];
    let mut shown = 0;
    for file in markdown_files() {
        for name in just_commands(&read(&file)) {
            shown += 1;
            if !defined.contains(&name) {
                unknown.push(format!("{}: just {name}", file.display()));
            }
        }
    }
    assert!(shown > 0, "the README shows no `just` command");
    assert!(
        unknown.is_empty(),
        "commands with no justfile recipe:\n{}",
        unknown.join("\n")
    );
}

#[test]
fn the_parsers_see_what_they_should() {
    let justfile = "set positional-arguments\n# comment: x\ntest *args:\n    cargo test\nbench:\n";
    assert_eq!(recipes(justfile), ["test", "bench"]);
    let md =
        "Run `just lstm-mnist --epochs 2`, then:\n```\njust test\n$ just --list\n```\njust prose";
    assert_eq!(just_commands(md), ["lstm-mnist", "test"]);
}

#[test]
fn the_readme_is_a_short_guide_with_its_licences() {
    let readme = read(&root().join("README.md"));
    let lines = readme.lines().count();
    assert!(lines <= 250, "README.md has {lines} lines (at most 250)");
    for licence in ["LICENSE-MIT", "LICENSE-APACHE"] {
        assert!(root().join(licence).is_file(), "{licence} is missing");
        assert!(
            readme.contains(licence),
            "the README does not link {licence}"
        );
    }
}

/// Nothing outside `.ci/` names the folder beside the repository: a clone stands alone.
#[test]
fn nothing_reads_outside_the_repository() {
    let outside = concat!("..", "/shared");
    let mut found = vec![];
    let mut stack: Vec<PathBuf> = ["justfile", "crates", "experiments", "tests", "reproduce"]
        .iter()
        .chain(&["bench", "tools", "docs", "README.md", "Cargo.toml"])
        .map(|p| root().join(p))
        .collect();
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            for entry in std::fs::read_dir(&path).expect("readable folder").flatten() {
                stack.push(entry.path());
            }
        } else if let Ok(text) = std::fs::read_to_string(&path) {
            for (n, line) in text.lines().enumerate() {
                if line.contains(outside) {
                    found.push(format!("{}:{}", path.display(), n + 1));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "{outside} named in:\n{}",
        found.join("\n")
    );
}

/// Runs one of the repository's Python checks from its root; its output is the failure message.
fn python_check(script: &str) {
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg("--check")
        .current_dir(root())
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3 {script} (python3 is needed): {e}"));
    assert!(
        out.status.success(),
        "{script} --check failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// crates/train's floors hold (no import against the order lib.rs states) and no library crate
/// has a circle between its modules (`tools/layers.py`).
#[test]
fn the_shared_crate_keeps_its_floors() {
    python_check("tools/layers.py");
}

/// No file over 500 lines and no function over 80 outside tests and the kernels
/// (`tools/sizes.py`).
#[test]
fn files_and_functions_stay_readable() {
    python_check("tools/sizes.py");
}
