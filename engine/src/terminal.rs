//! Text for terminals: control characters from vendor data shown escaped (`\u{1b}`), so a
//! name from Atria or Autotask can never drive the reviewer's terminal nor reorder what it
//! shows. Pure; used by the text rendering, the online commands' output and the spec's error
//! messages.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether a character would act on a terminal instead of showing: C0 controls, DEL and the C1
/// controls U+0080–U+009F (U+009B is a one-character CSI); and the bidirectional formatting
/// characters (marks, embeddings, overrides, isolates), with which a name could make a
/// terminal that lays out right-to-left text show the rest of its line reordered: `3 → 5` read
/// as `5 → 3`.
fn is_terminal_control(character: char) -> bool {
    matches!(
        character,
        '\u{0}'..='\u{1f}'
            | '\u{7f}'..='\u{9f}'
            | '\u{61c}'
            | '\u{200e}'
            | '\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
    )
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

/// Whether `bytes` may hold a character [`is_terminal_control`] names, by its first two bytes in
/// UTF-8: below 0x20 or 0x7f; C2 80–9F (C1); D8 9C (U+061C); E2 80 or E2 81 (U+2000–U+207F,
/// which holds the bidirectional ones, but not the arrows of an action's line). Every byte
/// pair is tested, without an early exit, so the compiler tests many at once.
fn may_hold_control(bytes: &[u8]) -> bool {
    let Some((&last, _)) = bytes.split_last() else { return false };
    let next = &bytes[1..];
    let pair = bytes.iter().zip(next).fold(false, |found, (&first, &second)| {
        found
            | (first < 0x20)
            | (first == 0x7f)
            | ((first == 0xc2) & (second <= 0x9f))
            | ((first == 0xd8) & (second == 0x9c))
            | ((first == 0xe2) & ((second == 0x80) | (second == 0x81)))
    });
    pair | (last < 0x20) | (last == 0x7f)
}

fn escape(text: &str, kept: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !may_hold_control(text.as_bytes()) {
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
        assert!(matches!(escape_controls("Contoso → شركة ‐ €5"), Cow::Borrowed(_)));
    }

    #[test]
    fn bidirectional_formatting_is_shown_escaped() {
        let hostile = "Backup \u{202e}5 → 3\u{202c} \u{2067}x\u{2069}\u{200f}\u{200e}\u{61c}\u{202a}\u{202b}\u{202d}\u{2066}\u{2068}";
        assert_eq!(
            escape_controls_line(hostile),
            "Backup \\u{202e}5 → 3\\u{202c} \\u{2067}x\\u{2069}\\u{200f}\\u{200e}\\u{61c}\\u{202a}\\u{202b}\\u{202d}\\u{2066}\\u{2068}"
        );
        // Their neighbours in the same blocks are ordinary text.
        let neighbours = "\u{2010}\u{2030}\u{202f}\u{2065}\u{206a}\u{61b}\u{61d}";
        assert_eq!(escape_controls(neighbours), neighbours);
    }
}
