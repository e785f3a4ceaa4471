//! The CSV reader: text as Excel saves it ("CSV UTF-8": a BOM, CRLF, fields quoted when they
//! must be), into a [`Table`] whose row numbers are the ones Excel shows for the same file.

use super::{Cell, Table, TableRow};
use crate::problems::{Problem, Problems};

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

pub(super) fn read(bytes: &[u8]) -> Result<Table, Problems> {
    let bytes = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        return Err(Problems::one(Problem::at(
            "line 1",
            "is UTF-16 text (Excel's \"Unicode Text\"); save the report as \"CSV UTF-8 (Comma delimited)\" or .xlsx",
        )));
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return Err(Problems::one(Problem::at(
            "line 1",
            "is a zip archive, not CSV text: an .xlsx workbook must be named `.xlsx`",
        )));
    }
    let text = std::str::from_utf8(bytes).map_err(|error| {
        let line = 1 + bytes[..error.valid_up_to()].iter().filter(|&&b| b == b'\n').count();
        Problems::one(Problem::at(
            format!("line {line}"),
            "is not UTF-8 text; save the report as \"CSV UTF-8 (Comma delimited)\" or .xlsx",
        ))
    })?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter(text))
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    // Excel shows one row per record and one per blank line. The csv crate skips blank lines
    // and places a record at the end of the one before it, so rows are counted here: the line
    // breaks before the record's first byte, less those inside earlier quoted fields.
    let bytes = text.as_bytes();
    let (mut scanned, mut line_breaks, mut breaks_inside_fields) = (0usize, 0usize, 0usize);
    for record in reader.records() {
        let record = record.map_err(|error| {
            let line = error.position().map_or(String::from("the file"), |p| format!("line {}", p.line()));
            Problems::one(Problem::at(line, format!("is not valid CSV: {error}")))
        })?;
        let mut start = record.position().map_or(0, |position| position.byte() as usize).max(scanned);
        while start < bytes.len() && matches!(bytes[start], b'\r' | b'\n') {
            start += 1;
        }
        line_breaks += bytes[scanned..start].iter().filter(|&&b| b == b'\n').count();
        scanned = start;
        let number = u32::try_from(1 + line_breaks.saturating_sub(breaks_inside_fields)).unwrap_or(u32::MAX);
        breaks_inside_fields += record.iter().map(|field| field.matches('\n').count()).sum::<usize>();
        let cells = record
            .iter()
            .map(|field| if field.is_empty() { Cell::Empty } else { Cell::Text(field.to_owned()) })
            .collect();
        rows.push(TableRow { number, cells });
    }
    Ok(Table { rows })
}

/// Comma, unless the header line has none but semicolons or tabs (Excel in locales whose
/// decimal separator is a comma saves with semicolons).
fn delimiter(text: &str) -> u8 {
    let first_line = text.lines().next().unwrap_or("");
    if first_line.contains(',') {
        b','
    } else if first_line.contains(';') {
        b';'
    } else if first_line.contains('\t') {
        b'\t'
    } else {
        b','
    }
}
