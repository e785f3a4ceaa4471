//! No input makes billsync panic: random bytes, and the fixtures cut short or with a byte
//! changed, go through every parser and come back as `Ok` or as located problems.

use billsync::plan::Plan;
use billsync::snapshot::{parse_atria, parse_autotask};
use proptest::prelude::*;
use proptest::sample::Index;

const SPEC: &str = include_str!("../../fixtures/every-code/job.yaml");
const ATRIA: &str = include_str!("../../fixtures/every-code/atria.json");
const AUTOTASK: &str = include_str!("../../fixtures/seed-example/autotask.json");

/// A fixture with one byte replaced and maybe cut short.
fn damaged(text: &'static str) -> impl Strategy<Value = Vec<u8>> {
    (any::<Index>(), any::<u8>(), any::<Option<Index>>()).prop_map(move |(at, byte, cut)| {
        let mut bytes = text.as_bytes().to_vec();
        let at = at.index(bytes.len());
        bytes[at] = byte;
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len()));
        }
        bytes
    })
}

fn every_parser(bytes: &[u8]) {
    if let Ok(text) = std::str::from_utf8(bytes) {
        if let Err(problems) = billsync::spec::parse(text) {
            assert!(!problems.is_empty());
        }
        let _ = billsync::spec::import_legacy(text, Some(text));
    }
    for problems in [parse_atria(bytes).err(), parse_autotask(bytes).err(), Plan::from_json(bytes).err()]
        .into_iter()
        .flatten()
    {
        assert!(problems.iter().all(|problem| !problem.message.is_empty()));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        every_parser(&bytes);
    }

    #[test]
    fn damaged_spec(bytes in damaged(SPEC)) {
        every_parser(&bytes);
    }

    #[test]
    fn damaged_snapshots(atria in damaged(ATRIA), autotask in damaged(AUTOTASK)) {
        every_parser(&atria);
        every_parser(&autotask);
    }
}
