//! The committed JSON Schemas in `specs/` must equal what the types generate.

use std::path::Path;

#[test]
fn committed_schemas_are_up_to_date() {
    let specs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs");
    for (file, generated) in billsync::schemas::all() {
        let committed = std::fs::read_to_string(specs.join(file)).unwrap_or_default();
        assert!(
            committed == generated,
            "specs/{file} is stale: run `cargo xtask schema` and commit the result"
        );
    }
}

#[test]
fn example_specs_validate() {
    let specs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs");
    let mut seen = 0;
    for entry in std::fs::read_dir(&specs).expect("specs/ exists") {
        let path = entry.expect("a directory entry").path();
        if path.extension().is_some_and(|extension| extension == "yaml") {
            billsync::spec::load(&path).unwrap_or_else(|problems| panic!("{problems}"));
            seen += 1;
        }
    }
    assert!(seen >= 3, "specs/ holds the example specs");
}
