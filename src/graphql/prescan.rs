//! Linear scans of request text that run before any recursive parser sees
//! it: the lexical token count and the nesting of `{ [ (` in a GraphQL
//! document, and the nesting of `{ [` in a JSON body.
//!
//! Why: async-graphql's parser (pest) and serde_json recurse once per level
//! of nesting, and so do the validation, coercion and drop of the trees
//! they build. 1 600 nested brackets in a 3 KB query overflowed a worker
//! thread's stack and aborted the whole process. These scans walk the text
//! once, with no recursion and no allocation, and refuse it at the first
//! level past the bound: nothing downstream ever sees a deeper tree.
//!
//! Strings, block strings and comments are skipped exactly as the lexer
//! skips them, so brackets inside them neither count nor hide real ones.

/// Why a text was refused, with the bound it passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// More than this many lexical tokens.
    Tokens(usize),
    /// Brackets, braces or parentheses nested deeper than this.
    Nesting(usize),
}

impl Refusal {
    /// The message a client reads: which limit, and its value.
    pub fn message(self, what: &str) -> String {
        match self {
            Self::Tokens(max) => format!("the {what} has more than {max} tokens (limit max_tokens = {max})"),
            Self::Nesting(max) => {
                format!(
                    "the {what} nests brackets, braces or parentheses deeper than {max} levels (limit max_nesting = {max})"
                )
            }
        }
    }
}

/// Scans a GraphQL document: at most `max_tokens` lexical tokens (names,
/// numbers, strings, punctuators; whitespace, commas and comments are not
/// tokens) and `{ [ (` nested at most `max_nesting` deep. Malformed text is
/// counted one character per token; the parser reports it afterwards.
pub fn graphql(text: &str, max_tokens: usize, max_nesting: usize) -> Result<(), Refusal> {
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut tokens = 0usize;
    let mut depth = 0usize;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => {
                i += 1;
                continue;
            }
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
                continue;
            }
            b'"' => {
                if bytes[i..].starts_with(b"\"\"\"") {
                    let start = i;
                    i += 3;
                    while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                        i += if bytes[i..].starts_with(b"\\\"\"\"") { 4 } else { 1 };
                    }
                    if i >= bytes.len() {
                        // Unterminated: the parser does not fail here, it
                        // falls back to reading `""` as an empty string and
                        // goes on. So must the scan, or everything after
                        // would hide from it (`[""""[[[[...` nested freely).
                        i = start + 2;
                    } else {
                        i += 3;
                    }
                } else {
                    i += 1;
                    while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                        i += if bytes[i] == b'\\' { 2 } else { 1 };
                    }
                    i += 1;
                }
            }
            b'.' if bytes[i..].starts_with(b"...") => i += 3,
            _ if b == b'_' || b.is_ascii_alphabetic() => {
                i += 1;
                while i < bytes.len() && (bytes[i] == b'_' || bytes[i].is_ascii_alphanumeric()) {
                    i += 1;
                }
            }
            _ if b == b'-' || b.is_ascii_digit() => {
                i += 1;
                while i < bytes.len() {
                    let exponent_sign = matches!(bytes[i], b'+' | b'-') && matches!(bytes[i - 1], b'e' | b'E');
                    if !(bytes[i] == b'.' || bytes[i].is_ascii_alphanumeric() || exponent_sign) {
                        break;
                    }
                    i += 1;
                }
            }
            b'{' | b'[' | b'(' => {
                depth += 1;
                if depth > max_nesting {
                    return Err(Refusal::Nesting(max_nesting));
                }
                i += 1;
            }
            b'}' | b']' | b')' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            _ => {
                // One token per character, stepping over a whole UTF-8 sequence.
                i += 1;
                while i < bytes.len() && (bytes[i] & 0xC0) == 0x80 {
                    i += 1;
                }
            }
        }
        tokens += 1;
        if tokens > max_tokens {
            return Err(Refusal::Tokens(max_tokens));
        }
    }
    Ok(())
}

