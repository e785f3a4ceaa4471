//! Secrets: a spec's `{ env: NAME }` / `{ file: PATH }` references resolved into values that
//! never print.
//!
//! A [`Secret`] shows as `***` in `Debug` and `Display`; only [`Secret::expose`] gives the value,
//! and only the HTTP clients call it, to fill a header. Errors name the variable or file, never
//! the value. A [`Scrubber`] takes every secret, in every form a server or a library may echo
//! it, out of text that reaches an error.

use std::fmt;

use thiserror::Error;

use crate::codes::Code;
use crate::spec::{AutotaskConnection, SecretRef};

/// A credential value. It cannot be printed by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value (trimmed), e.g. one a test or the demo holds in memory.
    pub fn new(value: impl Into<String>) -> Secret {
        let value = value.into();
        Secret(value.trim().to_owned())
    }

    /// The value, for a request header; never format it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Why one secret could not be resolved. `name` is the spec key, e.g. `autotask.secret`.
#[derive(Debug, Error)]
pub enum SecretError {
    #[error(
        "AT18 Failed to validate Autotask secrets. `{name}` must have a valid value: environment variable `{variable}` is not set or empty"
    )]
    MissingEnv { name: String, variable: String },
    #[error(
        "AT18 Failed to validate Autotask secrets. `{name}` must have a valid value: file `{path}` is empty"
    )]
    EmptyFile { name: String, path: String },
    #[error(
        "AT16 Failed to retrieve Autotask secrets. Error occurred is: `{name}`: cannot read file `{path}`: {reason}"
    )]
    UnreadableFile { name: String, path: String, reason: String },
}

impl SecretError {
    pub fn code(&self) -> Code {
        match self {
            SecretError::MissingEnv { .. } | SecretError::EmptyFile { .. } => Code::AT18,
            SecretError::UnreadableFile { .. } => Code::AT16,
        }
    }
}

/// Every secret that could not be resolved, so one run names them all.
#[derive(Debug, Error)]
pub struct SecretErrors(pub Vec<SecretError>);

impl SecretErrors {
    /// The code of the first problem (AT16 or AT18).
    pub fn code(&self) -> Code {
        self.0.first().map_or(Code::AT18, SecretError::code)
    }
}

impl fmt::Display for SecretErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, error) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

/// Resolves one reference; `name` is the spec key named in errors.
pub fn resolve(name: &str, reference: &SecretRef) -> Result<Secret, SecretError> {
    match reference {
        SecretRef::Env(variable) => match std::env::var(variable) {
            Ok(value) if !value.trim().is_empty() => Ok(Secret::new(value)),
            _ => Err(SecretError::MissingEnv { name: name.to_owned(), variable: variable.clone() }),
        },
        SecretRef::File(path) => match std::fs::read_to_string(path) {
            Ok(value) if !value.trim().is_empty() => Ok(Secret::new(value)),
            Ok(_) => Err(SecretError::EmptyFile { name: name.to_owned(), path: path.display().to_string() }),
            Err(error) => Err(SecretError::UnreadableFile {
                name: name.to_owned(),
                path: path.display().to_string(),
                reason: error.kind().to_string(),
            }),
        },
    }
}

/// The Autotask API user's three credentials.
#[derive(Clone, Debug)]
pub struct AutotaskCredentials {
    pub username: Secret,
    pub secret: Secret,
    pub integration_code: Secret,
}

impl AutotaskCredentials {
    /// Resolves all three, reporting every one that is missing.
    pub fn resolve(connection: &AutotaskConnection) -> Result<AutotaskCredentials, SecretErrors> {
        let username = resolve("autotask.username", &connection.username);
        let secret = resolve("autotask.secret", &connection.secret);
        let integration_code = resolve("autotask.integrationCode", &connection.integration_code);
        match (username, secret, integration_code) {
            (Ok(username), Ok(secret), Ok(integration_code)) => {
                Ok(AutotaskCredentials { username, secret, integration_code })
            }
            (username, secret, integration_code) => Err(SecretErrors(
                [username.err(), secret.err(), integration_code.err()].into_iter().flatten().collect(),
            )),
        }
    }
}

/// The shortest piece of a secret that is masked wherever it appears: a server that echoes part
/// of a header, or an excerpt cut through one, must not show 8 characters of it.
pub const PIECE: usize = 8;

/// Takes secrets out of text that came from a server or a library (error bodies, URLs in
/// connection errors) before it reaches an error message.
///
/// Each secret is looked for as is, whitespace-collapsed, JSON-escaped, URL-encoded and
/// HTML-escaped, and so is every [`PIECE`]-character piece of each of those forms, so a partial
/// echo is masked too. [`Scrubber::excerpt`] scrubs first, then collapses whitespace and scrubs
/// again, and only then cuts, never leaving the start of a secret at the cut.
#[derive(Clone, Default)]
pub struct Scrubber {
    /// Every form of every secret.
    forms: Vec<String>,
    /// The forms, and every `PIECE`-character piece of the longer ones, longest first.
    needles: Vec<String>,
}

