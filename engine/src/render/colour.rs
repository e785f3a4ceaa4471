//! ANSI colour for a terminal, added to a finished plain rendering line by line, so the plain
//! text (what pipes, files, tests and snapshots see) has one source.

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
    colour_lines(text, |line| {
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
    })
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

fn colour_lines(text: &str, colour_of: impl Fn(&str) -> Option<&'static str>) -> String {
    let mut coloured = String::with_capacity(text.len() + text.len() / 8);
    for line in text.split_inclusive('\n') {
        let (content, end) = line.strip_suffix('\n').map_or((line, ""), |content| (content, "\n"));
        match colour_of(content) {
            Some(colour) if !content.is_empty() => {
                coloured.push_str(colour);
                coloured.push_str(content);
                coloured.push_str(RESET);
            }
            _ => coloured.push_str(content),
        }
        coloured.push_str(end);
    }
    coloured
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
