//! The Markdown files of the repository (README, docs/, DEVIATIONS.md, ...) link to each other
//! and to source files; a file moved or a heading renamed must not leave a dead link behind.
//! Every relative `[text](target)` or `[label]: target` must name a file or folder that
//! exists, and a `#fragment` into a Markdown file must name one of its headings (GitHub's
//! anchors). Links inside code are not links.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

/// Files the docs link to that other branches of issue 14 add: `ARCHITECTURE.md` (branch
/// `arch`) and `docs/admin.md` (branch `admin`). Links to them are accepted while they are
/// missing; [`pending_files_are_still_missing`] fails once one exists, so the entry is removed
/// and its links are checked like any other.
const PENDING: &[&str] = &[];

/// Folders that hold no documentation of the repository (build output, generated data, VCS).
const SKIPPED_DIRS: &[&str] = &["target", "paysandbox-data", "node_modules"];

fn repo_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// Every `.md` file below `dir`, skipping hidden folders and [`SKIPPED_DIRS`].
fn markdown_files(dir: &Path, found: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if path.is_dir() {
            if !name.starts_with('.') && !SKIPPED_DIRS.contains(&name) {
                markdown_files(&path, found)?;
            }
        } else if name.ends_with(".md") {
            found.push(path);
        }
    }
    Ok(())
}

/// The lines of a Markdown text outside fenced code blocks.
fn prose_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut in_fence = false;
    text.lines().filter(move |line| {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_fence = !in_fence;
            return false;
        }
        !in_fence
    })
}

/// A line without its inline code spans (`` `...` ``).
fn without_code_spans(line: &str) -> String {
    line.split('`').step_by(2).collect::<Vec<_>>().join(" ")
}

/// The link targets of a Markdown text: inline links and images `[text](target)`, and
/// reference definitions `[label]: target`.
fn link_targets(text: &str) -> Vec<String> {
    let mut targets = Vec::new();
    for line in prose_lines(text) {
        let line = without_code_spans(line);
        let mut rest = line.as_str();
        while let Some(at) = rest.find("](") {
            let after = rest.get(at + 2..).unwrap_or("");
            let end = after
                .find(|c: char| c == ')' || c.is_whitespace())
                .unwrap_or(after.len());
            targets.push(after.get(..end).unwrap_or("").to_string());
            rest = after.get(end..).unwrap_or("");
        }
        let trimmed = line.trim_start();
        if let Some((_, definition)) = trimmed.strip_prefix('[').and_then(|r| r.split_once("]:"))
            && let Some(target) = definition.split_whitespace().next()
        {
            targets.push(target.to_string());
        }
    }
    targets
}

/// GitHub's anchor of a heading: lower case, punctuation other than `-` and `_` dropped,
/// spaces turned into `-`.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of a Markdown text's ATX headings; a repeated heading gets `-1`, `-2`, ...
fn anchors(text: &str) -> HashSet<String> {
    let mut found = HashSet::new();
    for line in prose_lines(text) {
        let hashes = line.chars().take_while(|&c| c == '#').count();
        let Some(title) = line.get(hashes..) else {
            continue;
        };
        if !(1..=6).contains(&hashes) || !title.starts_with(' ') {
            continue;
        }
        let base = slug(title.trim_end_matches('#'));
        let mut anchor = base.clone();
        let mut n = 0;
        while found.contains(&anchor) {
            n += 1;
            anchor = format!("{base}-{n}");
        }
        found.insert(anchor);
    }
    found
}

