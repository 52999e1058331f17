//! The floors of ARCHITECTURE.md, checked against the `crate::` paths of every source file:
//! a module uses only modules on lower floors, or on its own floor where that floor allows it
//! (the ground and the domain, whose modules build on each other); the modules' graph has no
//! circle. A new top-level module must be given a floor in [`FLOORS`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Floors from the ground up.
const FLOORS: &[(&str, &[&str])] = &[
    (
        "ground",
        &[
            "clock",
            "ids",
            "ratelimit",
            "faults",
            "journal",
            "tls",
            "http",
            "record",
            "events",
        ],
    ),
    (
        "domain",
        &["ledger", "world", "outbox", "scenario", "demo", "store"],
    ),
    ("state", &["state"]),
    ("engine", &["notify"]),
    ("routes", &["wechat", "alipay", "admin"]),
    ("pages", &["dashboard"]),
    ("router", &["router"]),
    ("server", &["server", "startup"]),
];

/// Floors whose modules may use each other.
const SHARED_FLOORS: &[&str] = &["ground", "domain"];

fn floor_of(module: &str) -> Option<usize> {
    FLOORS
        .iter()
        .position(|(_, modules)| modules.contains(&module))
}

/// The code of a file without its comments (line comments only: the crate has no others).
fn code(source: &str) -> String {
    source
        .lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level modules a file's code names as `crate::module` (or inside `crate::{...}`).
fn used_modules(code: &str) -> BTreeSet<String> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut used = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        match rest.strip_prefix('{') {
            Some(group) => {
                let group = &group[..group.find('}').unwrap_or(group.len())];
                for path in group.split(',') {
                    let name = ident(path.trim());
                    if !name.is_empty() {
                        used.insert(name);
                    }
                }
            }
            None => {
                used.insert(ident(rest));
            }
        }
    }
    used
}

fn sources(dir: &Path, found: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// Module -> the other modules its files use.
fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let relative = file.strip_prefix(&src).unwrap();
        let first = relative.components().next().unwrap();
        let module = first.as_os_str().to_str().unwrap().trim_end_matches(".rs");
        // lib.rs declares the modules; main.rs and this file use the crate from outside.
        if ["lib", "main", "layers"].contains(&module) {
            continue;
        }
        let used = used_modules(&code(&std::fs::read_to_string(&file).unwrap()));
        let entry = graph.entry(module.to_owned()).or_default();
        entry.extend(used.into_iter().filter(|m| m != module));
    }
    graph
}

#[test]
fn every_module_has_a_floor_and_uses_only_what_is_below() {
    let graph = module_graph();
    let mut wrong = Vec::new();
    for (module, used) in &graph {
        let Some(floor) = floor_of(module) else {
            wrong.push(format!("{module} has no floor in layers.rs"));
            continue;
        };
        for other in used {
            match floor_of(other) {
                Some(f) if f < floor => {}
                Some(f) if f == floor && SHARED_FLOORS.contains(&FLOORS[f].0) => {}
                Some(f) => wrong.push(format!(
                    "{module} ({}) uses {other} ({})",
                    FLOORS[floor].0, FLOORS[f].0
                )),
                None => wrong.push(format!("{module} uses {other}, which has no floor")),
            }
        }
    }
    assert_eq!(wrong, Vec::<String>::new());
    // The table names modules that exist: a renamed module cannot keep a stale floor.
    for (_, modules) in FLOORS {
        for module in *modules {
            assert!(graph.contains_key(*module), "{module} is not a module");
        }
    }
}

#[test]
fn the_modules_use_each_other_in_no_circle() {
    let graph = module_graph();
    // Kahn: repeatedly remove the modules that use nothing left.
    let mut left = graph.clone();
    while let Some(free) = left
        .iter()
        .find(|(_, used)| used.iter().all(|m| !left.contains_key(m)))
        .map(|(m, _)| m.clone())
    {
        left.remove(&free);
    }
    // What is left is a circle and the modules above it.
    assert_eq!(left.keys().collect::<Vec<_>>(), Vec::<&String>::new());
}

#[test]
fn paths_are_read_from_code_not_comments() {
    let source = "use crate::clock::Timestamp; // crate::server\n/// [`crate::state`]\nlet x = crate::{ids, ledger::wechat};";
    let used = used_modules(&code(source));
    assert_eq!(
        used.into_iter().collect::<Vec<_>>(),
        ["clock", "ids", "ledger"]
    );
}
