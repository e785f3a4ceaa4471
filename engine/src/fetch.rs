//! `billsync fetch`: both snapshots from the live APIs with the fewest calls.
//!
//! Secrets first (every one, before any request), then Atria (the period, then all its
//! customers and all summary rows, billable or not: compile needs every customer for the filter
//! and AT28), then Autotask, reading what is reachable from the Atria customers in scope:
//!
//! 1. zone discovery, unless `baseUrl` is set;
//! 2. Companies `id in` the billing identifiers (`companyNumber in` with `customerMatch:
//!    companyNumber`);
//! 3. Contracts `companyID in` those companies, every type and status (compile filters them),
//!    plus `id in` override contracts not found that way;
//! 4. ContractServices and ContractServiceUnits `contractID in` those contracts, side by side;
//! 5. Services: with `skuType: serviceId`, `id in` the services of the lines, the `skuMap`
//!    targets and the in-scope SKUs that parse as ids; with a name-like `skuType` every service
//!    (`id gte 0`), because a name can only be matched against the whole catalogue.
//!
//! Each step is ⌈n/500⌉ queries (an `in` chunk holds 500 ids and a page 500 rows), so a fetch
//! costs about 1 + Σ⌈n/500⌉ Autotask calls, against about 4 per customer for a loop.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use thiserror::Error;

use crate::atria::{AtriaClient, AtriaError};
use crate::autotask::{AutotaskClient, ClientError, ClientOptions, wire};
use crate::codes::Code;
use crate::problems::{Problem, Problems};
use crate::secrets::{self, AutotaskCredentials, Scrubber, SecretErrors};
use crate::snapshot::{self, AUTOTASK_FORMAT, AtriaSnapshot, AutotaskSnapshot};
use crate::spec::{CustomerMatch, JobSpec, SkuField};

