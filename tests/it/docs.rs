//! The docs are checked like code: every relative link in README.md and docs/ resolves (file
//! and heading), every `make X` and `featdiv X` they name exists, and the README's results table
//! is the one `featdiv table` makes from the committed claims.json files, and the claims'-table
//! entry docs/architecture.md shows is the table's own. Each check is shown to fail on a planted
//! fault.
use featdiv::report::table;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// README.md and every Markdown file under docs/.
fn doc_files() -> Vec<PathBuf> {
    let mut files = vec![root().join("README.md")];
    let mut dirs = vec![root().join("docs")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// A heading's anchor as GitHub makes it: lower case, spaces to hyphens, punctuation dropped.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// The anchors of a Markdown text's headings (outside code blocks).
fn anchors(text: &str) -> BTreeSet<String> {
    let mut in_code = false;
    let mut out = BTreeSet::new();
    for line in text.lines() {
        if line.starts_with("```") {
            in_code = !in_code;
        } else if !in_code && line.starts_with('#') {
            out.insert(slug(line.trim_start_matches('#')));
        }
    }
    out
}

/// The targets of Markdown links `[text](target)` outside code.
fn link_targets(text: &str) -> Vec<String> {
    let prose = code_and_prose(text).1;
    let mut out = Vec::new();
    let mut rest = prose.as_str();
    while let Some(i) = rest.find("](") {
        rest = &rest[i + 2..];
        if let Some(end) = rest.find(')') {
            out.push(rest[..end].to_string());
        }
    }
    out
}

/// (code, prose): the text inside fenced blocks and inline code spans, and the rest.
fn code_and_prose(text: &str) -> (String, String) {
    let (mut code, mut prose) = (String::new(), String::new());
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            code.push_str(line);
            code.push('\n');
            continue;
        }
        for (i, part) in line.split('`').enumerate() {
            let to = if i % 2 == 1 { &mut code } else { &mut prose };
            to.push_str(part);
            to.push('\n');
        }
    }
    (code, prose)
}

/// Broken relative links of `file` (whose text is `text`): a missing file, or a missing heading.
fn broken_links(file: &Path, text: &str) -> Vec<String> {
    let dir = file.parent().unwrap();
    let mut broken = Vec::new();
    for target in link_targets(text) {
        if target.contains("://") || target.starts_with("mailto:") {
            continue;
        }
        let (path, anchor) = target.split_once('#').unwrap_or((&target, ""));
        let linked = if path.is_empty() {
            file.to_path_buf()
        } else {
            dir.join(path)
        };
        if !linked.exists() {
            broken.push(format!(
                "{}: link to {target}: no such file",
                file.display()
            ));
        } else if !anchor.is_empty() {
            let linked_text = if path.is_empty() {
                text.to_string()
            } else {
                std::fs::read_to_string(&linked).unwrap_or_default()
            };
            let headings = anchors(&linked_text);
            if !headings.contains(anchor) {
                broken.push(format!(
                    "{}: link to {target}: no such heading",
                    file.display()
                ));
            }
        }
    }
    broken
}

/// The words after `command ` in the code of `text`: `make test` gives "test".
fn named(text: &str, command: &str) -> BTreeSet<String> {
    let code = code_and_prose(text).0;
    let mut out = BTreeSet::new();
    for line in code.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        for (i, pair) in words.windows(2).enumerate() {
            // A command starts a line, a span or a pipeline: "featdiv as a library" is prose.
            let starts = i == 0 || ["&&", ";", "|", "$"].contains(&words[i - 1]);
            let is_command = pair[0] == command || pair[0].ends_with(&format!("/{command}"));
            let word = pair[1];
            if starts && is_command && word.chars().all(|c| c.is_ascii_lowercase() || c == '-') {
                out.insert(word.to_string());
            }
        }
    }
    out
}

