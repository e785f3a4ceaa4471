//! The module graph of `engine/src` has no cycles: no module imports one that imports it (the
//! command line calls down into the online commands, never the reverse). Read from the sources,
//! test modules left out, so a new cycle fails here naming the modules on it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`.
fn sources(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("engine/src is readable") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            sources(&path, found);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            found.push(path);
        }
    }
}

/// The top-level modules each top-level module names through `crate::…` (tests excluded).
fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let relative = file.strip_prefix(&root).expect("under src");
        let top = relative.components().next().expect("a component").as_os_str().to_string_lossy();
        let module = top.trim_end_matches(".rs").to_owned();
        // The crate roots and test-only files are not modules of the graph.
        if ["lib", "main", "demo"].contains(&module.as_str()) || file.ends_with("tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("a source file");
        let text = text.split("#[cfg(test)]\nmod ").next().unwrap_or_default();
        let mut named = BTreeSet::new();
        for (at, _) in text.match_indices("crate::") {
            let rest = &text[at + "crate::".len()..];
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if !name.is_empty() {
                named.insert(name);
            }
            // `use crate::{a, b::c}`
            if rest.starts_with('{') {
                let inner = &rest[1..rest.find('}').unwrap_or(rest.len())];
                for part in inner.split(',') {
                    let name = part.trim().split("::").next().unwrap_or_default().to_owned();
                    if !name.is_empty() {
                        named.insert(name);
                    }
                }
            }
        }
        named.remove(&module);
        graph.entry(module).or_default().extend(named);
    }
    graph
}

/// Modules reachable from `start`.
fn reachable(graph: &BTreeMap<String, BTreeSet<String>>, start: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![start.to_owned()];
    while let Some(module) = stack.pop() {
        for next in graph.get(&module).into_iter().flatten() {
            if seen.insert(next.clone()) {
                stack.push(next.clone());
            }
        }
    }
    seen
}

#[test]
fn no_module_imports_one_that_imports_it() {
    let graph = module_graph();
    assert!(graph.len() > 10, "the graph was read: {graph:?}");
    let on_a_cycle: Vec<String> =
        graph.keys().filter(|module| reachable(&graph, module).contains(*module)).cloned().collect();
    let edges: Vec<String> = on_a_cycle
        .iter()
        .flat_map(|module| {
            graph[module]
                .iter()
                .filter(|next| on_a_cycle.contains(next))
                .map(move |next| format!("{module} → {next}"))
        })
        .collect();
    assert!(on_a_cycle.is_empty(), "modules on an import cycle: {on_a_cycle:?}; edges among them: {edges:?}");
}

#[test]
fn the_command_line_is_the_top() {
    let graph = module_graph();
    for (module, named) in &graph {
        assert!(
            !named.contains("cli") || module == "cli",
            "`{module}` imports `cli`: the command line calls down, never the reverse"
        );
    }
}

#[test]
fn output_goes_through_the_macros_that_survive_a_closed_pipe() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &mut files);
    let printing: Vec<String> = files
        .iter()
        .filter(|file| !file.ends_with("tests.rs"))
        .filter(|file| {
            let text = std::fs::read_to_string(file).expect("a source file");
            let text = text.split("#[cfg(test)]\nmod ").next().unwrap_or_default().to_owned();
            ["println!(", "print!(", "eprintln!(", "eprint!("].iter().any(|call| {
                text.match_indices(call).any(|(at, _)| {
                    // `print_line!(` and `eprint_line!(` are the macros themselves.
                    !text[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_')
                })
            })
        })
        .map(|file| file.strip_prefix(&root).expect("under src").display().to_string())
        .collect();
    assert!(files.len() > 20, "the sources were read");
    assert!(
        printing.is_empty(),
        "`println!` and friends panic on a closed pipe; use `print_line!` or `print_text!`: {printing:?}"
    );
}
