//! The XLSX reader (calamine): the first visible worksheet, or the one named, into a [`Table`] of typed
//! cells at their spreadsheet places.

use std::io::Cursor;

use calamine::{Data, Reader as _, SheetType, SheetVisible, Xlsx};

use super::{Cell, Table, TableRow, shown};
use crate::problems::{Problem, Problems};

pub(super) fn read(bytes: &[u8], sheet: Option<&str>) -> Result<Table, Problems> {
    let mut workbook = Xlsx::new(Cursor::new(bytes)).map_err(|error| {
        Problems::one(Problem::at("", format!("is not a readable .xlsx workbook: {error}")))
    })?;
    let metadata: Vec<_> =
        workbook.sheets_metadata().iter().filter(|metadata| metadata.typ == SheetType::WorkSheet).collect();
    let worksheets: Vec<String> = metadata.iter().map(|metadata| metadata.name.clone()).collect();
    // The first sheet a person sees when opening the workbook: hidden ones come after.
    let first = metadata
        .iter()
        .find(|metadata| metadata.visible == SheetVisible::Visible)
        .or(metadata.first())
        .map(|metadata| metadata.name.clone());
    let list = || worksheets.iter().map(|name| format!("`{}`", shown(name))).collect::<Vec<_>>().join(", ");
    let name = match sheet {
        Some(wanted) => worksheets.iter().find(|name| name.as_str() == wanted).cloned().ok_or_else(|| {
            Problems::one(Problem::at(
                "",
                format!("has no worksheet `{}`; its worksheets: {}", shown(wanted), list()),
            ))
        })?,
        None => first.ok_or_else(|| Problems::one(Problem::at("", "has no worksheet")))?,
    };
    let range = workbook.worksheet_range(&name).map_err(|error| {
        Problems::one(Problem::at(format!("sheet `{}`", shown(&name)), format!("cannot be read: {error}")))
    })?;
    let Some((first_row, first_column)) = range.start() else {
        return Ok(Table::default());
    };
    let rows = range
        .rows()
        .enumerate()
        .map(|(offset, row)| {
            // Columns left of the used range are empty; padding keeps `cells[i]` at column i.
            let mut cells = vec![Cell::Empty; first_column as usize];
            cells.extend(row.iter().map(cell));
            let number =
                first_row.saturating_add(u32::try_from(offset).unwrap_or(u32::MAX)).saturating_add(1);
            TableRow { number, cells }
        })
        .collect();
    Ok(Table { rows })
}

fn cell(data: &Data) -> Cell {
    match data {
        Data::Empty => Cell::Empty,
        Data::String(text) if text.is_empty() => Cell::Empty,
        Data::String(text) => Cell::Text(text.clone()),
        Data::Float(value) => Cell::Number(*value),
        Data::Int(value) => Cell::Number(*value as f64),
        Data::Bool(value) => Cell::Bool(*value),
        Data::DateTime(value) => Cell::Date(value.to_string()),
        Data::DateTimeIso(text) | Data::DurationIso(text) => Cell::Date(text.clone()),
        Data::Error(error) => Cell::Error(error.to_string()),
    }
}
