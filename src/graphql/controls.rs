//! Control characters in the strings a request brings: refused, in the
//! document's literals and in its variables alike, before anything runs.
//!
//! Why: PostgreSQL cannot store U+0000 in text and answered `INTERNAL`
//! (with an ERROR in its log) from anonymous `program(code:)` on up, while
//! SQLite stored it; other control characters break CSV exports, logs and
//! e-mail headers downstream. Tab, line feed and carriage return are text.
//! One check here covers every argument and input field of every operation
//! on both engines, and the answer is the same on both: `BAD_USER_INPUT`.

use async_graphql::{
    Name, ServerError, Value, Variables,
    parser::{
        Positioned,
        types::{Directive, ExecutableDocument, Field, Selection, SelectionSet},
    },
};

use async_graphql_value::Value as Literal;

use super::limits::coded_error;

/// Whether `c` may not appear in a string a request brings: C0 controls
/// but tab, line feed and carriage return; DEL; C1 controls.
pub fn refused(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

/// The refusal for a control character `c` found in `place`.
pub fn error(c: char, place: &str) -> ServerError {
    coded_error(
        format!(
            "{place} contains the control character U+{:04X}; strings may not contain control characters \
             other than tab, line feed and carriage return",
            u32::from(c)
        ),
        "BAD_USER_INPUT",
    )
}

/// The first refused character in the variables, and where.
pub fn in_variables(variables: &Variables) -> Result<(), ServerError> {
    for (name, value) in variables.iter() {
        if let Some(c) = in_value(value) {
            return Err(error(c, &format!("variable `${name}`")));
        }
    }
    Ok(())
}

/// The first refused character in the document's literal values (field and
/// directive arguments, variables' defaults), and where. Depends on the
/// text alone, so it runs once per distinct text.
pub fn in_document(document: &ExecutableDocument) -> Result<(), ServerError> {
    let mut sets: Vec<&SelectionSet> = Vec::new();
    for (_, operation) in document.operations.iter() {
        let operation = &operation.node;
        for variable in &operation.variable_definitions {
            if let Some(c) = variable.node.default_value.as_ref().and_then(|v| in_value(&v.node)) {
                return Err(error(c, &format!("the default of `${}`", variable.node.name.node)));
            }
            directives(&variable.node.directives)?;
        }
        directives(&operation.directives)?;
        sets.push(&operation.selection_set.node);
    }
    for fragment in document.fragments.values() {
        directives(&fragment.node.directives)?;
        sets.push(&fragment.node.selection_set.node);
    }
    // Iterative: selection sets nest as deep as the text allows.
    while let Some(set) = sets.pop() {
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => {
                    field_arguments(&field.node)?;
                    directives(&field.node.directives)?;
                    sets.push(&field.node.selection_set.node);
                }
                Selection::InlineFragment(fragment) => {
                    directives(&fragment.node.directives)?;
                    sets.push(&fragment.node.selection_set.node);
                }
                Selection::FragmentSpread(spread) => directives(&spread.node.directives)?,
            }
        }
    }
    Ok(())
}

fn field_arguments(field: &Field) -> Result<(), ServerError> {
    arguments(&field.arguments, &format!("argument of `{}`", field.name.node))
}

fn directives(directives: &[Positioned<Directive>]) -> Result<(), ServerError> {
    for directive in directives {
        arguments(&directive.node.arguments, &format!("argument of `@{}`", directive.node.name.node))?;
    }
    Ok(())
}

fn arguments(arguments: &[(Positioned<Name>, Positioned<Literal>)], place: &str) -> Result<(), ServerError> {
    for (name, value) in arguments {
        if let Some(c) = in_literal(&value.node) {
            return Err(error(c, &format!("the `{}` {place}", name.node)));
        }
    }
    Ok(())
}

/// [`in_value`] for a literal, whose variables are checked with the
/// variables' values.
fn in_literal(value: &Literal) -> Option<char> {
    let text = |s: &str| s.chars().find(|&c| refused(c));
    match value {
        Literal::String(s) => text(s),
        Literal::Enum(name) => text(name),
        Literal::List(items) => items.iter().find_map(in_literal),
        Literal::Object(fields) => fields.iter().find_map(|(key, v)| text(key).or_else(|| in_literal(v))),
        Literal::Variable(_) | Literal::Null | Literal::Number(_) | Literal::Boolean(_) | Literal::Binary(_) => None,
    }
}

/// The first refused character in a value: its strings, enum names and
/// object keys. Values nest no deeper than the text or JSON they came
/// from, which the pre-scan bounds, so this recursion is bounded too.
fn in_value(value: &Value) -> Option<char> {
    let text = |s: &str| s.chars().find(|&c| refused(c));
    match value {
        Value::String(s) => text(s),
        Value::Enum(name) => text(name),
        Value::List(items) => items.iter().find_map(in_value),
        Value::Object(fields) => fields.iter().find_map(|(key, v)| text(key).or_else(|| in_value(v))),
        Value::Null | Value::Number(_) | Value::Boolean(_) | Value::Binary(_) => None,
    }
}
