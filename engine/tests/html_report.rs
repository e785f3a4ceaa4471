//! The HTML report in a real headless Chromium, driven through chromedriver with the `thirtyfour`
//! WebDriver client over loopback: sort by code, filter by level, search, and the CSV download.

use std::process::Command;
use std::time::{Duration, Instant};

#[path = "common/browser.rs"]
mod browser;
mod common;

use browser::Driver;
use common::AS_OF;
use thirtyfour::prelude::*;

fn billsync(args: &[&str]) -> Vec<u8> {
    let output = Command::new(env!("CARGO_BIN_EXE_billsync")).args(args).output().expect("billsync runs");
    assert!(output.status.success(), "billsync {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    output.stdout
}

/// The `data-` attribute `name` of every visible table row, in page order.
async fn visible(browser: &WebDriver, name: &str) -> WebDriverResult<Vec<String>> {
    let script = format!(
        "return Array.from(document.querySelectorAll('#rows-body tr')).filter(r => !r.hidden).map(r => r.dataset.{name});"
    );
    browser.execute(script, Vec::new()).await?.convert()
}

async fn click(browser: &WebDriver, css: &str) -> WebDriverResult<()> {
    browser.find(By::Css(css)).await?.click().await
}

#[tokio::test]
async fn html_report_sorts_filters_searches_and_downloads_the_csv() {
    let scratch = tempfile::tempdir().expect("a temp dir");
    let folder = common::fixtures().join("every-code");
    let plan = scratch.path().join("plan.json").to_string_lossy().into_owned();
    let mut args = common::plan_args(
        &folder.join("job.yaml"),
        &folder.join("atria.json"),
        &folder.join("autotask.json"),
        AS_OF,
    );
    args.extend(["--out".to_owned(), plan.clone()]);
    billsync(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let report = scratch.path().join("report.html");
    std::fs::write(&report, billsync(&["show", &plan, "--format", "html"])).expect("write the report");
    let expected_csv = String::from_utf8(billsync(&["show", &plan, "--format", "csv"])).expect("UTF-8");

    let (profile, downloads) = (scratch.path().join("profile"), scratch.path().join("downloads"));
    std::fs::create_dir_all(&downloads).expect("a downloads folder");
    let driver = Driver::start().await;
    let browser = driver.session(&profile, &downloads).await;
    // The session is quit whatever happens inside, then a failed assertion goes on panicking.
    let outcome = browser
        .run_and_quit(|browser| async move {
            browser.goto(format!("file://{}", report.display())).await?;

            // Sorting by code: every AT04 row before every AT09 row, and the codes in order.
            click(&browser, "th[data-sort=code] button").await?;
            let codes = visible(&browser, "code").await?;
            let last_at04 = codes.iter().rposition(|code| code == "AT04").expect("AT04 rows");
            let first_at09 = codes.iter().position(|code| code == "AT09").expect("AT09 rows");
            assert!(last_at04 < first_at09, "{codes:?}");
            assert!(codes.is_sorted(), "{codes:?}");

            // The warning filter shows only warnings, and all of them.
            let all_levels = visible(&browser, "level").await?;
            click(&browser, "#level-filter option[value=warning]").await?;
            let levels = visible(&browser, "level").await?;
            assert!(!levels.is_empty() && levels.iter().all(|level| level == "warning"), "{levels:?}");
            assert_eq!(levels.len(), all_levels.iter().filter(|level| *level == "warning").count());
            click(&browser, "#level-filter option[value='']").await?;
            assert_eq!(visible(&browser, "level").await?.len(), all_levels.len());

            // Searching AT04 shows only the AT04 action (the log has a table of its own).
            browser.find(By::Css("#search")).await?.send_keys("AT04").await?;
            let found = visible(&browser, "code").await?;
            assert_eq!(found, ["AT04"]);

            // The download is the `--format csv` text, byte for byte.
            click(&browser, "#download-csv").await?;
            let started = Instant::now();
            // Chromium may name the file before it has written all of it: wait until it holds at
            // least the expected length (or time out), then compare every byte.
            let downloaded = loop {
                let file = std::fs::read_dir(&downloads)
                    .expect("the downloads folder")
                    .filter_map(Result::ok)
                    .map(|entry| entry.path())
                    .find(|path| path.extension().is_some_and(|extension| extension == "csv"));
                let bytes = file.map(|file| std::fs::read(file).unwrap_or_default());
                match bytes {
                    Some(bytes) if bytes.len() >= expected_csv.len() => break bytes,
                    bytes => assert!(
                        started.elapsed() < Duration::from_secs(20),
                        "no complete CSV was downloaded to {} (read so far: {:?})",
                        downloads.display(),
                        bytes.map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                    ),
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            };
            assert_eq!(String::from_utf8_lossy(&downloaded), expected_csv);
            let in_page: String =
                browser.execute("return window.billsyncDownloadedCsv;", Vec::new()).await?.convert()?;
            assert_eq!(in_page, expected_csv);
            WebDriverResult::Ok(())
        })
        .await;
    if let Err(error) = outcome {
        panic!("the browser: {error}");
    }
}
