//! Errors in scenario files: always with the file, line and column, the key
//! when known, and a hint when a near key exists.

use core::fmt;
use core::ops::Range;

/// A scenario file that cannot run, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    /// The file, as given.
    pub path: String,
    /// 1-based line (0 when the error is about the file as a whole).
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// The key concerned, when known.
    pub key: Option<String>,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(
                f,
                "{}:{}:{}: error: {}",
                self.path, self.line, self.column, self.message
            )?;
        } else {
            write!(f, "{}: error: {}", self.path, self.message)?;
        }
        if let Some(key) = &self.key {
            write!(f, " (key `{key}`)")?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioError {}

/// 1-based line and column of a byte offset.
pub(crate) fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = &source[..source.floor_char_boundary(offset)];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

impl ScenarioError {
    /// An error at a byte span of `source`.
    pub(crate) fn at(
        path: &str,
        source: &str,
        span: Range<usize>,
        message: impl Into<String>,
    ) -> Self {
        let (line, column) = line_column(source, span.start);
        ScenarioError {
            path: path.to_string(),
            line,
            column,
            key: None,
            message: message.into(),
            hint: None,
        }
    }

    /// An error about the whole file.
    pub(crate) fn file(path: &str, message: impl Into<String>) -> Self {
        ScenarioError {
            path: path.to_string(),
            line: 0,
            column: 0,
            key: None,
            message: message.into(),
            hint: None,
        }
    }

    /// The same error naming `key`.
    pub(crate) fn key(mut self, key: &str) -> Self {
        self.key = Some(key.to_string());
        self
    }

    /// The same error with a hint.
    pub(crate) fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Translates a TOML/serde error, adding a "did you mean" hint for an
    /// unknown key that is close to a known one.
    pub(crate) fn from_toml(path: &str, source: &str, error: &toml::de::Error) -> Self {
        let message = error.message().trim().to_string();
        let span = error.span().unwrap_or(0..0);
        let mut result = ScenarioError::at(path, source, span, message.clone());
        if let Some(unknown) = between(&message, "unknown field `", "`") {
            result.key = Some(unknown.to_string());
            let expected: Vec<&str> = message
                .split_once("expected ")
                .map(|(_, list)| {
                    list.split(',')
                        .map(|s| {
                            s.trim()
                                .trim_start_matches("one of")
                                .trim()
                                .trim_matches('`')
                        })
                        .collect()
                })
                .unwrap_or_default();
            if let Some(near) = nearest(unknown, &expected) {
                result.hint = Some(format!("did you mean `{near}`?"));
            }
        } else if let Some(missing) = between(&message, "missing field `", "`") {
            result.key = Some(missing.to_string());
        }
        result
    }
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let rest = &text[text.find(start)? + start.len()..];
    Some(&rest[..rest.find(end)?])
}

/// The candidate closest to `word` by edit distance, if close enough to be a
/// plausible typo (at most a third of the word's length, at least one edit).
pub(crate) fn nearest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .iter()
        .filter(|c| !c.is_empty())
        .map(|c| (edit_distance(word, c), *c))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based() {
        assert_eq!(line_column("a\nbc\nd", 0), (1, 1));
        assert_eq!(line_column("a\nbc\nd", 3), (2, 2));
        assert_eq!(line_column("a\nbc\nd", 5), (3, 1));
    }

    #[test]
    fn a_near_key_is_suggested_and_a_far_one_is_not() {
        assert_eq!(nearest("fanot", &["strategy", "fanout"]), Some("fanout"));
        assert_eq!(nearest("zzzzzz", &["strategy", "fanout"]), None);
    }
}
