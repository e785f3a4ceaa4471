//! ANSI colour for a terminal, added to a plain rendering line by line as it is written, so the
//! plain text (what pipes, files, tests and snapshots see) has one source.

use std::io::Write;

const RESET: &str = "\x1b[0m";
const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const MAGENTA: &str = "\x1b[35m";
const CYAN: &str = "\x1b[36m";
const DIM: &str = "\x1b[2m";
const BOLD: &str = "\x1b[1m";

/// Colours a plan's text rendering: action lines by kind, log lines by level.
pub fn plan_text(text: &str) -> String {
    colour_lines(text, plan_text_colour)
}

/// The plan's text rendering ([`super::write_text`]) written to `writer` in colour, line by line.
pub fn write_plan_text(
    plan: &crate::plan::Plan,
    options: super::TextOptions,
    writer: impl Write,
) -> std::io::Result<()> {
    let mut coloured = ColourLines::plan_text(writer);
    super::write_text(plan, options, &mut coloured)?;
    coloured.finish()?.flush()
}

fn plan_text_colour(line: &str) -> Option<&'static str> {
    let action = line.strip_prefix("  ").and_then(|rest| rest.get(..2));
    match action {
        Some("~ ") => Some(YELLOW),
        Some("+ ") => Some(GREEN),
        Some("- ") => Some(RED),
        Some("! ") => Some(MAGENTA),
        Some("= ") => Some(DIM),
        _ => match line.get(7..15) {
            Some(level) if line.starts_with("  AT") && level.starts_with("error") => Some(RED),
            Some(level) if line.starts_with("  AT") && level.starts_with("warning") => Some(YELLOW),
            _ if line.starts_with("Plan: ") || line.starts_with("Monthly amount change: ") => Some(BOLD),
            _ => None,
        },
    }
}

/// Colours a unified diff: removed lines red, added lines green, hunk headers cyan.
pub fn diff(text: &str) -> String {
    colour_lines(text, |line| {
        if line.starts_with("---") || line.starts_with("+++") {
            Some(BOLD)
        } else if line.starts_with('-') {
            Some(RED)
        } else if line.starts_with('+') {
            Some(GREEN)
        } else if line.starts_with("@@") {
            Some(CYAN)
        } else {
            None
        }
    })
}

/// Colours a plan diff's text (`render::plan_diff::text`): changed lines yellow, lines that
/// appeared green, lines that went away red.
pub fn plan_diff(text: &str) -> String {
    colour_lines(text, |line| match line.get(..4) {
        Some("  ~ ") => Some(YELLOW),
        Some("  + ") => Some(GREEN),
        Some("  - ") => Some(RED),
        _ if line.starts_with("---") || line.starts_with("+++") => Some(BOLD),
        _ => None,
    })
}

fn colour_lines(text: &str, colour_of: fn(&str) -> Option<&'static str>) -> String {
    let mut lines =
        ColourLines { out: Vec::with_capacity(text.len() + text.len() / 8), colour_of, partial: Vec::new() };
    lines.write_all(text.as_bytes()).expect("writing to memory cannot fail");
    String::from_utf8(lines.finish().expect("writing to memory cannot fail"))
        .expect("only whole lines were coloured")
}

/// A writer that colours each line passing through it and hands it on to `out`, so a big
/// rendering reaches the terminal in colour without a second copy in memory. [`finish`]
/// writes a last line that has no line end.
///
/// [`finish`]: ColourLines::finish
pub struct ColourLines<W: Write> {
    out: W,
    colour_of: fn(&str) -> Option<&'static str>,
    /// The start of a line whose end has not been written yet.
    partial: Vec<u8>,
}

impl<W: Write> ColourLines<W> {
    /// Colours a plan's text rendering as [`plan_text`] does.
    pub fn plan_text(out: W) -> Self {
        ColourLines { out, colour_of: plan_text_colour, partial: Vec::new() }
    }

