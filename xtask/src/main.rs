//! `cargo xtask`: the project's own tasks — the test command, generated schemas, scale fixtures,
//! benchmarks (offline `bench`, online `bench-online`).

mod bench;
mod bench_online;
mod test;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};

const USAGE: &str = "usage:
  cargo xtask test [ARGS]                install Chromium and chromedriver when missing (as root,
                                         from Debian), then `cargo test --workspace --locked ARGS`
  cargo xtask schema                     regenerate specs/*.schema.json
  cargo xtask gen --customers N --rows-per-customer M --seed S --out DIR
                                         write a synthetic atria.json + autotask.json + job.yaml
  cargo xtask bench [--runs N]           time `billsync plan` (release build) on 100k and 1M
                                         generated rows beside the parse floor and jq, in turn;
                                         medians, ratios and peak memory vs targets
  cargo xtask bench-online [--customers N] [--rows-per-customer M] [--latency-ms L] [--runs R]
                                         fetch and apply against both mocks with L ms added to
                                         each request: calls vs budgets and a per-customer loop,
                                         apply wall time vs (calls × L ÷ 3)";

// Errors are printed with `{:#}`, not returned from `main`: its `Debug` output would add a
// backtrace wherever RUST_BACKTRACE is set, even for a mistyped task.
fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(error) => {
            eprintln!("xtask: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let done = |outcome: anyhow::Result<()>| outcome.map(|()| ExitCode::SUCCESS);
    match args.first().map(String::as_str) {
        Some("test") => test::run(&args[1..], &workspace_root()),
        Some("schema") => done(schema()),
        Some("gen") => done(gen_command(&args[1..])),
        Some("bench") => done(bench::run(&args[1..])),
        Some("bench-online") => done(bench_online::run(&args[1..])),
        Some("measure-one") => done(bench::measure_one(&args[1..])),
        Some("help" | "--help" | "-h") => {
            println!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        Some(task) => {
            eprintln!("{USAGE}");
            bail!("unknown task `{task}`")
        }
        None => {
            eprintln!("{USAGE}");
            bail!("no task given")
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask sits in the workspace").to_owned()
}

fn schema() -> anyhow::Result<()> {
    for (file, text) in billsync::schemas::all() {
        let path = workspace_root().join("specs").join(file);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// Reads `--name value` pairs.
fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|arg| arg == name).and_then(|index| args.get(index + 1)).cloned()
}

fn number(args: &[String], name: &str) -> anyhow::Result<u64> {
    let text = flag(args, name).with_context(|| format!("{name} is required\n{USAGE}"))?;
    text.parse().with_context(|| format!("{name} `{text}` is not a whole number"))
}

fn gen_command(args: &[String]) -> anyhow::Result<()> {
    let config = billsync::synth::SynthConfig {
        customers: number(args, "--customers")? as usize,
        rows_per_customer: number(args, "--rows-per-customer")? as usize,
        seed: number(args, "--seed")?,
    };
    let out = PathBuf::from(flag(args, "--out").with_context(|| format!("--out is required\n{USAGE}"))?);
    gen_into(config, &out)
}

pub fn gen_into(config: billsync::synth::SynthConfig, out: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let (atria, autotask) = billsync::synth::generate(config);
    let write = |file: &str, bytes: Vec<u8>| {
        let path = out.join(file);
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))
    };
    write("atria.json", serde_json::to_vec(&atria)?)?;
    write("autotask.json", serde_json::to_vec(&autotask)?)?;
    write("job.yaml", billsync::synth::JOB_YAML.as_bytes().to_vec())?;
    println!(
        "wrote {} customers, {} billing rows, {} contract lines to {}",
        atria.customers.len(),
        atria.billing.len(),
        autotask.contract_services.len(),
        out.display()
    );
    Ok(())
}
