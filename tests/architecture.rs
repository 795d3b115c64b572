//! The architecture `src/lib.rs` describes, checked on the source text so that it cannot drift
//! again unnoticed (issue #18):
//! - no engine module imports `report` or the command line;
//! - only `load` (and the binary) reads files;
//! - no two top-level modules import each other, directly or round a longer circle, and no two
//!   files of one module directory do;
//! - no source file is longer than 800 lines.
//!
//! The scan is textual: comments are dropped, and so is each file's `#[cfg(test)] mod tests`
//! block (tests may read fixtures). Paths are taken from `crate::a::b` and `super::b` (and
//! `use super::{b, ...}`), which is how every module here names another.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::util::repo;

/// The engine: what must never depend on how results are written or how commands are given.
const ENGINE: &[&str] = &[
    "snapshot",
    "diff",
    "dedupe",
    "rules",
    "anomalies",
    "model",
    "findings",
    "normalize",
    "stats",
];

/// Calls that read a file's contents.
const FILE_READS: &[&str] = &[
    "fs::read(",
    "fs::read_to_string(",
    "File::open(",
    ".read(true)",
];

/// Longest source file, in lines.
const MAX_LINES: usize = 800;

/// One Rust source file of the crate, with its comments and unit tests dropped.
struct Source {
    /// Relative to the repository, e.g. `src/load/table.rs`.
    path: PathBuf,
    /// Module path, e.g. `["load", "table"]` (`[]` for lib.rs, `["cli"]` for cli/mod.rs).
    module: Vec<String>,
    code: String,
    lines: usize,
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a source directory") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            // The fuzz crate's build output is not ours.
            if path.file_name().is_some_and(|n| n == "target") {
                continue;
            }
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The text without `//` comments and without a trailing `#[cfg(test)] mod tests { ... }`.
fn code_of(text: &str) -> String {
    let without_tests = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => text,
    };
    without_tests
        .lines()
        .map(|l| match l.find("//") {
            Some(at) if !l[..at].contains('"') => &l[..at],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn sources(under: &str) -> Vec<Source> {
    let root = repo();
    let mut files = Vec::new();
    rust_files(&root.join(under), &mut files);
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("a readable source file");
            let rel = path.strip_prefix(root).expect("under the repository");
            let mut module: Vec<String> = rel
                .strip_prefix("src")
                .unwrap_or(rel)
                .with_extension("")
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            if matches!(
                module.last().map(String::as_str),
                Some("mod" | "lib" | "main")
            ) {
                module.pop();
            }
            Source {
                path: rel.to_path_buf(),
                module,
                code: code_of(&text),
                lines: text.lines().count(),
            }
        })
        .collect()
}

/// The modules `source` names: the first segment after `crate::`, and for files below the top
/// level, siblings named through `super::`.
fn references(source: &Source) -> (BTreeSet<String>, BTreeSet<String>) {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut top = BTreeSet::new();
    for (at, _) in source.code.match_indices("crate::") {
        let name = ident(&source.code[at + "crate::".len()..]);
        if !name.is_empty() {
            top.insert(name);
        }
    }
    let mut siblings = BTreeSet::new();
    for (at, _) in source.code.match_indices("super::") {
        let rest = &source.code[at + "super::".len()..];
        let names: Vec<String> = match rest.strip_prefix('{') {
            Some(list) => list
                .split('}')
                .next()
                .unwrap_or("")
                .split(',')
                .map(|item| ident(item.trim()))
                .collect(),
            None => vec![ident(rest)],
        };
        siblings.extend(names.into_iter().filter(|n| !n.is_empty()));
    }
    (top, siblings)
}

/// A circle in `graph`, as the nodes along it, if there is one.
fn circle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut found = path[at..].to_vec();
            found.push(node.to_string());
            return Some(found);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, graph, path, done) {
                return Some(found);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

#[test]
fn no_engine_module_imports_report_or_the_command_line() {
    let mut bad = Vec::new();
    for source in sources("src") {
        let Some(top) = source.module.first() else {
            continue;
        };
        if !ENGINE.contains(&top.as_str()) {
            continue;
        }
        let (names, _) = references(&source);
        for forbidden in ["report", "cli"] {
            if names.contains(forbidden) {
                bad.push(format!("{} imports {forbidden}", source.path.display()));
            }
        }
    }
    assert!(bad.is_empty(), "{bad:#?}");
}

#[test]
fn only_load_and_the_binary_read_files() {
    let mut bad = Vec::new();
    for source in sources("src") {
        let allowed = matches!(
            source.module.first().map(String::as_str),
            Some("load" | "cli" | "main" | "progress")
        );
        for call in FILE_READS {
            if !allowed && source.code.contains(call) {
                bad.push(format!("{}: {call}", source.path.display()));
            }
        }
    }
    assert!(bad.is_empty(), "read files outside load: {bad:#?}");
}

#[test]
fn modules_import_each_other_in_one_direction() {
    let all = sources("src");
    let tops: BTreeSet<String> = all
        .iter()
        .filter_map(|s| s.module.first().cloned())
        .collect();
    // Top-level modules.
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for source in &all {
        let Some(top) = source.module.first() else {
            continue;
        };
        let (names, _) = references(source);
        let edges = graph.entry(top.clone()).or_default();
        edges.extend(names.into_iter().filter(|n| n != top && tops.contains(n)));
    }
    assert_eq!(circle(&graph), None, "top-level modules in a circle");
    // Files of one module directory (a parent `mod.rs` and its children may name each other:
    // that is how Rust modules hold their parts).
    let mut by_dir: BTreeMap<Vec<String>, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for source in all.iter().filter(|s| s.module.len() >= 2) {
        let (dir, name) = source.module.split_at(source.module.len() - 1);
        let files: BTreeSet<String> = all
            .iter()
            .filter(|s| s.module.len() == dir.len() + 1 && s.module.starts_with(dir))
            .map(|s| s.module[dir.len()].clone())
            .collect();
        let (_, siblings) = references(source);
        by_dir
            .entry(dir.to_vec())
            .or_default()
            .entry(name[0].clone())
            .or_default()
            .extend(
                siblings
                    .into_iter()
                    .filter(|n| n != &name[0] && files.contains(n)),
            );
    }
    for (dir, graph) in &by_dir {
        assert_eq!(
            circle(graph),
            None,
            "files of {} in a circle",
            dir.join("/")
        );
    }
}

#[test]
fn no_source_file_is_longer_than_800_lines() {
    let long: Vec<String> = ["src", "tests", "benches"]
        .iter()
        .flat_map(|dir| sources(dir))
        .filter(|s| s.lines > MAX_LINES)
        .map(|s| format!("{}: {} lines", s.path.display(), s.lines))
        .collect();
    assert!(long.is_empty(), "{long:#?}");
}

/// The checks see what they are meant to see: a file that breaks each rule is caught.
#[test]
fn the_checks_catch_what_they_look_for() {
    let source = |module: &[&str], text: &str| Source {
        path: PathBuf::from("x.rs"),
        module: module.iter().map(|m| m.to_string()).collect(),
        code: code_of(text),
        lines: text.lines().count(),
    };
    let s = source(
        &["dedupe", "cluster"],
        "use crate::report::x; // crate::cli\nuse super::{compare, records::Records};\n\
         #[cfg(test)]\nmod tests { use crate::cli; }",
    );
    let (top, siblings) = references(&s);
    assert_eq!(top, BTreeSet::from(["report".to_string()]));
    assert_eq!(
        siblings,
        BTreeSet::from(["compare".to_string(), "records".to_string()])
    );
    let graph = BTreeMap::from([
        ("a".to_string(), BTreeSet::from(["b".to_string()])),
        ("b".to_string(), BTreeSet::from(["c".to_string()])),
        ("c".to_string(), BTreeSet::from(["a".to_string()])),
    ]);
    assert_eq!(
        circle(&graph),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
    let mut line = BTreeMap::new();
    line.insert("a".to_string(), BTreeSet::from(["b".to_string()]));
    assert_eq!(circle(&line), None);
    assert!(code_of("let t = std::fs::read_to_string(p); // x").contains("fs::read_to_string("));
}
