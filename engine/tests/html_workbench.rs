//! The HTML report as a workbench, in headless Chromium through chromedriver (the `thirtyfour`
//! WebDriver client): actions once and the log apart, sorting by amount, each filter (action
//! kind, level, customer), search by a line id, per-customer subtotals, the chart, and no
//! request leaving the page.

#[path = "common/browser.rs"]
mod browser;
mod common;

use std::path::Path;
use std::process::Command;

use billsync::plan::{ActionKind, Plan};
use common::{AS_OF, fixtures};
use rust_decimal::Decimal;
use serde_json::Value;
use thirtyfour::prelude::*;

fn billsync(args: &[&str]) -> Vec<u8> {
    let output = Command::new(env!("CARGO_BIN_EXE_billsync")).args(args).output().expect("billsync runs");
    assert!(matches!(output.status.code(), Some(0 | 2)), "{}", String::from_utf8_lossy(&output.stderr));
    output.stdout
}

/// The every-code fixture's plan and its HTML report, written into `dir`.
fn report(dir: &Path) -> (Plan, std::path::PathBuf) {
    let folder = fixtures().join("every-code");
    let plan_path = dir.join("plan.json").to_string_lossy().into_owned();
    let mut args = common::plan_args(
        &folder.join("job.yaml"),
        &folder.join("atria.json"),
        &folder.join("autotask.json"),
        AS_OF,
    );
    args.extend(["--out".to_owned(), plan_path.clone()]);
    billsync(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let html = billsync(&["show", &plan_path, "--format", "html", "--log-level", "verbose"]);
    let report = dir.join("report.html");
    std::fs::write(&report, html).expect("write the report");
    (Plan::load(Path::new(&plan_path)).expect("the plan"), report)
}

/// A `data-` attribute of every visible row of a table body, in page order.
async fn visible(driver: &WebDriver, body: &str, name: &str) -> Vec<String> {
    let script = format!(
        "return Array.from(document.querySelectorAll('#{body} tr')).filter(r => !r.hidden).map(r => r.dataset.{name} || '');"
    );
    let value = driver.execute(script, Vec::<Value>::new()).await.expect("the script runs");
    value.convert::<Vec<String>>().expect("a list of strings")
}

async fn choose(driver: &WebDriver, select: &str, value: &str) {
    let option = format!("#{select} option[value='{value}']");
    driver.find(By::Css(option.as_str())).await.expect("the option").click().await.expect("clicked");
}

async fn search(driver: &WebDriver, text: &str) {
    let field = driver.find(By::Css("#search")).await.expect("the search field");
    field.clear().await.expect("cleared");
    field.send_keys(text).await.expect("typed");
    // `clear` fires no input event: one more keystroke and back makes the page filter again.
    if text.is_empty() {
        field.send_keys(" ").await.expect("typed");
        field.send_keys(Key::Backspace).await.expect("typed");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_workbench_sorts_filters_searches_by_id_and_charts_the_money() {
    let scratch = tempfile::tempdir().expect("a temp dir");
    let (plan, report) = report(scratch.path());
    let html = std::fs::read_to_string(&report).expect("the report");
    // One self-contained file: nothing to fetch.
    for external in ["src=\"http", "href=\"http", "url(http", "@import", "<link"] {
        assert!(!html.contains(external), "the report refers to something outside: {external}");
    }

    let driver = browser::Driver::start().await;
    let (profile, downloads) = (scratch.path().join("profile"), scratch.path().join("downloads"));
    for folder in [&profile, &downloads] {
        std::fs::create_dir_all(folder).expect("a folder");
    }
    let driver = driver.session(&profile, &downloads).await;
    let checked = check_workbench(&driver, &plan, &report).await;
    driver.quit().await.expect("the session ends");
    checked.unwrap_or_else(|error| panic!("{error}"));
}

async fn check_workbench(driver: &WebDriver, plan: &Plan, report: &Path) -> WebDriverResult<()> {
    driver.goto(format!("file://{}", report.display())).await?;

    // Actions once: one row per action; the log in its own table.
    let kinds = visible(driver, "rows-body", "kind").await;
    assert_eq!(kinds.len(), plan.actions.len(), "one row per action");
    assert!(kinds.iter().all(|kind| !kind.is_empty()), "no log row among the actions: {kinds:?}");
    assert_eq!(visible(driver, "log-body", "code").await.len(), plan.log.len(), "the log, apart");

    // Sorting by amount: the priced changes in ascending order, unpriced and other rows last.
    driver.find(By::Css("th[data-sort=amount] button")).await?.click().await?;
    let amounts = visible(driver, "rows-body", "amount").await;
    let priced: Vec<Decimal> =
        amounts.iter().filter(|a| !a.is_empty()).map(|a| a.parse().expect("a decimal")).collect();
    assert!(priced.is_sorted() && priced.len() == plan.summary.changes(), "{amounts:?}");
    assert!(amounts[priced.len()..].iter().all(String::is_empty), "{amounts:?}");
    assert_eq!(priced.iter().sum::<Decimal>(), plan.summary.monthly_amount_change);
    driver.find(By::Css("th[data-sort=amount] button")).await?.click().await?;
    let descending: Vec<String> =
        visible(driver, "rows-body", "amount").await.into_iter().filter(|a| !a.is_empty()).collect();
    assert_eq!(descending.first().map(|a| a.parse::<Decimal>().expect("a decimal")), priced.last().copied());

    // Each filter: action kind, level, customer; the counts say what shows.
    choose(driver, "kind-filter", "update").await;
    let kinds = visible(driver, "rows-body", "kind").await;
    assert_eq!(kinds.len(), plan.summary.update);
    assert!(kinds.iter().all(|kind| kind == "update"), "{kinds:?}");
    let count = driver.find(By::Id("shown-count")).await?.text().await?;
    assert_eq!(count, format!("{} of {} actions", plan.summary.update, plan.actions.len()));
    choose(driver, "kind-filter", "").await;

    choose(driver, "level-filter", "warning").await;
    let levels = visible(driver, "rows-body", "level").await;
    let warnings = plan.actions.iter().filter(|action| action.code.level().as_str() == "warning").count();
    assert_eq!(levels.len(), warnings);
    assert!(levels.iter().all(|level| level == "warning"), "{levels:?}");
    let log_levels = visible(driver, "log-body", "level").await;
    assert_eq!(log_levels.len(), plan.log.iter().filter(|entry| entry.level.as_str() == "warning").count());
    assert!(log_levels.iter().all(|level| level == "warning"), "{log_levels:?}");
    choose(driver, "level-filter", "").await;

    choose(driver, "customer-filter", "ALPHA").await;
    let customers = visible(driver, "rows-body", "customer").await;
    assert_eq!(
        customers.len(),
        plan.actions.iter().filter(|action| &*action.customer_code == "ALPHA").count()
    );
    assert!(customers.iter().all(|customer| customer == "ALPHA"), "{customers:?}");
    assert!(visible(driver, "log-body", "customer").await.iter().all(|customer| customer == "ALPHA"));
    choose(driver, "customer-filter", "").await;

    // Search by a contract line id: that line's action, and only it.
    let line = plan
        .actions
        .iter()
        .find(|action| action.kind == ActionKind::Update && action.contract_service_id.is_some())
        .expect("an update of a line");
    let line_id = line.contract_service_id.expect("a line id").to_string();
    search(driver, &line_id).await;
    assert_eq!(visible(driver, "rows-body", "line").await, std::slice::from_ref(&line_id));
    search(driver, &format!("line {line_id}")).await;
    assert_eq!(visible(driver, "rows-body", "line").await, std::slice::from_ref(&line_id));
    // And by a company id: every action of that customer.
    let company = line.company_id.expect("a company").to_string();
    search(driver, &company).await;
    let found = visible(driver, "rows-body", "customer").await;
    assert!(!found.is_empty() && found.iter().all(|customer| **customer == *line.customer_code), "{found:?}");
    search(driver, "").await;
    assert_eq!(visible(driver, "rows-body", "kind").await.len(), plan.actions.len());

    // Per-customer subtotals: the plan's, customer by customer.
    let subtotals = driver
        .execute(
            "return Array.from(document.querySelectorAll('#customer-totals tbody tr')).map(r => [r.dataset.customer, r.cells[2].dataset.amount]);",
            Vec::<Value>::new(),
        )
        .await?
        .convert::<Vec<(String, String)>>()?;
    let expected: Vec<(String, String)> = plan
        .summary
        .monthly_amount_change_by_customer
        .iter()
        .map(|(code, amount)| (code.clone(), amount.to_string()))
        .collect();
    assert_eq!(subtotals, expected);

    // The chart: inline SVG, one bar per change of the largest amounts, largest first.
    let bars = driver
        .execute(
            "const svg = document.querySelector('svg#money-chart'); return svg ? Array.from(svg.querySelectorAll('g.bar')).map(g => [g.dataset.amount, g.querySelector('rect').getBBox().width]) : null;",
            Vec::<Value>::new(),
        )
        .await?
        .convert::<Option<Vec<(String, f64)>>>()?
        .expect("an svg#money-chart");
    let mut largest: Vec<Decimal> =
        plan.actions.iter().filter_map(|a| a.monthly_amount_change.flatten()).collect();
    largest.retain(|amount| !amount.is_zero());
    largest.sort_by_key(|amount| std::cmp::Reverse(amount.abs()));
    largest.truncate(10);
    let charted: Vec<Decimal> = bars.iter().map(|(amount, _)| amount.parse().expect("a decimal")).collect();
    assert_eq!(charted, largest);
    assert!(bars.windows(2).all(|pair| pair[0].1 >= pair[1].1 && pair[1].1 > 0.0), "bars shrink: {bars:?}");

    // Nothing was fetched: the page made no request of its own.
    let requests = driver
        .execute("return performance.getEntriesByType('resource').length;", Vec::<Value>::new())
        .await?
        .convert::<u64>()?;
    assert_eq!(requests, 0);
    Ok(())
}
