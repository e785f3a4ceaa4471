//! Test controls under `/__mock/*` (no auth): state dump, faults, reset, clock, stats,
//! the nightly recalculation and reseeding.

use crate::seed::AtriaSnapshot;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Router, http::StatusCode};
use chrono::NaiveDate;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::config::MockConfig;
use crate::error::AppError;
use crate::faults::{ActiveFault, FaultRule};
use crate::periods;
use crate::state::{AppState, RecalculateOptions, Recalculation, StateDump, Stats, World};
use crate::wire::PeriodView;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/__mock/state", get(state_dump))
        .route("/__mock/faults", get(list_faults).post(add_faults).delete(clear_faults))
        .route("/__mock/reset", post(reset))
        .route("/__mock/clock", get(get_clock).post(set_clock))
        .route("/__mock/stats", get(stats))
        .route("/__mock/recalculate", post(recalculate))
        .route("/__mock/seed", post(seed))
}

/// Control bodies are parsed by hand so that an empty body means "defaults" and a bad one gets
/// the API's error shape.
fn parse_body<T: DeserializeOwned + Default>(body: &Bytes) -> Result<T, AppError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|err| AppError::invalid_body(format!("invalid JSON body: {err}")))
}

async fn state_dump(State(state): State<AppState>) -> Json<StateDump> {
    Json(state.with_world(|world| world.dump()))
}

/// `GET|POST|DELETE /__mock/faults` answer the rules now in force.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaultList {
    pub faults: Vec<ActiveFault>,
}

/// One rule, or several as an array.
#[derive(Deserialize)]
#[serde(untagged)]
enum FaultBody {
    Many(Vec<FaultRule>),
    One(Box<FaultRule>),
}

impl Default for FaultBody {
    fn default() -> FaultBody {
        FaultBody::Many(Vec::new())
    }
}

async fn list_faults(State(state): State<AppState>) -> Json<FaultList> {
    Json(FaultList { faults: state.with_world(|world| world.faults.clone()) })
}

async fn add_faults(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<(StatusCode, Json<FaultList>), AppError> {
    let rules = match parse_body::<FaultBody>(&body)? {
        FaultBody::Many(rules) => rules,
        FaultBody::One(rule) => vec![*rule],
    };
    if rules.is_empty() {
        return Err(AppError::invalid_body("post a fault rule or an array of them"));
    }
    for rule in &rules {
        rule.validate()?;
    }
    let faults = state.with_world(|world| {
        for rule in rules {
            let id = world.next_fault_id;
            world.next_fault_id += 1;
            world.faults.push(ActiveFault { id, rule, seen: 0, fired: 0 });
        }
        world.faults.clone()
    });
    Ok((StatusCode::CREATED, Json(FaultList { faults })))
}

async fn clear_faults(State(state): State<AppState>) -> Json<FaultList> {
    state.with_world(|world| world.faults.clear());
    Json(FaultList { faults: Vec::new() })
}

async fn reset(State(state): State<AppState>) -> Json<StateDump> {
    state.reset();
    Json(state.with_world(|world| world.dump()))
}

/// The mock clock and what it makes of the periods.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClockView {
    pub today: NaiveDate,
    pub current_period: Option<PeriodView>,
    pub previous_period: Option<PeriodView>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockBody {
    today: Option<NaiveDate>,
}

fn clock_view(world: &World) -> ClockView {
    ClockView {
        today: world.clock,
        current_period: periods::current(&world.periods, world.clock).map(|period| period.view(world.clock)),
        previous_period: periods::previous(&world.periods, world.clock)
            .map(|period| period.view(world.clock)),
    }
}

async fn get_clock(State(state): State<AppState>) -> Json<ClockView> {
    Json(state.with_world(|world| clock_view(world)))
}

async fn set_clock(State(state): State<AppState>, body: Bytes) -> Result<Json<ClockView>, AppError> {
    let today = parse_body::<ClockBody>(&body)?
        .today
        .ok_or_else(|| AppError::invalid_body("post `{\"today\": \"YYYY-MM-DD\"}`"))?;
    Ok(Json(state.with_world(|world| {
        world.clock = today;
        clock_view(world)
    })))
}

async fn stats(State(state): State<AppState>) -> Json<Stats> {
    Json(state.stats())
}

async fn recalculate(State(state): State<AppState>, body: Bytes) -> Result<Json<Recalculation>, AppError> {
    let options = parse_body::<RecalculateOptions>(&body)?;
    state.recalculate(options).map(Json)
}

/// One snapshot or an array of them: replaces the seed (and the reset baseline), keeping the
/// tokens and RNG seed; the clock goes back to its default for the new periods. A bad snapshot is
/// refused naming its JSON path (`$[1].billing[0].customerCode: …` inside an array).
async fn seed(State(state): State<AppState>, body: Bytes) -> Result<Json<StateDump>, AppError> {
    let value: serde_json::Value = parse_body(&body)?;
    let (items, prefix): (Vec<&serde_json::Value>, bool) = match &value {
        serde_json::Value::Array(items) => (items.iter().collect(), true),
        serde_json::Value::Null => (Vec::new(), false),
        one => (vec![one], false),
    };
    let mut snapshots: Vec<AtriaSnapshot> = Vec::new();
    let mut problems = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        match crate::seed::from_value(item) {
            Ok(snapshot) => snapshots.push(snapshot),
            Err(found) if prefix => {
                problems.extend(
                    found.into_iter().map(|problem| problem.replacen('$', &format!("$[{index}]"), 1)),
                );
            }
            Err(found) => problems.extend(found),
        }
    }
    if !problems.is_empty() {
        return Err(AppError::invalid_body(problems.join("; ")));
    }
    state.with_world(|world| {
        let config = MockConfig { periods: snapshots, clock: None, ..world.baseline.clone() };
        let fresh = World::new(config).map_err(|err| AppError::invalid_body(err.to_string()))?;
        *world = fresh;
        Ok(Json(world.dump()))
    })
}