/// Scans JSON text: `{ [` nested at most `max_nesting` deep (strings, with
/// their escapes, skipped). Whether it is valid JSON is serde_json's to say.
pub fn json(text: &[u8], max_nesting: usize) -> Result<(), Refusal> {
    let mut depth = 0usize;
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'"' => {
                i += 1;
                while i < text.len() && text[i] != b'"' {
                    i += if text[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'[' => {
                depth += 1;
                if depth > max_nesting {
                    return Err(Refusal::Nesting(max_nesting));
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(text: &str) -> usize {
        (0..).find(|&cap| graphql(text, cap, usize::MAX).is_ok()).unwrap_or(usize::MAX)
    }

    #[test]
    fn tokens_are_counted_like_the_lexer_does() {
        assert_eq!(tokens("{ a }"), 3);
        assert_eq!(tokens("query Q($v: Int = -1.5e3) { a(x: $v, y: \"s, t\") ...F } # c { }"), 24);
        assert_eq!(tokens("{ a(s: \"\"\"x \\\"\"\" y\"\"\") }"), 8);
        assert_eq!(tokens("{ a...F }"), 5);
        assert_eq!(tokens("{ é }"), 3);
        assert_eq!(graphql(&"a ".repeat(10_000), 100, 64), Err(Refusal::Tokens(100)), "stops at the cap");
    }

    fn nesting(text: &str) -> usize {
        (0..).find(|&cap| graphql(text, usize::MAX, cap).is_ok()).unwrap_or(usize::MAX)
    }

    #[test]
    fn nesting_counts_braces_brackets_and_parentheses_together() {
        assert_eq!(nesting("{ a }"), 1);
        assert_eq!(nesting("{ a(x: [[1]]) { b } }"), 4);
        assert_eq!(nesting("query ($v: [[Int]] = [[1]]) { a @d(x: {y: {z: 1}}) }"), 4);
        assert_eq!(nesting("{ a } { b } { c }"), 1, "siblings do not add up");
    }

    #[test]
    fn brackets_in_strings_and_comments_do_not_count_nor_hide_real_ones() {
        assert_eq!(nesting("{ a(s: \"[[[[{{{{\") }"), 2);
        assert_eq!(nesting("{ a(s: \"\\\"[[[\") }"), 2, "an escaped quote does not end the string");
        assert_eq!(nesting("{ a(s: \"\"\"[[[ \\\"\"\" {{{\"\"\") }"), 2);
        assert_eq!(nesting("{ # ]]]]\n a { b } }"), 2);
        // An unterminated block string is read as `""` and what follows as
        // code, as the parser reads it.
        assert_eq!(nesting("{ a(x: [\"\"\"\"[[[[1]]]]]) }"), 7);
        let bypass = format!("{{ nodes(ids: [\"\"\"\"{}\"x\"{}]) {{ id }} }}", "[".repeat(1_600), "]".repeat(1_600));
        assert_eq!(graphql(&bypass, usize::MAX, 32), Err(Refusal::Nesting(32)));
        assert_eq!(
            graphql(&format!("{{ a(x: [\"\"\"\"{}", "[".repeat(16_000)), usize::MAX, 32),
            Err(Refusal::Nesting(32))
        );
        assert_eq!(graphql(&format!("{{ a(s: \"\"\"\"{}", " b".repeat(100)), 50, 32), Err(Refusal::Tokens(50)));
        // A closing bracket inside a string must not let real ones pass.
        let hidden = format!("{{ a(s: \"]]]]\") {} }}", "[".repeat(100));
        assert_eq!(graphql(&hidden, usize::MAX, 64), Err(Refusal::Nesting(64)));
    }

    #[test]
    fn deep_text_is_refused_at_the_first_level_past_the_bound() {
        for n in [1_600, 5_000, 100_000] {
            let lists = format!("{{ nodes(ids: {}\"x\"{}) {{ id }} }}", "[".repeat(n), "]".repeat(n));
            assert_eq!(graphql(&lists, usize::MAX, 32), Err(Refusal::Nesting(32)));
            let objects = format!("{{ a(x: {}1{}) }}", "{a:".repeat(n), "}".repeat(n));
            assert_eq!(graphql(&objects, usize::MAX, 32), Err(Refusal::Nesting(32)));
            let unclosed = "(".repeat(n);
            assert_eq!(graphql(&unclosed, usize::MAX, 32), Err(Refusal::Nesting(32)));
        }
    }

    #[test]
    fn json_nesting_skips_strings() {
        assert_eq!(json(br#"{"query":"{ a }","variables":{"x":[1,[2]]}}"#, 4), Ok(()));
        assert_eq!(json(br#"{"query":"{ a }","variables":{"x":[1,[2]]}}"#, 3), Err(Refusal::Nesting(3)));
        assert_eq!(json(br#"{"q":"[[[[[[\"[[[["}"#, 1), Ok(()));
        let deep = format!("{}{}", "[".repeat(5_000), "]".repeat(5_000));
        assert_eq!(json(deep.as_bytes(), 32), Err(Refusal::Nesting(32)));
    }
}
