//! The plan as one self-contained HTML report, the billing admin's workbench (inline CSS, JS and
//! SVG; a CSP that forbids any fetch): summary cards with the money, a chart of the largest
//! amount changes, per-customer subtotals, one table of the actions (each once) that sorts,
//! filters by action kind, level and customer, and searches every id, then the log in a section
//! of its own; the `--format csv` text is a download away.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;

use rust_decimal::Decimal;

use super::text::{short_id, summary_line};
use super::{
    NO_PRICE, Record, Row, TableOptions, amount_cell, escape_html, log_counts, money, money_line, price_cell,
    rows, signed_money, time,
};
use crate::codes::LogLevel;
use crate::plan::{ActionKind, Plan};

const STYLE: &str = r#"
:root { color-scheme: light; --border: #d0d7de; --muted: #57606a; --accent: #0969da; --up: #1a7f37; --down: #cf222e; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; padding: 1.5rem; max-width: 1500px; color: #1f2328; }
h1 { font-size: 1.4rem; margin: 0 0 .25rem; } h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
.meta { color: var(--muted); margin: 0 0 1rem; }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(8.5rem, 1fr)); gap: .75rem; margin: 1rem 0; }
.card { border: 1px solid var(--border); border-radius: 6px; padding: .6rem .8rem; }
.card .number { font-size: 1.6rem; font-weight: 600; display: block; }
.card .label { color: var(--muted); }
.card.money { grid-column: span 2; }
.card.update .number { color: #9a6700; } .card.create .number { color: var(--up); } .card.zero .number { color: var(--down); }
.overview { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 1.5rem; align-items: start; }
@media (max-width: 1000px) { .overview { grid-template-columns: 1fr; } }
svg text { font: 12px system-ui, sans-serif; fill: #1f2328; }
svg .up { fill: var(--up); } svg .down { fill: var(--down); } svg .axis { stroke: var(--muted); }
.controls { display: flex; flex-wrap: wrap; gap: .75rem; align-items: center; margin: 1rem 0; position: sticky; top: 0; background: #fff; padding: .5rem 0; z-index: 1; }
.controls input[type=search] { min-width: 20rem; padding: .3rem .5rem; }
.controls select, .controls button { padding: .3rem .6rem; }
.count { color: var(--muted); }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid var(--border); padding: .3rem .5rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; white-space: nowrap; }
th button { font: inherit; font-weight: 600; background: none; border: 0; padding: 0; cursor: pointer; color: var(--accent); }
th[aria-sort=ascending] button::after { content: " \25B2"; } th[aria-sort=descending] button::after { content: " \25BC"; }
td.message { max-width: 36rem; } td.number, th.number { text-align: right; white-space: nowrap; }
td.ids { color: var(--muted); font-size: 12px; white-space: nowrap; }
td.up { color: var(--up); } td.down { color: var(--down); } td.unpriced { color: var(--muted); font-style: italic; }
tr.level-error td.level { color: var(--down); font-weight: 600; } tr.level-warning td.level { color: #9a6700; font-weight: 600; }
[hidden] { display: none !important; }
@media print {
  body { padding: 0; max-width: none; font-size: 10px; }
  .controls { display: none; }
  th button { color: inherit; }
  thead { display: table-header-group; }
  tr { break-inside: avoid; }
}
"#;

const SCRIPT: &str = r#"
(function () {
  "use strict";
  var body = document.getElementById("rows-body");
  var rows = Array.prototype.slice.call(body.rows);
  var logRows = Array.prototype.slice.call(document.getElementById("log-body").rows);
  var levelRank = { error: "0", warning: "1", info: "2", verbose: "3" };
  var kindFilter = document.getElementById("kind-filter");
  var levelFilter = document.getElementById("level-filter");
  var customerFilter = document.getElementById("customer-filter");
  var search = document.getElementById("search");
  var shownCount = document.getElementById("shown-count");
  var logCount = document.getElementById("log-count");
  var csvText = JSON.parse(document.getElementById("csv-data").textContent);
  var sortKey = null;
  var ascending = true;
  rows.forEach(function (row, index) { row.dataset.index = String(index); });

  function key(row, name) {
    if (name === "level") { return levelRank[row.dataset.level]; }
    if (name === "amount") { return row.dataset.amount === "" ? null : Number(row.dataset.amount); }
    return row.dataset[name] || "";
  }

  function sortBy(name) {
    ascending = sortKey === name ? !ascending : true;
    sortKey = name;
    var sorted = rows.slice().sort(function (a, b) {
      var x = key(a, name), y = key(b, name);
      var order;
      if (x === null || y === null) {
        order = x === y ? 0 : x === null ? 1 : -1; // rows with no amount last, either way
        return order || Number(a.dataset.index) - Number(b.dataset.index);
      }
      order = x < y ? -1 : x > y ? 1 : 0;
      if (!ascending) { order = -order; }
      return order || Number(a.dataset.index) - Number(b.dataset.index);
    });
    var fragment = document.createDocumentFragment();
    sorted.forEach(function (row) { fragment.appendChild(row); });
    body.appendChild(fragment);
    document.querySelectorAll("th[data-sort]").forEach(function (header) {
      if (header.dataset.sort === name) {
        header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      } else {
        header.removeAttribute("aria-sort");
      }
    });
  }

  function filter() {
    var kind = kindFilter.value, level = levelFilter.value, customer = customerFilter.value;
    var needle = search.value.trim().toLowerCase();
    var shown = 0, logged = 0;
    rows.forEach(function (row) {
      var visible = (!kind || row.dataset.kind === kind) && (!level || row.dataset.level === level) &&
        (!customer || row.dataset.customer === customer) &&
        (!needle || row.dataset.search.indexOf(needle) !== -1);
      row.hidden = !visible;
      if (visible) { shown += 1; }
    });
    logRows.forEach(function (row) {
      var visible = (!level || row.dataset.level === level) && (!customer || row.dataset.customer === customer) &&
        (!needle || row.dataset.search.indexOf(needle) !== -1);
      row.hidden = !visible;
      if (visible) { logged += 1; }
    });
    shownCount.textContent = shown + " of " + rows.length + " actions";
    logCount.textContent = logged + " of " + logRows.length + " log entries";
  }

  document.querySelectorAll("th[data-sort] button").forEach(function (button) {
    button.addEventListener("click", function () { sortBy(button.parentElement.dataset.sort); });
  });
  [kindFilter, levelFilter, customerFilter].forEach(function (select) { select.addEventListener("change", filter); });
  search.addEventListener("input", filter);
  document.getElementById("download-csv").addEventListener("click", function (event) {
    var blob = new Blob([csvText], { type: "text/csv;charset=utf-8" });
    var url = URL.createObjectURL(blob);
    var link = document.createElement("a");
    link.href = url;
    link.download = event.currentTarget.dataset.filename;
    document.body.appendChild(link);
    link.click();
    link.remove();
    // What was downloaded, for scripts and tests that cannot read the downloads folder.
    window.billsyncDownloadedCsv = csvText;
    setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
  });
  filter();
})();
"#;

/// How many changes the chart shows.
const CHART_BARS: usize = 10;

/// The HTML report; the embedded CSV is `super::csv::csv` with the same options.
pub fn html(plan: &Plan, options: TableOptions) -> String {
    let mut out = Vec::new();
    write_html(plan, options, &mut out).expect("writing to memory cannot fail");
    String::from_utf8(out).expect("the report is UTF-8")
}

/// [`html`], written straight to `writer` (a big plan's report need not sit in memory).
pub fn write_html(plan: &Plan, options: TableOptions, writer: impl Write) -> std::io::Result<()> {
    let log_level = options.log_level.unwrap_or(plan.settings.log_level);
    let rows = rows(plan, options);
    let (actions, log): (Vec<&Row<'_>>, Vec<&Row<'_>>) =
        rows.iter().partition(|row| row.record == Record::Action);
    let mut out = std::io::BufWriter::with_capacity(1 << 16, writer);
    let title = format!("billsync plan {} — {}", short_id(&plan.plan_id), plan.job.label);
    write!(
        out,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        escape_html(&title),
        escape_html(&title)
    )?;
    let period = &plan.period;
    writeln!(
        out,
        "<p class=\"meta\">Period {} – {}, as of {}, effective {}. Plan id <code>{}</code>, digest <code>{}</code>.<br>{}<br>{}</p>",
        period.start_date,
        period.end_date,
        time(plan.as_of),
        time(plan.settings.effective_date),
        escape_html(&plan.plan_id),
        escape_html(&plan.digest),
        escape_html(&summary_line(plan)),
        escape_html(&money_line(plan))
    )?;

    let summary = &plan.summary;
    out.write_all("<section class=\"cards\" aria-label=\"Summary\">\n".as_bytes())?;
    writeln!(
        out,
        "<div class=\"card money\" id=\"money-total\"><span class=\"number\">{}</span><span class=\"label\">monthly amount change{}</span></div>",
        signed_money(summary.monthly_amount_change),
        match summary.unpriced_changes {
            0 => String::new(),
            n => format!(" ({n} with {NO_PRICE})"),
        }
    )?;
    for (class, number, label) in [
        ("update", summary.update, "update"),
        ("create", summary.create, "create"),
        ("zero", summary.zero, "zero"),
        ("unchanged", summary.unchanged, "unchanged"),
        ("skip", summary.skip, "skipped"),
    ] {
        writeln!(
            out,
            "<div class=\"card {class}\"><span class=\"number\">{number}</span><span class=\"label\">{label}</span></div>"
        )?;
    }
    out.write_all(
        "</section>\n<div class=\"overview\">\n<section aria-labelledby=\"chart-title\">\n".as_bytes(),
    )?;
    out.write_all(chart(plan).as_bytes())?;
    out.write_all("</section>\n<section aria-labelledby=\"totals-title\">\n".as_bytes())?;
    out.write_all(customer_totals(plan).as_bytes())?;
    out.write_all("</section>\n</div>\n".as_bytes())?;

    // Controls: kind, level, customer, search over every id, the CSV download.
    let mut customers: BTreeMap<&str, &str> = BTreeMap::new();
    for row in &rows {
        if !row.customer_code.is_empty() {
            customers.entry(row.customer_code).or_insert(row.customer_name);
        }
    }
    out.write_all("<h2>Actions</h2>\n<div class=\"controls\">\n<label>Action <select id=\"kind-filter\"><option value=\"\">all</option>".as_bytes())?;
    for kind in
        [ActionKind::Update, ActionKind::Create, ActionKind::Zero, ActionKind::Unchanged, ActionKind::Skip]
    {
        write!(out, "<option value=\"{0}\">{0}</option>", kind.as_str())?;
    }
    out.write_all(
        "</select></label>\n<label>Level <select id=\"level-filter\"><option value=\"\">all</option>"
            .as_bytes(),
    )?;
    for level in [LogLevel::Error, LogLevel::Warning, LogLevel::Info, LogLevel::Verbose] {
        write!(out, "<option value=\"{0}\">{0}</option>", level.as_str())?;
    }
    out.write_all(
        "</select></label>\n<label>Customer <select id=\"customer-filter\"><option value=\"\">all</option>"
            .as_bytes(),
    )?;
    for (code, name) in &customers {
        let label = if name.is_empty() { (*code).to_owned() } else { format!("{code} — {name}") };
        write!(out, "<option value=\"{}\">{}</option>", escape_html(code), escape_html(&label))?;
    }
    writeln!(
        out,
        "</select></label>\n\
         <label>Search <input id=\"search\" type=\"search\" placeholder=\"code, customer, SKU, or a company, contract, line or service id\"></label>\n\
         <button id=\"download-csv\" type=\"button\" data-filename=\"billsync-plan-{}-digest-{}.csv\">Download CSV</button>\n\
         <span id=\"shown-count\" class=\"count\">{} actions</span>\n</div>",
        escape_html(short_id(&plan.plan_id)),
        escape_html(plan.short_digest()),
        actions.len()
    )?;

    out.write_all("<table id=\"actions\">\n<thead><tr><th>action</th>\
         <th data-sort=\"code\"><button type=\"button\">code</button></th>\
         <th data-sort=\"level\"><button type=\"button\">level</button></th>\
         <th data-sort=\"customer\"><button type=\"button\">customer</button></th>\
         <th data-sort=\"service\"><button type=\"button\">service</button></th>\
         <th>SKU</th><th>ids</th><th>change</th><th>effective date</th><th class=\"number\">unit price</th>\
         <th class=\"number\" data-sort=\"amount\"><button type=\"button\">amount change / month</button></th>\
         <th>message</th></tr></thead>\n<tbody id=\"rows-body\">\n".as_bytes())?;
    for row in &actions {
        write_action(&mut out, row)?;
    }
    out.write_all("</tbody>\n</table>\n".as_bytes())?;

    let counts = log_counts(plan);
    let logged = |level| counts.get(&level).copied().unwrap_or(0);
    writeln!(
        out,
        "<section id=\"log\" aria-labelledby=\"log-title\">\n<h2 id=\"log-title\">Log</h2>\n\
         <p class=\"meta\">Down to {log_level}: {} of {} entries ({} error, {} warning, {} info, {} verbose in all). <span id=\"log-count\" class=\"count\"></span></p>\n\
         <table id=\"log-table\">\n<thead><tr><th>code</th><th>level</th><th>customer</th><th>message</th></tr></thead>\n<tbody id=\"log-body\">",
        log.len(),
        plan.log.len(),
        logged(LogLevel::Error),
        logged(LogLevel::Warning),
        logged(LogLevel::Info),
        logged(LogLevel::Verbose),
    )?;
    for row in &log {
        write_log(&mut out, row)?;
    }
    out.write_all("</tbody>\n</table>\n</section>\n".as_bytes())?;

    // The CSV as a JSON string with `<`, `>` and `&` as \u escapes: no `</script>` can end the
    // element early, and JSON.parse gives back the exact CSV text.
    out.write_all(b"<script type=\"application/json\" id=\"csv-data\">\"")?;
    super::csv::write_csv(plan, options, JsonStringContent(&mut out))?;
    write!(out, "\"</script>\n<script>{SCRIPT}</script>\n</body>\n</html>\n")?;
    out.flush()
}

/// Writes the bytes it is given as the content of a JSON string, escaped as serde_json escapes
/// them, and `<`, `>` and `&` as `\u003c`, `\u003e` and `\u0026`, for HTML's sake.
struct JsonStringContent<W: Write>(W);

impl<W: Write> Write for JsonStringContent<W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let mut escaped = Vec::with_capacity(bytes.len() + bytes.len() / 8);
        for &byte in bytes {
            match byte {
                b'"' => escaped.extend_from_slice(b"\\\""),
                b'\\' => escaped.extend_from_slice(b"\\\\"),
                b'\n' => escaped.extend_from_slice(b"\\n"),
                b'\r' => escaped.extend_from_slice(b"\\r"),
                b'\t' => escaped.extend_from_slice(b"\\t"),
                0x08 => escaped.extend_from_slice(b"\\b"),
                0x0c => escaped.extend_from_slice(b"\\f"),
                0x00..=0x1f | b'<' | b'>' | b'&' => {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    escaped.extend_from_slice(b"\\u00");
                    escaped.extend_from_slice(&[HEX[usize::from(byte >> 4)], HEX[usize::from(byte & 0xf)]]);
                }
                _ => escaped.push(byte),
            }
        }
        self.0.write_all(&escaped)?;
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// `ASP — ASP Cloud`, or the code alone.
fn customer(row: &Row<'_>) -> String {
    if row.customer_name.is_empty() {
        row.customer_code.to_owned()
    } else {
        format!("{} — {}", row.customer_code, row.customer_name)
    }
}

fn write_action(out: &mut impl Write, row: &Row<'_>) -> std::io::Result<()> {
    let service = match row.service_id {
        Some(service_id) if !row.description.is_empty() => format!("{} ({service_id})", row.description),
        Some(service_id) => service_id.to_string(),
        None => row.description.to_owned(),
    };
    let id = |name: &str, id: Option<i64>| id.map(|id| format!("{name} {id}"));
    let ids: Vec<String> = [
        id("company", row.company_id),
        id("contract", row.contract_id),
        id("line", row.contract_service_id),
        id("service", row.service_id),
    ]
    .into_iter()
    .flatten()
    .collect();
    // Every id searchable, bare (`1201`) and named (`line 1201`).
    let bare_ids: Vec<String> = [row.company_id, row.contract_id, row.contract_service_id, row.service_id]
        .iter()
        .flatten()
        .map(i64::to_string)
        .collect();
    let search = [
        row.code.as_str(),
        row.message,
        row.customer_code,
        row.customer_name,
        row.sku,
        row.description,
        &ids.join(" "),
        &bare_ids.join(" "),
    ]
    .join("\u{1f}")
    .to_lowercase();
    let change = match (row.from, row.to) {
        (Some(from), Some(to)) if from != to => format!("{from} → {to}"),
        (_, Some(to)) => to.to_string(),
        _ => String::new(),
    };
    let amount = row.monthly_amount_change.flatten();
    let amount_class = match row.monthly_amount_change {
        Some(Some(amount)) if amount.is_sign_positive() && !amount.is_zero() => "number up",
        Some(Some(amount)) if amount.is_sign_negative() && !amount.is_zero() => "number down",
        Some(None) => "number unpriced",
        _ => "number",
    };
    writeln!(
        out,
        "<tr class=\"level-{level}\" data-kind=\"{kind}\" data-code=\"{code}\" data-level=\"{level}\" data-customer=\"{customer_key}\" data-service=\"{service_key}\" data-line=\"{line}\" data-amount=\"{amount_key}\" data-search=\"{search}\">\
         <td>{kind}</td><td>{code}</td><td class=\"level\">{level}</td><td>{customer}</td><td>{service}</td><td>{sku}</td><td class=\"ids\">{ids}</td><td>{change}</td><td>{effective}</td>\
         <td class=\"number\">{price}</td><td class=\"{amount_class}\">{amount}</td><td class=\"message\">{message}</td></tr>",
        kind = row.kind.map(|kind| kind.as_str()).unwrap_or_default(),
        level = row.level.as_str(),
        code = row.code.as_str(),
        customer_key = escape_html(row.customer_code),
        service_key = escape_html(&row.description.to_lowercase()),
        line = row.contract_service_id.map(|id| id.to_string()).unwrap_or_default(),
        amount_key = amount.map(|amount| amount.to_string()).unwrap_or_default(),
        search = escape_html(&search),
        customer = escape_html(&customer(row)),
        service = escape_html(&service),
        sku = escape_html(row.sku),
        ids = escape_html(&ids.join(" · ")),
        change = escape_html(&change),
        effective = row.effective_date.map(|date| date.date_naive().to_string()).unwrap_or_default(),
        price = price_cell(row.unit_price),
        amount = amount_cell(row.monthly_amount_change),
        message = escape_html(row.message),
    )
}

fn write_log(out: &mut impl Write, row: &Row<'_>) -> std::io::Result<()> {
    let search =
        [row.code.as_str(), row.message, row.customer_code, row.customer_name].join("\u{1f}").to_lowercase();
    writeln!(
        out,
        "<tr class=\"level-{level}\" data-code=\"{code}\" data-level=\"{level}\" data-customer=\"{customer_key}\" data-search=\"{search}\">\
         <td>{code}</td><td class=\"level\">{level}</td><td>{customer}</td><td class=\"message\">{message}</td></tr>",
        level = row.level.as_str(),
        code = row.code.as_str(),
        customer_key = escape_html(row.customer_code),
        search = escape_html(&search),
        customer = escape_html(&customer(row)),
        message = escape_html(row.message),
    )
}

/// Per customer: changes, their monthly amount, and how many have no price.
fn customer_totals(plan: &Plan) -> String {
    let mut totals: BTreeMap<&str, (&str, usize, Decimal, usize)> = BTreeMap::new();
    for action in plan.actions.iter().filter(|action| action.kind.is_change()) {
        let entry =
            totals.entry(&action.customer_code).or_insert((&action.customer_name, 0, Decimal::ZERO, 0));
        entry.1 += 1;
        match action.monthly_amount_change.flatten() {
            Some(amount) => entry.2 += amount,
            None => entry.3 += 1,
        }
    }
    let mut out = String::from(
        "<h2 id=\"totals-title\">By customer</h2>\n<table id=\"customer-totals\">\n<thead><tr><th>customer</th><th class=\"number\">changes</th><th class=\"number\">amount change / month</th></tr></thead>\n<tbody>\n",
    );
    if totals.is_empty() {
        out.push_str("<tr><td colspan=\"3\">No changes.</td></tr>\n");
    }
    for (code, (name, changes, amount, unpriced)) in &totals {
        let note = if *unpriced > 0 { format!(" ({unpriced} with {NO_PRICE})") } else { String::new() };
        let _ = writeln!(
            out,
            "<tr data-customer=\"{}\"><td>{}</td><td class=\"number\">{changes}</td><td class=\"number\" data-amount=\"{amount}\">{}{note}</td></tr>",
            escape_html(code),
            escape_html(&format!("{code} — {name}")),
            signed_money(*amount),
        );
    }
    let _ = writeln!(
        out,
        "</tbody>\n<tfoot><tr><th>all customers</th><th class=\"number\">{}</th><th class=\"number\">{}</th></tr></tfoot>\n</table>",
        plan.summary.changes(),
        signed_money(plan.summary.monthly_amount_change)
    );
    out
}

/// An inline SVG bar chart of the largest amount changes (either sign), largest first.
fn chart(plan: &Plan) -> String {
    let mut priced: Vec<(usize, &crate::plan::Action, Decimal)> = plan
        .actions
        .iter()
        .enumerate()
        .filter_map(|(index, action)| Some((index, action, action.monthly_amount_change.flatten()?)))
        .filter(|(_, _, amount)| !amount.is_zero())
        .collect();
    priced.sort_by(|a, b| b.2.abs().cmp(&a.2.abs()).then(a.0.cmp(&b.0)));
    priced.truncate(CHART_BARS);
    let mut out = format!(
        "<h2 id=\"chart-title\">Largest amount changes{}</h2>\n",
        if priced.is_empty() { String::new() } else { format!(" (top {})", priced.len()) }
    );
    if priced.is_empty() {
        out.push_str("<p class=\"meta\" id=\"money-chart-empty\">No priced change.</p>\n");
        return out;
    }
    let largest = priced[0].2.abs();
    let (label_width, bar_width, row_height) = (300.0_f64, 320.0_f64, 24.0_f64);
    let height = row_height * priced.len() as f64 + 8.0;
    let middle = label_width + bar_width / 2.0;
    let _ = writeln!(
        out,
        "<svg id=\"money-chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" width=\"100%\" role=\"img\" aria-label=\"The {count} largest monthly amount changes\">",
        width = label_width + bar_width + 90.0,
        count = priced.len(),
    );
    for (position, (_, action, amount)) in priced.iter().enumerate() {
        let share = (amount.abs() / largest).to_string().parse::<f64>().unwrap_or(0.0);
        let length = (share * (bar_width / 2.0 - 4.0)).max(1.0);
        let y = position as f64 * row_height + 4.0;
        let (x, class) = if amount.is_sign_positive() { (middle, "up") } else { (middle - length, "down") };
        let subject = match (&action.description, action.service_id) {
            (Some(description), Some(service_id)) => format!("{description} ({service_id})"),
            (Some(description), None) => description.to_string(),
            _ => String::new(),
        };
        let label = format!("{} · {subject}", action.customer_code);
        let label: String =
            if label.chars().count() > 44 { label.chars().take(43).chain(['…']).collect() } else { label };
        let _ = writeln!(
            out,
            "<g class=\"bar\" data-customer=\"{customer}\" data-line=\"{line}\" data-amount=\"{amount}\"><title>{title}</title>\
             <text x=\"0\" y=\"{text_y}\">{label}</text>\
             <rect class=\"{class}\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{length:.1}\" height=\"{bar_height:.1}\"></rect>\
             <text x=\"{value_x:.1}\" y=\"{text_y}\">{value}</text></g>",
            customer = escape_html(&action.customer_code),
            line = action.contract_service_id.map(|id| id.to_string()).unwrap_or_default(),
            title = escape_html(&format!(
                "{} {}: {} per month at {}",
                action.customer_code,
                subject,
                signed_money(*amount),
                action.unit_price.flatten().map(money).unwrap_or_default()
            )),
            label = escape_html(&label),
            text_y = y + 15.0,
            bar_height = row_height - 6.0,
            value_x = label_width + bar_width + 4.0,
            value = signed_money(*amount),
        );
    }
    let _ = writeln!(
        out,
        "<line class=\"axis\" x1=\"{middle}\" y1=\"0\" x2=\"{middle}\" y2=\"{height}\"></line>\n</svg>"
    );
    out
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    proptest::proptest! {
        /// The embedded CSV reads back exactly: the streamed escaping is serde_json's string
        /// escaping with `<`, `>` and `&` as \u escapes, whatever the text and however it is cut
        /// into writes.
        #[test]
        fn streamed_csv_string_is_serde_json_escaping(
            text in "(?s)[\\x00-\\x7f<>&\"\\\\é€😀\u{2028}\u{202e}]{0,64}",
            cut in 0usize..64,
        ) {
            let mut streamed = Vec::new();
            let mut content = super::JsonStringContent(&mut streamed);
            let cut = cut.min(text.len());
            content.write_all(&text.as_bytes()[..cut]).unwrap();
            content.write_all(&text.as_bytes()[cut..]).unwrap();
            let expected = serde_json::to_string(&text)
                .unwrap()
                .replace('<', "\\u003c")
                .replace('>', "\\u003e")
                .replace('&', "\\u0026");
            let streamed = String::from_utf8(streamed).unwrap();
            proptest::prop_assert_eq!(format!("\"{streamed}\""), expected.clone());
            let read_back: String = serde_json::from_str(&expected).unwrap();
            proptest::prop_assert_eq!(read_back, text);
        }
    }
}
