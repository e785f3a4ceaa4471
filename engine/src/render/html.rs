//! The plan as one self-contained HTML report (inline CSS and JS, a CSP that forbids any fetch):
//! summary cards, and one table of actions and log entries that sorts by code, level, customer
//! or service, filters by level, searches code, message, customer and SKU, and downloads the
//! exact `--format csv` text.

use std::fmt::Write as _;

use super::text::{short_id, summary_line};
use super::{Record, Row, TableOptions, escape_html, log_counts, rows, time};
use crate::codes::LogLevel;
use crate::plan::Plan;

const STYLE: &str = r#"
:root { color-scheme: light; --border: #d0d7de; --muted: #57606a; --accent: #0969da; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; padding: 1.5rem; max-width: 1400px; color: #1f2328; }
h1 { font-size: 1.4rem; margin: 0 0 .25rem; }
.meta { color: var(--muted); margin: 0 0 1rem; }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(8.5rem, 1fr)); gap: .75rem; margin: 1rem 0; }
.card { border: 1px solid var(--border); border-radius: 6px; padding: .6rem .8rem; }
.card .number { font-size: 1.6rem; font-weight: 600; display: block; }
.card .label { color: var(--muted); }
.card.update .number { color: #9a6700; } .card.create .number { color: #1a7f37; } .card.zero .number { color: #cf222e; }
.card.error .number { color: #cf222e; } .card.warning .number { color: #9a6700; }
.controls { display: flex; flex-wrap: wrap; gap: .75rem; align-items: center; margin: 1rem 0; position: sticky; top: 0; background: #fff; padding: .5rem 0; }
.controls input[type=search] { min-width: 18rem; padding: .3rem .5rem; }
.controls select, .controls button { padding: .3rem .6rem; }
#shown-count { color: var(--muted); }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid var(--border); padding: .3rem .5rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; white-space: nowrap; }
th button { font: inherit; font-weight: 600; background: none; border: 0; padding: 0; cursor: pointer; color: var(--accent); }
th[aria-sort=ascending] button::after { content: " \25B2"; } th[aria-sort=descending] button::after { content: " \25BC"; }
td.message { max-width: 40rem; } td.number { text-align: right; white-space: nowrap; }
tr.level-error td.level { color: #cf222e; font-weight: 600; } tr.level-warning td.level { color: #9a6700; font-weight: 600; }
tr.record-log { background: #fafbfc; }
[hidden] { display: none !important; }
@media print {
  body { padding: 0; max-width: none; font-size: 10px; }
  .controls { display: none; }
  th button { color: inherit; }
  thead { display: table-header-group; }
  tr { break-inside: avoid; }
  .cards { grid-template-columns: repeat(7, 1fr); }
}
"#;

const SCRIPT: &str = r#"
(function () {
  "use strict";
  var body = document.getElementById("rows-body");
  var rows = Array.prototype.slice.call(body.rows);
  var levelRank = { error: "0", warning: "1", info: "2", verbose: "3" };
  var levelFilter = document.getElementById("level-filter");
  var search = document.getElementById("search");
  var shownCount = document.getElementById("shown-count");
  var csvText = JSON.parse(document.getElementById("csv-data").textContent);
  var sortKey = null;
  var ascending = true;
  rows.forEach(function (row, index) { row.dataset.index = String(index); });

  function key(row, name) {
    return name === "level" ? levelRank[row.dataset.level] : (row.dataset[name] || "");
  }

  function sortBy(name) {
    ascending = sortKey === name ? !ascending : true;
    sortKey = name;
    var sorted = rows.slice().sort(function (a, b) {
      var x = key(a, name), y = key(b, name);
      var order = x < y ? -1 : x > y ? 1 : 0;
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
    var level = levelFilter.value;
    var needle = search.value.trim().toLowerCase();
    var shown = 0;
    rows.forEach(function (row) {
      var visible = (!level || row.dataset.level === level) &&
        (!needle || row.dataset.search.indexOf(needle) !== -1);
      row.hidden = !visible;
      if (visible) { shown += 1; }
    });
    shownCount.textContent = shown + " of " + rows.length + " rows";
  }

  document.querySelectorAll("th[data-sort] button").forEach(function (button) {
    button.addEventListener("click", function () { sortBy(button.parentElement.dataset.sort); });
  });
  levelFilter.addEventListener("change", filter);
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

/// The HTML report; the embedded CSV is `super::csv::csv` with the same options.
pub fn html(plan: &Plan, options: TableOptions) -> String {
    let log_level = options.log_level.unwrap_or(plan.settings.log_level);
    let csv = super::csv::csv(plan, options);
    let rows = rows(plan, options);
    let mut out = String::with_capacity(rows.len() * 400 + csv.len() + 16_384);
    let title = format!("billsync plan {} — {}", short_id(&plan.plan_id), plan.job.label);
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        escape_html(&title),
        escape_html(&title)
    );
    let period = &plan.period;
    let _ = writeln!(
        out,
        "<p class=\"meta\">Period {} – {}, as of {}, effective {}. Plan id <code>{}</code>.<br>{}</p>",
        period.start_date,
        period.end_date,
        time(plan.as_of),
        time(plan.settings.effective_date),
        escape_html(&plan.plan_id),
        escape_html(&format!("{} {}", summary_line(plan), super::money_line(plan)))
    );

    let summary = &plan.summary;
    let counts = log_counts(plan);
    let logged = |level| counts.get(&level).copied().unwrap_or(0);
    out.push_str("<section class=\"cards\" aria-label=\"Summary\">\n");
    for (class, number, label) in [
        ("update", summary.update, "update"),
        ("create", summary.create, "create"),
        ("zero", summary.zero, "zero"),
        ("unchanged", summary.unchanged, "unchanged"),
        ("skip", summary.skip, "skipped"),
        ("error", logged(LogLevel::Error), "log errors"),
        ("warning", logged(LogLevel::Warning), "log warnings"),
    ] {
        let _ = writeln!(
            out,
            "<div class=\"card {class}\"><span class=\"number\">{number}</span><span class=\"label\">{label}</span></div>"
        );
    }
    out.push_str("</section>\n");

    let _ = writeln!(
        out,
        "<div class=\"controls\">\n<label>Level <select id=\"level-filter\">\
         <option value=\"\">all</option><option value=\"error\">error</option><option value=\"warning\">warning</option>\
         <option value=\"info\">info</option><option value=\"verbose\">verbose</option></select></label>\n\
         <label>Search <input id=\"search\" type=\"search\" placeholder=\"code, message, customer or SKU\"></label>\n\
         <button id=\"download-csv\" type=\"button\" data-filename=\"billsync-plan-{}.csv\">Download CSV</button>\n\
         <span id=\"shown-count\">{} rows</span>\n</div>",
        escape_html(short_id(&plan.plan_id)),
        rows.len()
    );
    let _ = writeln!(
        out,
        "<p class=\"meta\">Every action, then the log down to {log_level} ({} of {} entries).</p>",
        rows.iter().filter(|row| row.record == Record::Log).count(),
        plan.log.len()
    );

    out.push_str(
        "<table>\n<thead><tr><th>record</th><th>action</th>\
         <th data-sort=\"code\"><button type=\"button\">code</button></th>\
         <th data-sort=\"level\"><button type=\"button\">level</button></th>\
         <th data-sort=\"customer\"><button type=\"button\">customer</button></th>\
         <th data-sort=\"service\"><button type=\"button\">service</button></th>\
         <th>SKU</th><th>change</th><th>effective date</th><th>unit price</th><th>amount change / month</th><th>message</th></tr></thead>\n<tbody id=\"rows-body\">\n",
    );
    for row in &rows {
        write_row(&mut out, row);
    }
    out.push_str("</tbody>\n</table>\n");

    // JSON with `<`, `>` and `&` as \u escapes: no `</script>` can end the element early, and
    // JSON.parse gives back the exact CSV text.
    let csv_json = serde_json::to_string(&csv)
        .expect("strings serialize")
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026");
    let _ = write!(
        out,
        "<script type=\"application/json\" id=\"csv-data\">{csv_json}</script>\n<script>{SCRIPT}</script>\n</body>\n</html>\n"
    );
    out
}

fn write_row(out: &mut String, row: &Row<'_>) {
    let customer = if row.customer_name.is_empty() {
        row.customer_code.to_owned()
    } else {
        format!("{} — {}", row.customer_code, row.customer_name)
    };
    let service = match row.service_id {
        Some(service_id) if !row.description.is_empty() => format!("{} ({service_id})", row.description),
        Some(service_id) => service_id.to_string(),
        None => row.description.to_owned(),
    };
    let search =
        [row.code.as_str(), row.message, row.customer_code, row.customer_name, row.sku, row.description]
            .join("\u{1f}")
            .to_lowercase();
    let change = match row.record {
        Record::Log => String::new(),
        Record::Action => {
            let (from, to) = (row.from.map(|from| from.to_string()), row.to.map(|to| to.to_string()));
            match (from, to) {
                (Some(from), Some(to)) if from != to => format!("{from} → {to}"),
                (_, Some(to)) => to,
                _ => String::new(),
            }
        }
    };
    let _ = writeln!(
        out,
        "<tr class=\"record-{record} level-{level}\" data-code=\"{code}\" data-level=\"{level}\" data-customer=\"{customer_key}\" data-service=\"{service_key}\" data-search=\"{search}\">\
         <td>{record}</td><td>{kind}</td><td>{code}</td><td class=\"level\">{level}</td><td>{customer}</td><td>{service}</td><td>{sku}</td><td>{change}</td><td>{effective}</td><td class=\"number\">{price}</td><td class=\"number\">{amount}</td><td class=\"message\">{message}</td></tr>",
        record = row.record.as_str(),
        level = row.level.as_str(),
        code = row.code.as_str(),
        customer_key = escape_html(&row.customer_code.to_lowercase()),
        service_key = escape_html(&row.description.to_lowercase()),
        search = escape_html(&search),
        kind = row.kind.map(|kind| kind.as_str()).unwrap_or_default(),
        customer = escape_html(&customer),
        service = escape_html(&service),
        sku = escape_html(row.sku),
        change = escape_html(&change),
        effective = row.effective_date.map(|date| date.format("%Y-%m-%d").to_string()).unwrap_or_default(),
        price = super::price_cell(row.unit_price),
        amount = super::amount_cell(row.monthly_amount_change),
        message = escape_html(row.message),
    );
}