    /// Writes what is left of the last line and gives `out` back.
    pub fn finish(mut self) -> std::io::Result<W> {
        let mut coloured = Vec::new();
        let last = std::mem::take(&mut self.partial);
        self.colour_line(&last, &mut coloured);
        self.out.write_all(&coloured)?;
        Ok(self.out)
    }

    fn colour_line(&self, line: &[u8], coloured: &mut Vec<u8>) {
        // Our renderings are UTF-8; anything else passes through as it came.
        match std::str::from_utf8(line).ok().and_then(self.colour_of) {
            Some(colour) if !line.is_empty() => {
                coloured.extend_from_slice(colour.as_bytes());
                coloured.extend_from_slice(line);
                coloured.extend_from_slice(RESET.as_bytes());
            }
            _ => coloured.extend_from_slice(line),
        }
    }
}

impl<W: Write> Write for ColourLines<W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let mut coloured = Vec::with_capacity(bytes.len() + bytes.len() / 8);
        let mut rest = bytes;
        while let Some(end) = rest.iter().position(|&byte| byte == b'\n') {
            if self.partial.is_empty() {
                self.colour_line(&rest[..end], &mut coloured);
            } else {
                let mut line = std::mem::take(&mut self.partial);
                line.extend_from_slice(&rest[..end]);
                self.colour_line(&line, &mut coloured);
            }
            coloured.push(b'\n');
            rest = &rest[end + 1..];
        }
        self.partial.extend_from_slice(rest);
        self.out.write_all(&coloured)?;
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn colour_only_adds_escape_codes() {
        let text = "ASP — ASP Cloud\n  ~ update    AT09  x   1 → 2\n  AT07 warning y\n\nPlan: 1 update\n";
        let coloured = super::plan_text(text);
        assert!(coloured.contains("\x1b[33m  ~ update"), "{coloured:?}");
        assert_eq!(strip(&coloured), text);
        let diff = "--- a\n+++ b\n@@ -1 +1 @@\n-old\n+new\n same\n";
        assert_eq!(strip(&super::diff(diff)), diff);
        let plan_diff = "--- a\n+++ b\n\nASP\n  + x\n  - y\n  ~ z\n";
        let coloured = super::plan_diff(plan_diff);
        assert!(coloured.contains("\x1b[32m  + x") && coloured.contains("\x1b[31m  - y"), "{coloured:?}");
        assert_eq!(strip(&coloured), plan_diff);
    }

    proptest::proptest! {
        /// However the text reaches the colouring writer, in one write or cut anywhere (inside a
        /// line, a character or an escape), it comes out coloured as a whole and, without the
        /// escape codes, as it went in.
        #[test]
        fn colouring_in_pieces_is_colouring_the_whole(
            lines in proptest::collection::vec("(  [~+\\-!=] |  AT07 warning |Plan: |x)[a-zé→ ]{0,12}", 0..8),
            last_line_end in proptest::prelude::any::<bool>(),
            cuts in proptest::collection::vec(0usize..200, 0..4),
        ) {
            use std::io::Write as _;
            let mut text = lines.join("\n");
            if last_line_end && !text.is_empty() {
                text.push('\n');
            }
            let whole = super::plan_text(&text);
            let mut cuts: Vec<usize> = cuts.into_iter().map(|cut| cut.min(text.len())).collect();
            cuts.sort_unstable();
            let mut pieces = super::ColourLines::plan_text(Vec::new());
            let mut start = 0;
            for cut in cuts.into_iter().chain([text.len()]) {
                pieces.write_all(&text.as_bytes()[start..cut]).unwrap();
                start = cut;
            }
            let pieces = String::from_utf8(pieces.finish().unwrap()).unwrap();
            proptest::prop_assert_eq!(&pieces, &whole);
            proptest::prop_assert_eq!(strip(&pieces), text);
        }
    }

    fn strip(text: &str) -> String {
        let mut plain = String::new();
        let mut rest = text;
        while let Some(start) = rest.find('\x1b') {
            plain.push_str(&rest[..start]);
            let end = rest[start..].find('m').map_or(rest.len(), |end| start + end + 1);
            rest = &rest[end..];
        }
        plain.push_str(rest);
        plain
    }
}