/// What is wrong with one link target of the file `from` (whose text is `from_text`), if
/// anything.
fn check_target(root: &Path, from: &Path, from_text: &str, target: &str) -> Option<String> {
    if target.is_empty() {
        return Some("empty link target".to_string());
    }
    if target.contains("://") || target.starts_with("mailto:") {
        return None;
    }
    let (path, fragment) = match target.split_once('#') {
        Some((path, fragment)) => (path, Some(fragment)),
        None => (target, None),
    };
    if path.is_empty() {
        let fragment = fragment.unwrap_or("");
        return (!anchors(from_text).contains(fragment))
            .then(|| format!("`{target}`: no heading `#{fragment}`"));
    }
    let resolved = if let Some(from_root) = path.strip_prefix('/') {
        root.join(from_root)
    } else {
        from.parent().unwrap_or(root).join(path)
    };
    if !resolved.exists() {
        let pending = PENDING.iter().any(|p| same_file(&resolved, &root.join(p)));
        return (!pending).then(|| format!("`{target}`: no such file"));
    }
    let fragment = fragment?;
    if resolved.extension().is_none_or(|e| e != "md") {
        return None;
    }
    let text = match fs::read_to_string(&resolved) {
        Ok(text) => text,
        Err(e) => return Some(format!("`{target}`: {e}")),
    };
    (!anchors(&text).contains(fragment)).then(|| format!("`{target}`: no heading `#{fragment}`"))
}

/// Whether two paths (the first possibly with `..` in it, neither required to exist) name the
/// same file.
fn same_file(a: &Path, b: &Path) -> bool {
    fn normal(p: &Path) -> PathBuf {
        let mut out = PathBuf::new();
        for part in p.components() {
            match part {
                std::path::Component::ParentDir => {
                    out.pop();
                }
                std::path::Component::CurDir => {}
                other => out.push(other),
            }
        }
        out
    }
    normal(a) == normal(b)
}

/// Every broken link of the Markdown file `file`, as `path: problem` lines.
fn broken_links(root: &Path, file: &Path, text: &str) -> Vec<String> {
    let shown = file
        .strip_prefix(root)
        .unwrap_or(file)
        .display()
        .to_string();
    link_targets(text)
        .iter()
        .filter_map(|target| check_target(root, file, text, target))
        .map(|problem| format!("{shown}: {problem}"))
        .collect()
}

#[test]
fn every_relative_link_resolves() {
    let root = repo_root();
    let mut files = Vec::new();
    markdown_files(&root, &mut files).expect("the repository is readable");
    assert!(
        files.iter().any(|f| f.ends_with("README.md")),
        "no README.md found below {}",
        root.display()
    );
    let mut broken = Vec::new();
    for file in &files {
        let text = fs::read_to_string(file).expect("a Markdown file is readable");
        broken.extend(broken_links(&root, file, &text));
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn pending_files_are_still_missing() {
    let root = repo_root();
    for pending in PENDING {
        assert!(
            !root.join(pending).exists(),
            "{pending} exists now: remove it from PENDING in {} so its links are checked",
            file!()
        );
    }
}

#[test]
fn the_checker_finds_dead_files_and_anchors_and_ignores_code() {
    let root = repo_root();
    let readme = root.join("README.md");
    let text = "\
# Title
## Two words: `code` here
[ok](Cargo.toml) [folder](docs/) [dead](no-such-file.md) ![img](missing.png)
[self](#title) [section](#two-words-code-here) [gone](#no-heading)
[into](DEVIATIONS.md#wechat-pay-v2) [wrong](DEVIATIONS.md#not-a-heading)
[web](https://example.com/x) `[in code](nothing-here.md)`
[ref]: also-missing.md
```
[in a fence](nothing-here-either.md)
```
";
    assert_eq!(
        broken_links(&root, &readme, text),
        [
            "README.md: `no-such-file.md`: no such file",
            "README.md: `missing.png`: no such file",
            "README.md: `#no-heading`: no heading `#no-heading`",
            "README.md: `DEVIATIONS.md#not-a-heading`: no heading `#not-a-heading`",
            "README.md: `also-missing.md`: no such file",
        ]
    );
}

#[test]
fn slugs_follow_github() {
    assert_eq!(
        slug("Sandbox mode (`/sandboxnew/`)"),
        "sandbox-mode-sandboxnew"
    );
    assert_eq!(slug("Alipay (gateway.do)"), "alipay-gatewaydo");
    assert_eq!(
        slug("Quick start: refund a demo order"),
        "quick-start-refund-a-demo-order"
    );
    assert_eq!(
        slug("WeChat: `/pay/downloadbill`"),
        "wechat-paydownloadbill"
    );
    let repeated = anchors("# A\n## A\n### A\n");
    assert_eq!(
        repeated,
        HashSet::from(["a".to_string(), "a-1".to_string(), "a-2".to_string()])
    );
}
