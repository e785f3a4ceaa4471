//! The HTML report in a real headless Chromium, driven through chromedriver (W3C WebDriver over
//! loopback HTTP): sort by code, filter by level, search, and the CSV download.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::AS_OF;
use serde_json::{Value, json};

const INSTALL: &str = "apt-get update && apt-get install -y --no-install-recommends chromium chromium-driver";
/// The W3C WebDriver key of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn billsync(args: &[&str]) -> Vec<u8> {
    let output = Command::new(env!("CARGO_BIN_EXE_billsync")).args(args).output().expect("billsync runs");
    assert!(output.status.success(), "billsync {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    output.stdout
}

/// A program on PATH, or a failure that says how to install it (never a silent skip).
fn required(program: &str) -> PathBuf {
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join(program))
        .find(|path| path.is_file());
    found.unwrap_or_else(|| panic!("`{program}` is not installed; the HTML report test needs it: {INSTALL}"))
}

/// chromedriver on a free loopback port, killed when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    fn start() -> Driver {
        let chromedriver = required("chromedriver");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a port")
            .port();
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let driver = Driver { child, port };
        let started = Instant::now();
        while driver
            .request("GET", "/status", None)
            .map(|status| status["value"]["ready"] != true)
            .unwrap_or(true)
        {
            assert!(started.elapsed() < Duration::from_secs(20), "chromedriver did not become ready");
            std::thread::sleep(Duration::from_millis(100));
        }
        driver
    }

    /// One HTTP/1.1 request with `Connection: close`; the JSON body of the answer.
    fn request(&self, method: &str, path: &str, body: Option<&Value>) -> std::io::Result<Value> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
        stream.set_read_timeout(Some(Duration::from_secs(60)))?;
        let body = body.map(Value::to_string).unwrap_or_default();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.port,
            body.len()
        )?;
        // chromedriver may keep the connection open: read the head, then Content-Length bytes.
        let mut response = Vec::new();
        let mut buffer = [0u8; 65_536];
        let head_end = loop {
            if let Some(end) = response.windows(4).position(|window| window == b"\r\n\r\n") {
                break end + 4;
            }
            let read = stream.read(&mut buffer)?;
            if read == 0 {
                return Err(std::io::Error::other("the connection closed before the headers ended"));
            }
            response.extend_from_slice(&buffer[..read]);
        };
        let head = String::from_utf8_lossy(&response[..head_end]).to_ascii_lowercase();
        let length = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .and_then(|length| length.trim().parse::<usize>().ok());
        match length {
            Some(length) => {
                while response.len() < head_end + length {
                    let read = stream.read(&mut buffer)?;
                    if read == 0 {
                        break;
                    }
                    response.extend_from_slice(&buffer[..read]);
                }
            }
            None => {
                stream.read_to_end(&mut response)?;
            }
        }
        let content = String::from_utf8_lossy(&response[head_end..]).into_owned();
        let content = if head.contains("transfer-encoding: chunked") { dechunk(&content) } else { content };
        serde_json::from_str(&content).map_err(std::io::Error::other)
    }
}

fn dechunk(mut chunked: &str) -> String {
    let mut body = String::new();
    while let Some((size, rest)) = chunked.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 || rest.len() < size {
            break;
        }
        body.push_str(&rest[..size]);
        chunked = rest[size..].trim_start_matches("\r\n");
    }
    body
}

/// A browser session on the driver.
struct Session<'a> {
    driver: &'a Driver,
    id: String,
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        let _ = self.driver.request("DELETE", &format!("/session/{}", self.id), None);
    }
}

impl<'a> Session<'a> {
    fn new(driver: &'a Driver, profile: &Path, downloads: &Path) -> Session<'a> {
        let chromium = required("chromium");
        let capabilities = json!({"capabilities": {"alwaysMatch": {"goog:chromeOptions": {
            "binary": chromium,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--window-size=1400,1000",
                format!("--user-data-dir={}", profile.display()),
            ],
            "prefs": {
                "download.default_directory": downloads,
                "download.prompt_for_download": false,
                "download.directory_upgrade": true,
            },
        }}}});
        let answer = driver.request("POST", "/session", Some(&capabilities)).expect("chromedriver answers");
        let id = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no browser session (is `chromium` working? {INSTALL}): {answer}"))
            .to_owned();
        Session { driver, id }
    }

    fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let path = format!("/session/{}{path}", self.id);
        let answer = self.driver.request(method, &path, Some(&body)).expect("chromedriver answers");
        assert!(answer["value"]["error"].is_null(), "{method} {path}: {answer}");
        answer["value"].clone()
    }

    fn run(&self, script: &str) -> Value {
        self.call("POST", "/execute/sync", json!({"script": script, "args": []}))
    }

    fn element(&self, css: &str) -> String {
        let found = self.call("POST", "/element", json!({"using": "css selector", "value": css}));
        found[ELEMENT].as_str().unwrap_or_else(|| panic!("no element `{css}`")).to_owned()
    }

    fn click(&self, css: &str) {
        let element = self.element(css);
        self.call("POST", &format!("/element/{element}/click"), json!({}));
    }

    fn type_into(&self, css: &str, text: &str) {
        let element = self.element(css);
        self.call("POST", &format!("/element/{element}/value"), json!({"text": text}));
    }

    /// The `data-` attribute `name` of every visible table row, in page order.
    fn visible(&self, name: &str) -> Vec<String> {
        let script = format!(
            "return Array.from(document.querySelectorAll('#rows-body tr')).filter(r => !r.hidden).map(r => r.dataset.{name});"
        );
        let values = self.run(&script);
        values
            .as_array()
            .expect("a list")
            .iter()
            .map(|value| value.as_str().unwrap_or_default().to_owned())
            .collect()
    }
}

#[test]
fn html_report_sorts_filters_searches_and_downloads_the_csv() {
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
    let expected_csv = billsync(&["show", &plan, "--format", "csv"]);

    let (profile, downloads) = (scratch.path().join("profile"), scratch.path().join("downloads"));
    std::fs::create_dir_all(&downloads).expect("a downloads folder");
    let driver = Driver::start();
    let session = Session::new(&driver, &profile, &downloads);
    session.call("POST", "/url", json!({"url": format!("file://{}", report.display())}));

    // Sorting by code: every AT04 row before every AT09 row, and the codes in order.
    session.click("th[data-sort=code] button");
    let codes = session.visible("code");
    let last_at04 = codes.iter().rposition(|code| code == "AT04").expect("AT04 rows");
    let first_at09 = codes.iter().position(|code| code == "AT09").expect("AT09 rows");
    assert!(last_at04 < first_at09, "{codes:?}");
    assert!(codes.is_sorted(), "{codes:?}");

    // The warning filter shows only warnings, and all of them.
    let all_levels = session.visible("level");
    session.click("#level-filter option[value=warning]");
    let levels = session.visible("level");
    assert!(!levels.is_empty() && levels.iter().all(|level| level == "warning"), "{levels:?}");
    assert_eq!(levels.len(), all_levels.iter().filter(|level| *level == "warning").count());
    session.click("#level-filter option[value='']");
    assert_eq!(session.visible("level").len(), all_levels.len());

    // Searching AT04 shows only the AT04 action (the log has a table of its own).
    session.type_into("#search", "AT04");
    let found = session.visible("code");
    assert_eq!(found, ["AT04"]);

    // The download is the `--format csv` text, byte for byte.
    session.click("#download-csv");
    let started = Instant::now();
    let downloaded = loop {
        let done = std::fs::read_dir(&downloads)
            .expect("the downloads folder")
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .find(|path| path.extension().is_some_and(|extension| extension == "csv"));
        if let Some(file) = done {
            break std::fs::read(file).expect("the downloaded file");
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no CSV was downloaded to {}",
            downloads.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(String::from_utf8_lossy(&downloaded), String::from_utf8_lossy(&expected_csv));
    assert_eq!(
        session.run("return window.billsyncDownloadedCsv;"),
        json!(String::from_utf8_lossy(&expected_csv))
    );
}
