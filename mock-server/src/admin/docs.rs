//! `docs/admin.md` checked against the route table, both ways: every endpoint, its query
//! parameters and body fields, the view it answers, and every fault endpoint name must be in
//! the document, and the document must name nothing else. The document stays written for
//! people; this test only reads the parts with a fixed form:
//!
//! - an endpoint is a `` ### `METHOD /admin/...` `` heading; its fields are the table rows
//!   `` | `name` | query | `` or `` | `name` | body | `` below it, or, for a body of another
//!   endpoint's fields, a line saying ``body fields of `METHOD /path` except `name` ``;
//!   its section names its view as `` `ViewName` ``;
//! - under `## Views`, each view is a `` ### `ViewName` `` heading;
//! - under `## Fault endpoint names`, each name is a `` | `name` | `` row.

use std::collections::{BTreeMap, BTreeSet};

use super::fault_endpoints;
use super::table;

/// Where the document is, from this crate.
const DOC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/admin.md");

/// What the code has, in the document's terms.
#[derive(Debug, Clone, Default)]
struct Model {
    /// `"POST /admin/wechat/orders"` → (`"query"` or `"body"`, field name).
    endpoints: BTreeMap<String, BTreeSet<(String, String)>>,
    /// The view type names each endpoint answers with (`Vec<OrderView>` → `OrderView`).
    views: BTreeMap<String, BTreeSet<String>>,
    fault_names: BTreeSet<String>,
}

fn code_model() -> Model {
    let mut model = Model::default();
    for route in table() {
        let key = format!("{} {}", route.method(), route.path());
        let input = route.input();
        let mut fields: BTreeSet<(String, String)> = input
            .query
            .iter()
            .map(|q| ("query".to_owned(), (*q).to_owned()))
            .collect();
        if let Some(body) = &input.body {
            fields.extend(
                body.fields
                    .iter()
                    .map(|f| ("body".to_owned(), (*f).to_owned())),
            );
        }
        model.endpoints.insert(key.clone(), fields);
        model.views.insert(key, view_idents(route.view()));
    }
    model.fault_names = fault_endpoints().iter().map(|n| (*n).to_owned()).collect();
    model
}

/// The type names in a view's short name, without the containers around them.
fn view_idents(view: &str) -> BTreeSet<String> {
    view.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|word| word.starts_with(|c: char| c.is_ascii_uppercase()))
        .filter(|word| !matches!(*word, "Vec" | "Option" | "HashMap" | "BTreeMap" | "String"))
        .map(str::to_owned)
        .collect()
}

/// What the document says, in the same terms.
#[derive(Debug, Default)]
struct Written {
    endpoints: BTreeMap<String, BTreeSet<(String, String)>>,
    /// Each endpoint section's text, to find the names of its views in.
    sections: BTreeMap<String, String>,
    /// Endpoints whose body is another endpoint's body fields, minus some.
    inherits: BTreeMap<String, (String, Vec<String>)>,
    view_headings: BTreeSet<String>,
    fault_names: BTreeSet<String>,
}

/// The text between the first pair of backticks.
fn first_code(text: &str) -> Option<&str> {
    let (_, rest) = text.split_once('`')?;
    rest.split_once('`').map(|(code, _)| code)
}

