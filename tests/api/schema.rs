//! The committed SDL must match the code.

#[test]
fn schema_graphql_matches_the_code() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql"))
        .expect("schema.graphql exists at the top level");
    let current = licensegraph::graphql::sdl();
    assert!(
        committed == current,
        "schema.graphql is out of date: run `cargo run -- schema > schema.graphql` and commit it"
    );
}

#[test]
fn every_type_field_and_enum_value_is_documented() {
    // STYLE habit 4: the SDL doubles as GraphiQL's documentation. A
    // definition, field or enum value without a doc comment shows up as a
    // line not preceded by a closing `"""`. Connection types are generated
    // by async-graphql, which gives them no description; they are exempt.
    let sdl = licensegraph::graphql::sdl();
    let mut previous = "";
    let mut in_description = false;
    let mut in_exempt = false;
    let mut undocumented = Vec::new();
    for line in sdl.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("\"\"\"") {
            let one_line = trimmed.len() > 3 && trimmed.ends_with("\"\"\"");
            if !one_line {
                in_description = !in_description;
            }
            previous = line;
            continue;
        }
        if in_description {
            continue;
        }
        if line.starts_with("schema ") || (line.starts_with("type ") && line.contains("Connection ")) {
            in_exempt = true;
        }
        let is_definition =
            ["type ", "input ", "enum ", "interface ", "union ", "scalar "].iter().any(|kw| line.starts_with(kw));
        let is_member = line.starts_with('\t')
            && !line.starts_with("\t\t")
            && trimmed.starts_with(|c: char| c.is_ascii_alphabetic());
        let is_root = line.starts_with("type Query") || line.starts_with("type Mutation");
        if !in_exempt && (is_definition && !is_root || is_member) && previous.trim() != "\"\"\"" {
            undocumented.push(trimmed.to_owned());
        }
        if trimmed == "}" {
            in_exempt = false;
        }
        previous = line;
    }
    assert!(undocumented.is_empty(), "undocumented in the SDL: {undocumented:#?}");
}

#[test]
fn every_refusal_code_is_listed_in_docs_errors_md() {
    // Clients switch on `userErrors.code`: each value of `UserErrorCode` is
    // explained in docs/errors.md.
    let sdl = licensegraph::graphql::sdl();
    let listed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/errors.md")).expect("docs/errors.md");
    let start = sdl.find("enum UserErrorCode {").expect("UserErrorCode in the SDL");
    let body = &sdl[start..start + sdl[start..].find("\n}").expect("end of enum")];
    let values: Vec<&str> = body
        .lines()
        .skip(1)
        .map(str::trim)
        .filter(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        .collect();
    assert!(values.len() > 40, "{values:?}");
    let missing: Vec<&&str> = values.iter().filter(|v| !listed.contains(&format!("| `{v}` |"))).collect();
    assert!(missing.is_empty(), "docs/errors.md lacks {missing:?}");
}

#[tokio::test]
async fn migrations_apply_to_a_new_sqlite_file_through_a_pool() {
    // The embedded default: a file, several pooled connections. A migration
    // that rebuilds a table must not have its statements spread over
    // connections with different views of the schema (it failed every
    // start this way while the in-memory test database passed).
    let dir = std::env::temp_dir().join(format!("licensegraph-migrate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let url = format!("sqlite://{}/fresh.db", dir.display());
    let clock = licensegraph::clock::FixedClock::at(crate::helpers::default_now());
    for start in 0..2 {
        let db = licensegraph::prepare_database(&url, 8, &clock).await;
        assert!(db.is_ok(), "start {start}: {:?}", db.err());
    }
    std::fs::remove_dir_all(&dir).ok();
}
