//! People, as codes are assigned to them: known by e-mail address (or a
//! token's subject), compared without regard to case or surrounding spaces
//! " Ada@Example.EDU " and "ada@example.edu" are one person.

/// The form a person is stored and compared in: trimmed, lowercase.
pub fn person_key(text: &str) -> String {
    text.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_and_surrounding_spaces_do_not_tell_people_apart() {
        assert_eq!(person_key(" Ada@Example.EDU "), "ada@example.edu");
        assert_eq!(person_key("ÉLODIE@exemple.fr"), "élodie@exemple.fr");
        assert_ne!(person_key("ada@example.edu"), person_key("ada.l@example.edu"));
    }

    /// The migration that rewrote the assignees stored before people were
    /// kept lowercase used its own copy of the rule: the same one.
    #[test]
    fn the_migration_normalizes_people_the_same_way() {
        for text in [" Ada@Example.EDU ", "ÉLODIE@exemple.fr", "ß@x", "\tİstanbul@x ", "bob"] {
            assert_eq!(migration::m20261130_000009_people_lowercase::person_key(text), person_key(text), "{text:?}");
        }
    }
}
