//! Text for terminals: control characters from vendor data shown escaped (`\u{1b}`), so a
//! name from Atria or Autotask can never drive the reviewer's terminal. Pure; used by the text
//! rendering, the online commands' output and the spec's error messages.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether a character would act on a terminal instead of showing: C0 controls, DEL and the C1
/// controls U+0080–U+009F (U+009B is a one-character CSI).
fn is_terminal_control(character: char) -> bool {
    matches!(character, '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}')
}

/// Text for a terminal: every control character but newline and tab shown escaped as `\u{1b}`,
/// so that text from Atria or Autotask cannot move the cursor, erase a line, ring the bell or
/// hide a link (OSC 8) in what a reviewer reads. Text without one comes back borrowed.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    escape(text, |character| matches!(character, '\n' | '\t'))
}

/// [`escape_controls`] for a value that must stay on its line: a newline is escaped too, so a
/// name cannot forge a line of its own.
pub fn escape_controls_line(text: &str) -> Cow<'_, str> {
    escape(text, |character| character == '\t')
}

/// Whether any byte of `bytes` is `wanted`. Every byte is tested (no early exit), so the compiler
/// tests many at once with vector instructions: for the short, clean strings of a big plan (the
/// usual case), several times faster than `Iterator::any`.
pub(crate) fn any_byte(bytes: &[u8], wanted: impl Fn(u8) -> bool) -> bool {
    bytes.iter().fold(false, |found, &byte| found | wanted(byte))
}

fn escape(text: &str, kept: impl Fn(char) -> bool) -> Cow<'_, str> {
    // Every such character starts with a byte below 0x20, 0x7f, or 0xc2 (U+0080–U+00BF).
    if !any_byte(text.as_bytes(), |byte| (byte < 0x20) | (byte == 0x7f) | (byte == 0xc2)) {
        return Cow::Borrowed(text);
    }
    if !text.chars().any(|character| is_terminal_control(character) && !kept(character)) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 16);
    for character in text.chars() {
        if is_terminal_control(character) && !kept(character) {
            let _ = write!(escaped, "\\u{{{:x}}}", u32::from(character));
        } else {
            escaped.push(character);
        }
    }
    Cow::Owned(escaped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_shown_escaped() {
        let hostile = "A\u{1b}[2K\rB\u{7}\u{0}\u{1b}]8;;http://x\u{1b}\\C\u{9b}31m\u{7f}\tD\nE";
        assert_eq!(
            escape_controls(hostile),
            "A\\u{1b}[2K\\u{d}B\\u{7}\\u{0}\\u{1b}]8;;http://x\\u{1b}\\C\\u{9b}31m\\u{7f}\tD\nE"
        );
        assert!(escape_controls_line(hostile).ends_with("\tD\\u{a}E"));
        assert!(matches!(escape_controls("ASP — Cloud ÿ é"), Cow::Borrowed(_)));
    }
}