impl fmt::Debug for Scrubber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scrubber({} forms)", self.forms.len())
    }
}

impl Scrubber {
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a Secret>) -> Scrubber {
        let mut forms = std::collections::BTreeSet::new();
        for secret in secrets {
            let value = secret.expose();
            if value.is_empty() {
                continue;
            }
            let collapsed = collapse_whitespace(value);
            for base in [value, collapsed.as_str()] {
                forms.insert(base.to_owned());
                let json = json_escaped(base);
                forms.insert(json.replace('/', "\\/"));
                forms.insert(json_ascii(&json));
                forms.insert(json);
                for plus in [false, true] {
                    let encoded = url_encoded(base, plus);
                    forms.insert(lower_hex(&encoded));
                    forms.insert(encoded);
                }
                forms.insert(crate::render::escape_html(base).into_owned());
            }
        }
        forms.retain(|form| !form.is_empty());
        let forms: Vec<String> = forms.into_iter().collect();
        let mut needles = std::collections::BTreeSet::new();
        for form in &forms {
            needles.insert(form.clone());
            let chars: Vec<(usize, char)> = form.char_indices().collect();
            if chars.len() > PIECE {
                for window in 0..=chars.len() - PIECE {
                    let start = chars[window].0;
                    let end = chars.get(window + PIECE).map_or(form.len(), |(index, _)| *index);
                    needles.insert(form[start..end].to_owned());
                }
            }
        }
        let mut needles: Vec<String> = needles.into_iter().collect();
        needles.sort_by_key(|needle| std::cmp::Reverse(needle.len()));
        Scrubber { forms, needles }
    }

    /// `text` with every form of every secret, and every piece of one, replaced by `***`.
    pub fn scrub(&self, text: &str) -> String {
        let mut masked: Vec<(usize, usize)> = Vec::new();
        for needle in &self.needles {
            masked
                .extend(text.match_indices(needle.as_str()).map(|(start, _)| (start, start + needle.len())));
        }
        if masked.is_empty() {
            return text.to_owned();
        }
        masked.sort_unstable();
        let mut scrubbed = String::with_capacity(text.len());
        // Overlapping and touching matches become one `***`.
        let (mut position, mut open) = (0, false);
        for (start, end) in masked {
            if open && start <= position {
                position = position.max(end);
                continue;
            }
            scrubbed.push_str(&text[position..start]);
            scrubbed.push_str("***");
            (position, open) = (end, true);
        }
        scrubbed.push_str(&text[position..]);
        scrubbed
    }

    /// Server text for an error: scrubbed, on one line, at most `max_chars` characters (then
    /// `…`). Scrubbing comes before collapsing whitespace and before the cut, so neither can
    /// hide a secret from it; a cut never leaves the beginning of a secret behind.
    pub fn excerpt(&self, text: &str, max_chars: usize) -> String {
        // A bound on the work: an excerpt never needs more than this of a body.
        const MAX_SCANNED: usize = 16 * 1024;
        let (text, capped) = match text.char_indices().nth(MAX_SCANNED) {
            Some((cut, _)) => (&text[..cut], true),
            None => (text, false),
        };
        let mut one_line = collapse_whitespace(&self.scrub(text));
        one_line = self.scrub(&one_line);
        let cut = one_line.char_indices().nth(max_chars).map(|(cut, _)| cut);
        if cut.is_none() && !capped {
            return one_line;
        }
        one_line.truncate(cut.unwrap_or(one_line.len()));
        let kept = self.without_secret_start(&one_line).trim_end().len();
        one_line.truncate(kept);
        one_line.push('…');
        one_line
    }

    /// `text` without an ending that is the beginning of a form of a secret.
    fn without_secret_start<'t>(&self, text: &'t str) -> &'t str {
        let mut end = text.len();
        for form in &self.forms {
            let longest = form.len().min(end);
            for length in (1..=longest).rev() {
                if form.is_char_boundary(length)
                    && text.is_char_boundary(end - length)
                    && text[..end].ends_with(&form[..length])
                {
                    end -= length;
                    break;
                }
            }
        }
        &text[..end]
    }
}

/// Runs of whitespace as one space, trimmed.
pub fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The inside of a JSON string literal holding `text`.
fn json_escaped(text: &str) -> String {
    let quoted = serde_json::to_string(text).unwrap_or_default();
    quoted.get(1..quoted.len().saturating_sub(1)).unwrap_or_default().to_owned()
}

