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
}