#[derive(Debug, Error)]
pub enum FetchError {
    #[error("{code} the job spec has no `{section}` section; online commands need it")]
    MissingSection { section: &'static str, code: Code },
    #[error(transparent)]
    Secrets(#[from] SecretErrors),
    #[error(transparent)]
    Atria(#[from] AtriaError),
    #[error(transparent)]
    Autotask(#[from] ClientError),
    /// A fetched snapshot that does not pass the offline core's own validation.
    #[error(
        "AT23 Failed to Deserialize object: Error reported was: the fetched `{file}` is not valid:\n{problems}"
    )]
    Invalid { file: &'static str, problems: Problems },
}

impl FetchError {
    pub fn code(&self) -> Code {
        match self {
            FetchError::MissingSection { code, .. } => *code,
            FetchError::Secrets(errors) => errors.code(),
            FetchError::Atria(error) => error.code(),
            FetchError::Autotask(error) => error.code(),
            FetchError::Invalid { .. } => Code::AT23,
        }
    }
}

/// What a fetch read, and what it cost.
#[derive(Clone, Debug)]
pub struct Fetched {
    pub atria: AtriaSnapshot,
    pub autotask: AutotaskSnapshot,
    pub atria_requests: u64,
    pub autotask_requests: u64,
    /// The credentials' forms, so that a problem quoting a fetched value never shows one.
    scrubber: Scrubber,
}

/// The two snapshot files, serialized and checked by re-parsing them as the offline core does.
pub struct SnapshotFiles {
    pub atria: Vec<u8>,
    pub autotask: Vec<u8>,
}

impl Fetched {
    /// What was read and what it cost, on one line.
    pub fn summary(&self) -> String {
        format!(
            "{} customers, {} billing rows ({} Atria calls); {} companies, {} contracts, {} lines, {} unit rows, {} services ({} Autotask calls)",
            self.atria.customers.len(),
            self.atria.billing.len(),
            self.atria_requests,
            self.autotask.companies.len(),
            self.autotask.contracts.len(),
            self.autotask.contract_services.len(),
            self.autotask.contract_service_units.len(),
            self.autotask.services.len(),
            self.autotask_requests,
        )
    }

    pub fn to_files(&self) -> Result<SnapshotFiles, FetchError> {
        let invalid = |file: &'static str| {
            move |error: serde_json::Error| FetchError::Invalid {
                file,
                problems: Problems::one(Problem::at("$", error.to_string())),
            }
        };
        let mut atria = serde_json::to_vec_pretty(&self.atria).map_err(invalid("atria.json"))?;
        let mut autotask = serde_json::to_vec_pretty(&self.autotask).map_err(invalid("autotask.json"))?;
        atria.push(b'\n');
        autotask.push(b'\n');
        // A problem may quote what the server sent, and a server may echo a credential.
        let scrubbed = |file: &'static str| {
            move |problems: Problems| {
                let mut clean = Problems::default();
                for problem in problems.iter() {
                    clean.push(Problem {
                        file: problem.file.clone(),
                        place: self.scrubber.scrub(&problem.place),
                        message: self.scrubber.scrub(&problem.message),
                    });
                }
                FetchError::Invalid { file, problems: clean }
            }
        };
        snapshot::parse_atria(&atria).map_err(scrubbed("atria.json"))?;
        snapshot::parse_autotask(&autotask).map_err(scrubbed("autotask.json"))?;
        Ok(SnapshotFiles { atria, autotask })
    }
}

/// Fetches both snapshots for a job.
pub async fn fetch(spec: &JobSpec, options: ClientOptions) -> Result<Fetched, FetchError> {
    let atria_connection =
        spec.atria.as_ref().ok_or(FetchError::MissingSection { section: "atria", code: Code::AT03 })?;
    let autotask_connection =
        spec.autotask.as_ref().ok_or(FetchError::MissingSection { section: "autotask", code: Code::AT02 })?;
    // Every secret before any request, every missing one named at once.
    let token = secrets::resolve("atria.token", &atria_connection.token);
    let credentials = AutotaskCredentials::resolve(autotask_connection);
    let (token, credentials) = match (token, credentials) {
        (Ok(token), Ok(credentials)) => (token, credentials),
        (token, credentials) => {
            let mut errors = token.err().into_iter().collect::<Vec<_>>();
            errors.extend(credentials.err().map(|errors| errors.0).unwrap_or_default());
            return Err(SecretErrors(errors).into());
        }
    };

    let scrubber =
        Scrubber::new([&token, &credentials.username, &credentials.secret, &credentials.integration_code]);
    let atria_client = AtriaClient::connect(atria_connection, token, options)?;
    let atria = atria_client.snapshot(spec.billing_period).await?;

    let autotask_client = AutotaskClient::connect(autotask_connection, credentials, options).await?;
    let autotask = fetch_autotask(&autotask_client, spec, &atria).await?;
    Ok(Fetched {
        atria,
        autotask,
        atria_requests: atria_client.request_count(),
        autotask_requests: autotask_client.request_count(),
        scrubber,
    })
}

/// The Autotask entities reachable from the Atria customers in scope (module docs).
pub async fn fetch_autotask(
    client: &AutotaskClient,
    spec: &JobSpec,
    atria: &AtriaSnapshot,
) -> Result<AutotaskSnapshot, ClientError> {
    let filter: BTreeSet<&str> = spec.customers.iter().map(|code| code.trim()).collect();
    let in_scope = |code: &str| {
        (filter.is_empty() || filter.contains(code.trim()))
            && !spec.overrides.get(code.trim()).is_some_and(|customer_override| customer_override.skip)
    };
    let identifiers: BTreeSet<&str> = atria
        .customers
        .iter()
        .filter(|customer| in_scope(&customer.short_name))
        .filter_map(|customer| customer.billing_identifier.as_deref().map(str::trim))
        .filter(|identifier| !identifier.is_empty())
        .collect();

    let companies: Vec<wire::Company> = match spec.customer_match {
        CustomerMatch::Id => {
            let ids: Vec<i64> = identifiers.iter().filter_map(|id| id.parse().ok()).collect();
            client.query_in("Companies", "id", &ids).await?
        }
        CustomerMatch::CompanyNumber => {
            let numbers: Vec<Value> = identifiers.iter().map(|number| json!(number)).collect();
            client.query_in_values("Companies", "companyNumber", numbers).await?
        }
    };
    let company_ids: Vec<i64> = companies.iter().map(|company| company.id).collect();

    let mut contracts: Vec<wire::Contract> = client.query_in("Contracts", "companyID", &company_ids).await?;
    let found: BTreeSet<i64> = contracts.iter().map(|contract| contract.id).collect();
    let overridden: Vec<i64> = spec
        .overrides
        .iter()
        .filter(|(code, _)| in_scope(code))
        .filter_map(|(_, customer_override)| customer_override.contract_id)
        .filter(|id| !found.contains(id))
        .collect();
    if !overridden.is_empty() {
        contracts.extend(client.query_in::<wire::Contract>("Contracts", "id", &overridden).await?);
        contracts.sort_by_key(|contract| contract.id);
        contracts.dedup_by_key(|contract| contract.id);
    }
    let contract_ids: Vec<i64> = contracts.iter().map(|contract| contract.id).collect();

    let (lines, units) = tokio::try_join!(
        client.query_in::<wire::ContractService>("ContractServices", "contractID", &contract_ids),
        client.query_in::<wire::ContractServiceUnit>("ContractServiceUnits", "contractID", &contract_ids),
    )?;

    let services: Vec<wire::Service> = if spec.sku_type.name == SkuField::ServiceId {
        let mut ids: BTreeSet<i64> = lines.iter().map(|line| line.service_id).collect();
        ids.extend(spec.sku_map.values().copied());
        ids.extend(
            atria
                .billing
                .iter()
                .filter(|row| in_scope(&row.customer_code))
                .filter_map(|row| row.product_sku.as_deref())
                .filter_map(|sku| sku.trim().parse::<i64>().ok()),
        );
        client.query_in("Services", "id", &ids.into_iter().collect::<Vec<_>>()).await?
    } else {
        client.query("Services", json!([{ "op": "gte", "field": "id", "value": 0 }])).await?
    };

    Ok(AutotaskSnapshot {
        format: AUTOTASK_FORMAT.to_owned(),
        companies: companies.into_iter().map(Into::into).collect(),
        contracts: contracts.into_iter().map(Into::into).collect(),
        services: services.into_iter().map(Into::into).collect(),
        contract_services: lines.into_iter().map(Into::into).collect(),
        contract_service_units: units.into_iter().map(Into::into).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::Secret;

    /// A fetched snapshot that fails validation is reported with what the server sent, and the
    /// server may have sent a credential: the report never shows one, nor a piece of one.
    #[test]
    fn an_invalid_fetched_snapshot_is_reported_without_the_credentials() {
        let canary = "canary-S3cr3t-\"quoted\"-and-long-enough";
        let seed = include_str!("../../fixtures/seed-example/atria.json");
        let mut atria = snapshot::parse_atria(seed.as_bytes()).expect("the seed parses");
        atria.billing[0].customer_code = format!("echo {canary} echo").into();
        let autotask = include_str!("../../fixtures/seed-example/autotask.json");
        let fetched = Fetched {
            atria,
            autotask: snapshot::parse_autotask(autotask.as_bytes()).expect("the seed parses"),
            atria_requests: 0,
            autotask_requests: 0,
            scrubber: Scrubber::new([&Secret::new(canary)]),
        };
        let Err(error) = fetched.to_files() else { panic!("the snapshot is invalid") };
        let text = error.to_string();
        assert!(text.contains("is not in `customers`"), "{text}");
        for piece in canary.as_bytes().windows(8) {
            let piece = std::str::from_utf8(piece).expect("ASCII");
            assert!(!text.contains(piece), "`{piece}` of the secret in: {text}");
        }
    }
}