/// A JSON-escaped text with every non-ASCII character as `\uXXXX`, as ASCII-only encoders write.
fn json_ascii(json: &str) -> String {
    let mut ascii = String::with_capacity(json.len());
    for character in json.chars() {
        if character.is_ascii() {
            ascii.push(character);
        } else {
            let mut units = [0u16; 2];
            for unit in character.encode_utf16(&mut units) {
                ascii.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    ascii
}

/// Percent-encoding of every byte but the unreserved ones; `plus`: a space as `+` (forms).
fn url_encoded(text: &str, plus: bool) -> String {
    let mut encoded = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => encoded.push(byte as char),
            b' ' if plus => encoded.push('+'),
            _ => encoded.push_str(&format!("%{byte:02X}")),
        }
    }
    encoded
}

/// A percent-encoded text with lower-case hex digits.
fn lower_hex(encoded: &str) -> String {
    let mut lower = String::with_capacity(encoded.len());
    let mut hex_left = 0;
    for character in encoded.chars() {
        if character == '%' {
            hex_left = 2;
            lower.push(character);
        } else if hex_left > 0 {
            hex_left -= 1;
            lower.push(character.to_ascii_lowercase());
        } else {
            lower.push(character);
        }
    }
    lower
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A secret with a quote, a backslash, a slash, runs of spaces and more than 40 characters.
    const HARD: &str = "canary \"q7\" back\\slash/x   three   spaces-5e0b91d4c3a2f817e6";

    fn pieces_of(secret: &str) -> Vec<String> {
        let chars: Vec<char> = secret.chars().collect();
        chars.windows(PIECE).map(|window| window.iter().collect()).collect()
    }

    fn assert_clean(text: &str) {
        for piece in pieces_of(HARD).iter().chain(pieces_of(&collapse_whitespace(HARD)).iter()) {
            assert!(!text.contains(piece.as_str()), "`{piece}` in {text:?}");
        }
    }

    #[test]
    fn every_form_and_every_piece_of_a_secret_is_scrubbed() {
        let secret = Secret::new(HARD);
        let scrubber = Scrubber::new([&secret, &Secret::new("user@example.net")]);
        let json = serde_json::to_string(HARD).unwrap();
        let body = format!(
            "raw: {HARD}\njson: {json}\ncollapsed: {}\nurl: {}\nform: {}\nhtml: {}\nhalf: {}\nuser=user%40example.net",
            collapse_whitespace(HARD),
            url_encoded(HARD, false),
            url_encoded(HARD, true),
            crate::render::escape_html(HARD),
            &HARD[..20],
        );
        let scrubbed = scrubber.scrub(&body);
        assert_clean(&scrubbed);
        assert!(!scrubbed.contains("example.net"), "{scrubbed}");
        assert!(scrubbed.starts_with("raw: ***\njson: \"***\"\n"), "{scrubbed}");
        let excerpt = scrubber.excerpt(&body, 300);
        assert_clean(&excerpt);
        assert!(!excerpt.contains('\n'), "{excerpt}");
    }

    #[test]
    fn an_excerpt_never_ends_in_the_start_of_a_secret() {
        let scrubber = Scrubber::new([&Secret::new(HARD)]);
        // The whole secret just before the cut: scrubbed before the cut, so nothing is left.
        for lead in 280..300 {
            let excerpt = scrubber.excerpt(&format!("{} {HARD} and more", "x".repeat(lead)), 300);
            assert_clean(&excerpt);
        }
        // A piece too short to be masked on its own, where the cut falls: the cut goes back
        // before it.
        for lead in 293..300 {
            let excerpt =
                scrubber.excerpt(&format!("{} {}{}", "x".repeat(lead), &HARD[..6], "Z".repeat(20)), 300);
            assert!(excerpt.trim_end_matches('…').ends_with('x'), "{excerpt}");
        }
        assert_eq!(scrubber.excerpt("short and clean", 300), "short and clean");
        assert_eq!(scrubber.excerpt("a\n\n   b", 300), "a b");
    }

    #[test]
    fn a_secret_never_prints() {
        let secret = Secret::new("  canary-7f3a  ");
        assert_eq!(secret.expose(), "canary-7f3a");
        assert_eq!(format!("{secret} {secret:?} {:?}", Some(&secret)), "*** *** Some(***)");
    }

    #[test]
    fn a_missing_variable_is_at18_and_names_the_variable() {
        let error = resolve("autotask.secret", &SecretRef::Env("BILLSYNC_TEST_SURELY_UNSET_VARIABLE".into()))
            .unwrap_err();
        assert_eq!(error.code(), Code::AT18);
        let text = error.to_string();
        assert!(
            text.contains("`BILLSYNC_TEST_SURELY_UNSET_VARIABLE`") && text.contains("`autotask.secret`"),
            "{text}"
        );
    }

    #[test]
    fn files_are_trimmed_and_an_empty_or_missing_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good");
        std::fs::write(&good, "value-in-file\n").unwrap();
        assert_eq!(resolve("x", &SecretRef::File(good)).unwrap().expose(), "value-in-file");
        let empty = dir.path().join("empty");
        std::fs::write(&empty, " \n").unwrap();
        assert_eq!(resolve("x", &SecretRef::File(empty)).unwrap_err().code(), Code::AT18);
        let missing = resolve("x", &SecretRef::File(dir.path().join("missing"))).unwrap_err();
        assert_eq!(missing.code(), Code::AT16);
        assert!(missing.to_string().contains("missing`"), "{missing}");
    }
}
