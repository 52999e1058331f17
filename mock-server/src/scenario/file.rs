//! Scenario files: TOML (the format people write) or JSON, read with errors that name the
//! file, the line and column and the field (`wechat.orders[2].total_fee`), and written back.

use std::fmt;

use super::Scenario;
use crate::record::RecordError;

/// The two formats a scenario is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// TOML: `[[wechat.orders]]` tables, comments, relative times.
    Toml,
    /// JSON: the same fields.
    Json,
}

impl Format {
    /// JSON for a `.json` file name, else TOML.
    pub fn of_name(name: &str) -> Format {
        if name.to_ascii_lowercase().ends_with(".json") {
            Format::Json
        } else {
            Format::Toml
        }
    }
}

/// Why a scenario could not be read or loaded: the file, where in it, the field or entity,
/// and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    /// The file (or what the text came from).
    pub origin: String,
    /// Line and column (from 1), when the error is in the text.
    pub position: Option<(usize, usize)>,
    /// The field (`wechat.orders[2].total_fee`) or entity
    /// (`wechat.orders[2] (out_trade_no o-3)`); empty for the whole file.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl ScenarioError {
    /// A loading error (the text was read; the state does not hold together) in `origin`.
    pub fn of_record(origin: &str, error: RecordError) -> ScenarioError {
        ScenarioError {
            origin: origin.to_owned(),
            position: None,
            path: error.path,
            message: error.message,
        }
    }
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.origin)?;
        if let Some((line, column)) = self.position {
            write!(f, ":{line}:{column}")?;
        }
        if !self.path.is_empty() {
            write!(f, ": {}", self.path)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ScenarioError {}

impl Scenario {
    /// Reads a scenario written in `format`; `origin` names the file in errors.
    ///
    /// # Errors
    /// Invalid TOML or JSON, an unknown field, a missing one, or a value of the wrong type,
    /// with its line, column and field path.
    pub fn parse(text: &str, format: Format, origin: &str) -> Result<Scenario, ScenarioError> {
        match format {
            Format::Toml => parse_toml(text, origin),
            Format::Json => parse_json(text, origin),
        }
    }

    /// The scenario as text in `format`.
    ///
    /// # Errors
    /// A value TOML cannot hold (an integer above 2^63 − 1; JSON can).
    pub fn render(&self, format: Format) -> Result<String, String> {
        match format {
            Format::Toml => toml::to_string(self).map_err(|e| e.to_string()),
            Format::Json => serde_json::to_string_pretty(self)
                .map(|mut text| {
                    text.push('\n');
                    text
                })
                .map_err(|e| e.to_string()),
        }
    }
}

/// `wechat.orders[2].total_fee`; empty at the root.
fn field_path(path: &serde_path_to_error::Path) -> String {
    let text = path.to_string();
    if text == "." { String::new() } else { text }
}

/// Line and column (from 1) of byte `offset` in `text`.
fn position(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map_or(1, |last| last.chars().count() + 1);
    (line, column)
}

fn parse_toml(text: &str, origin: &str) -> Result<Scenario, ScenarioError> {
    let toml_error = |error: &toml::de::Error, path: String| ScenarioError {
        origin: origin.to_owned(),
        position: error.span().map(|span| position(text, span.start)),
        path,
        message: error.message().trim().to_owned(),
    };
    let deserializer =
        toml::Deserializer::parse(text).map_err(|e| toml_error(&e, String::new()))?;
    serde_path_to_error::deserialize(deserializer)
        .map_err(|e| toml_error(e.inner(), field_path(e.path())))
}

fn parse_json(text: &str, origin: &str) -> Result<Scenario, ScenarioError> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let scenario: Scenario = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let inner = e.inner();
        let message = inner.to_string();
        // serde_json appends the position, which is given apart.
        let message = match message.rfind(" at line ") {
            Some(at) => message.get(..at).unwrap_or(&message).to_owned(),
            None => message,
        };
        ScenarioError {
            origin: origin.to_owned(),
            position: Some((inner.line(), inner.column())),
            path: field_path(e.path()),
            message,
        }
    })?;
    deserializer.end().map_err(|e| ScenarioError {
        origin: origin.to_owned(),
        position: Some((e.line(), e.column())),
        path: String::new(),
        message: "trailing characters after the scenario".to_owned(),
    })?;
    Ok(scenario)
}