fn make_targets() -> BTreeSet<String> {
    let makefile = std::fs::read_to_string(root().join("Makefile")).unwrap();
    makefile
        .lines()
        .filter_map(|l| l.split_once(':').map(|(t, _)| t))
        .filter(|t| !t.is_empty() && t.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
        .map(str::to_string)
        .collect()
}

fn featdiv_commands() -> BTreeSet<String> {
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_featdiv"))
        .arg("--help")
        .output()
        .unwrap();
    let text = String::from_utf8(help.stdout).unwrap();
    text.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

/// Names in `text` that `known` lacks, each as `file: make X`.
fn unknown(file: &Path, text: &str, command: &str, known: &BTreeSet<String>) -> Vec<String> {
    named(text, command)
        .into_iter()
        .filter(|w| !known.contains(w))
        .map(|w| format!("{}: {command} {w}: no such command", file.display()))
        .collect()
}

/// The README's table against the one the committed claims.json files make.
fn table_disagreement(readme: &str, files: &[PathBuf]) -> Option<String> {
    let rendered = table::render(&table::read(files).unwrap()).unwrap();
    match table::block(readme) {
        None => Some("README.md has no results-table block".into()),
        Some(b) if b == rendered => None,
        Some(b) => Some(format!(
            "README.md's results table disagrees with {files:?}: run `make results`\n\
             --- README\n{b}\n--- claims.json\n{rendered}"
        )),
    }
}

/// As `make results` names them: relative to the repository, which is where tests run.
fn confirmatory_claims() -> Vec<PathBuf> {
    let dir = Path::new("docs/confirmatory");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| dir.join(e.unwrap().file_name()).join("claims.json"))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_relative_link_resolves() {
    let broken: Vec<String> = doc_files()
        .iter()
        .flat_map(|f| broken_links(f, &std::fs::read_to_string(f).unwrap()))
        .collect();
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

#[test]
fn a_broken_link_or_heading_is_found() {
    let file = root().join("README.md");
    let text = "[ok](docs/judging.md) [gone](docs/nothing.md) [bad](docs/judging.md#no-such) \
                [web](https://example.org) `[code](not/checked.md)`\n\n## A heading, here\n\
                [self](#a-heading-here) [self bad](#nope)";
    let broken = broken_links(&file, text);
    assert_eq!(broken.len(), 3, "{broken:?}");
    assert!(broken[0].ends_with("link to docs/nothing.md: no such file"));
    assert!(broken[1].ends_with("link to docs/judging.md#no-such: no such heading"));
    assert!(broken[2].ends_with("link to #nope: no such heading"));
}

#[test]
fn every_make_target_and_featdiv_command_named_exists() {
    let (targets, commands) = (make_targets(), featdiv_commands());
    assert!(targets.contains("test") && commands.contains("reproduce"));
    let missing: Vec<String> = doc_files()
        .iter()
        .flat_map(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            let mut m = unknown(f, &text, "make", &targets);
            m.extend(unknown(f, &text, "featdiv", &commands));
            m
        })
        .collect();
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

#[test]
fn an_unknown_target_or_command_is_found() {
    let text = "run `make test` then `make tset`\n```sh\n./target/release/featdiv reproduce\n\
                featdiv reprodcue --profile quick\nsrc/ featdiv as a library\n```\n\
                prose: make things, featdiv is a crate";
    let file = Path::new("README.md");
    assert_eq!(
        unknown(file, text, "make", &make_targets()),
        ["README.md: make tset: no such command"]
    );
    assert_eq!(
        unknown(file, text, "featdiv", &featdiv_commands()),
        ["README.md: featdiv reprodcue: no such command"]
    );
}

#[test]
fn the_readme_results_table_is_the_committed_claims() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let files = confirmatory_claims();
    assert!(!files.is_empty(), "no docs/confirmatory/*/claims.json");
    if let Some(why) = table_disagreement(&readme, &files) {
        panic!("{why}");
    }
}

#[test]
fn a_table_that_disagrees_with_its_claims_is_found() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let files = confirmatory_claims();
    let edited = readme.replacen("| **holds** |", "| **refuted** |", 1);
    assert_ne!(edited, readme, "the README's table has a row that holds");
    assert!(table_disagreement(&edited, &files).is_some());
    let without = readme.replace(table::BEGIN, "");
    assert_eq!(
        table_disagreement(&without, &files).as_deref(),
        Some("README.md has no results-table block")
    );
}

/// The `text` block after "K5 is the entry" in docs/architecture.md, each line trimmed.
fn example_entry(architecture: &str) -> String {
    let after = architecture
        .split_once("K5 is the entry")
        .expect("docs/architecture.md shows K5's entry")
        .1;
    let block = after.split_once("```text\n").expect("a text block").1;
    let block = block.split_once("```").expect("the block closes").0;
    trimmed(block).trim().to_string()
}

fn trimmed(text: &str) -> String {
    text.lines().map(str::trim).collect::<Vec<_>>().join("\n")
}

/// Whether the entry docs/architecture.md shows (`doc`) is, line for line, in the table.
fn entry_in_table(doc: &str, table: &str) -> bool {
    format!("\n{}\n", trimmed(table)).contains(&format!("\n{}\n", example_entry(doc)))
}

#[test]
fn the_architecture_docs_show_the_claims_tables_own_entry() {
    let doc = std::fs::read_to_string(root().join("docs/architecture.md")).unwrap();
    let table = std::fs::read_to_string(root().join("src/experiment/claim_table.rs")).unwrap();
    assert!(example_entry(&doc).lines().count() > 10);
    assert!(
        entry_in_table(&doc, &table),
        "not in the table:\n{}",
        example_entry(&doc)
    );
    // Negative control: the doc with one range check of the entry changed is no longer it.
    let edited = doc.replacen("margin: f64 = in_unit", "margin: f64 = above_zero", 1);
    assert_ne!(edited, doc);
    assert!(!entry_in_table(&edited, &table));
}