/// Every text between backticks.
fn codes(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

fn parse(doc: &str) -> Written {
    let mut written = Written::default();
    let mut chapter = String::new();
    let mut endpoint: Option<String> = None;
    for line in doc.lines() {
        if let Some(title) = line.strip_prefix("## ") {
            chapter = title.trim().to_owned();
            endpoint = None;
            continue;
        }
        if let Some(title) = line.strip_prefix("### ") {
            endpoint = None;
            let Some(name) = first_code(title) else {
                continue;
            };
            if chapter == "Views" {
                written.view_headings.insert(name.to_owned());
            } else if name.contains(" /admin") {
                written.endpoints.entry(name.to_owned()).or_default();
                endpoint = Some(name.to_owned());
            }
            continue;
        }
        if chapter == "Fault endpoint names" {
            if let Some(name) = line.strip_prefix("| `").and_then(|r| r.split_once('`')) {
                written.fault_names.insert(name.0.to_owned());
            }
            continue;
        }
        let Some(key) = &endpoint else {
            continue;
        };
        written
            .sections
            .entry(key.clone())
            .or_default()
            .push_str(&format!("{line}\n"));
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if let [_, name, place, ..] = cells.as_slice()
            && let Some(name) = first_code(name)
            && matches!(*place, "query" | "body")
            && let Some(fields) = written.endpoints.get_mut(key)
        {
            fields.insert(((*place).to_owned(), name.to_owned()));
        }
    }
    // The sentence may wrap anywhere: read it from the section joined into one line.
    let joined: Vec<(String, String)> = written
        .sections
        .iter()
        .map(|(k, text)| (k.clone(), text.replace('\n', " ")))
        .collect();
    for (key, text) in joined {
        if let Some((_, after)) = text.split_once("body fields of `")
            && let Some((source, rest)) = after.split_once('`')
        {
            let sentence = rest.split_once('.').map_or(rest, |(first, _)| first);
            let except = sentence
                .split_once("except")
                .map(|(_, names)| codes(names).into_iter().map(str::to_owned).collect())
                .unwrap_or_default();
            written.inherits.insert(key, (source.to_owned(), except));
        }
    }
    let inherited: Vec<(String, BTreeSet<(String, String)>)> = written
        .inherits
        .iter()
        .map(|(key, (source, except))| {
            let fields = written
                .endpoints
                .get(source)
                .map(|fields| {
                    fields
                        .iter()
                        .filter(|(place, name)| place == "body" && !except.contains(name))
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            (key.clone(), fields)
        })
        .collect();
    for (key, fields) in inherited {
        written.endpoints.entry(key).or_default().extend(fields);
    }
    written
}

/// Every difference between the code and the document, as sentences.
fn differences(model: &Model, doc: &str) -> Vec<String> {
    let written = parse(doc);
    let mut problems = Vec::new();
    for key in model.endpoints.keys() {
        if !written.endpoints.contains_key(key) {
            problems.push(format!(
                "endpoint {key} is in the route table, not in the doc"
            ));
        }
    }
    for key in written.endpoints.keys() {
        if !model.endpoints.contains_key(key) {
            problems.push(format!(
                "endpoint {key} is in the doc, not in the route table"
            ));
        }
    }
    for (key, fields) in &model.endpoints {
        let Some(documented) = written.endpoints.get(key) else {
            continue;
        };
        for (place, name) in fields.difference(documented) {
            problems.push(format!(
                "{key}: {place} field `{name}` is in the code, not in the doc"
            ));
        }
        for (place, name) in documented.difference(fields) {
            problems.push(format!(
                "{key}: {place} field `{name}` is in the doc, not in the code"
            ));
        }
    }
    let mut all_views = BTreeSet::new();
    for (key, views) in &model.views {
        let section = written.sections.get(key).map(String::as_str).unwrap_or("");
        for view in views {
            if written.endpoints.contains_key(key) && !section.contains(&format!("`{view}`")) {
                problems.push(format!("{key}: the doc does not name its view `{view}`"));
            }
            all_views.insert(view.clone());
        }
    }
    for view in all_views.difference(&written.view_headings) {
        problems.push(format!(
            "view {view} is answered, not described under Views"
        ));
    }
    for view in written.view_headings.difference(&all_views) {
        problems.push(format!(
            "view {view} is described under Views, answered by nothing"
        ));
    }
    for name in model.fault_names.difference(&written.fault_names) {
        problems.push(format!(
            "fault endpoint {name} is in the code, not in the doc"
        ));
    }
    for name in written.fault_names.difference(&model.fault_names) {
        problems.push(format!(
            "fault endpoint {name} is in the doc, not in the code"
        ));
    }
    problems
}

fn read_doc() -> String {
    std::fs::read_to_string(DOC).unwrap_or_else(|e| panic!("reading {DOC}: {e}"))
}

#[test]
fn docs_admin_md_matches_the_route_table() {
    let problems = differences(&code_model(), &read_doc());
    assert!(
        problems.is_empty(),
        "docs/admin.md and the admin route table differ:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn the_check_sees_what_is_missing_on_either_side() {
    let doc = read_doc();
    let model = code_model();

    let without_row = doc.replace(
        "| `millis` | body | integer | milliseconds, added to `seconds` (default 0) |\n",
        "",
    );
    assert_ne!(without_row, doc);
    assert_eq!(
        differences(&model, &without_row),
        ["POST /admin/clock/advance: body field `millis` is in the code, not in the doc"]
    );

    let without_fault = doc.replace("| `wechat.closeorder` |", "| wechat.closeorder |");
    assert_eq!(
        differences(&model, &without_fault),
        ["fault endpoint wechat.closeorder is in the code, not in the doc"]
    );

    let mut more_code = model.clone();
    more_code
        .endpoints
        .insert("GET /admin/extra".into(), BTreeSet::new());
    more_code.fault_names.insert("wechat.micropay".into());
    assert_eq!(
        differences(&more_code, &doc),
        [
            "endpoint GET /admin/extra is in the route table, not in the doc",
            "fault endpoint wechat.micropay is in the code, not in the doc",
        ]
    );

    let more_doc = format!("{doc}\n## Extra\n\n### `DELETE /admin/clock`\n\n| `x` | query | | |\n");
    assert_eq!(
        differences(&model, &more_doc),
        ["endpoint DELETE /admin/clock is in the doc, not in the route table"]
    );

    // The bulk endpoint's fields come from the seeding endpoint's rows, minus `sandbox`.
    let bulk_line = doc.replace(
        "| `attach` | body | string | merchant data echoed back |\n",
        "",
    );
    let problems = differences(&model, &bulk_line);
    assert_eq!(
        problems,
        [
            "POST /admin/wechat/orders: body field `attach` is in the code, not in the doc",
            "POST /admin/wechat/orders/bulk: body field `attach` is in the code, not in the doc",
        ]
    );
}

#[test]
fn view_names_drop_their_containers() {
    assert_eq!(
        view_idents("Vec<OrderView>"),
        BTreeSet::from(["OrderView".to_owned()])
    );
    assert_eq!(
        view_idents("PendingFaults"),
        BTreeSet::from(["PendingFaults".to_owned()])
    );
}
