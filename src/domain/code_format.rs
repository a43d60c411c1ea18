//! Code values: unguessable, in an unambiguous alphabet, grouped for
//! reading, with a check character that tells a typo from an unknown code.
//!
//! A value is 20 random symbols from a 32-symbol alphabet (100 bits from
//! the OS's cryptographic source) plus one Luhn mod 32 check symbol, shown
//! as `XXXXX-XXXXX-XXXXX-XXXXX-C`. Luhn mod N catches every single-symbol
//! error and every swap of two adjacent symbols but one: `2` and `Z` (the
//! alphabet's first and last symbols, Luhn's blind spot like `09`/`90` in
//! the decimal Luhn). Such a swap reads as an unknown code, not as a typo.

use rand::{TryRngCore, rngs::OsRng};

/// 2-9 and A-Z without I and O: no 0/O or 1/I to confuse.
pub const ALPHABET: &[u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
/// Random symbols per value.
pub const PAYLOAD_LEN: usize = 20;
const GROUP: usize = 5;

/// What a typed value turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// Well formed, check symbol right: the canonical grouped form.
    Valid(String),
    /// Well formed but the check symbol is wrong: a typo.
    CheckMismatch,
    /// Not a code at all (length, symbols).
    Malformed,
}

fn index(symbol: u8) -> Option<usize> {
    ALPHABET.iter().position(|&s| s == symbol)
}

/// The Luhn mod 32 check symbol of `payload` (alphabet indices).
fn check_symbol(payload: &[usize]) -> u8 {
    let n = ALPHABET.len();
    let mut sum = 0;
    // Double every second symbol from the right, as Luhn does.
    for (i, &value) in payload.iter().rev().enumerate() {
        let v = if i % 2 == 0 { value * 2 } else { value };
        sum += v / n + v % n;
    }
    ALPHABET[(n - sum % n) % n]
}

fn group(symbols: &[u8]) -> String {
    symbols.chunks(GROUP).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join("-")
}

/// A new random code value. Fails only if the OS has no randomness.
pub fn generate() -> Result<String, String> {
    let mut bytes = [0u8; PAYLOAD_LEN];
    OsRng.try_fill_bytes(&mut bytes).map_err(|e| format!("no OS randomness: {e}"))?;
    // 256 is a multiple of 32, so `b % 32` is uniform.
    let payload: Vec<usize> = bytes.iter().map(|b| usize::from(*b) % ALPHABET.len()).collect();
    let mut symbols: Vec<u8> = payload.iter().map(|&i| ALPHABET[i]).collect();
    symbols.push(check_symbol(&payload));
    Ok(group(&symbols))
}

/// Reads a value as typed: case and separators (`-`, spaces) do not matter.
pub fn parse(typed: &str) -> Parsed {
    if typed.len() > 64 {
        return Parsed::Malformed;
    }
    let symbols: Vec<u8> =
        typed.bytes().filter(|b| !matches!(b, b'-' | b' ')).map(|b| b.to_ascii_uppercase()).collect();
    if symbols.len() != PAYLOAD_LEN + 1 {
        return Parsed::Malformed;
    }
    let Some(indices) = symbols.iter().map(|&s| index(s)).collect::<Option<Vec<_>>>() else {
        return Parsed::Malformed;
    };
    if check_symbol(&indices[..PAYLOAD_LEN]) == symbols[PAYLOAD_LEN] {
        Parsed::Valid(group(&symbols))
    } else {
        Parsed::CheckMismatch
    }
}

/// The last four symbols, for a masked hint (`…-ABCD`).
pub fn hint(value: &str) -> String {
    let symbols: Vec<char> = value.chars().filter(|c| *c != '-').collect();
    let tail: String = symbols[symbols.len().saturating_sub(4)..].iter().collect();
    format!("…{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_values_are_grouped_valid_and_distinct() {
        let a = generate().expect("randomness");
        let b = generate().expect("randomness");
        assert_ne!(a, b);
        assert_eq!(a.len(), 25, "{a}");
        assert_eq!(a.matches('-').count(), 4);
        assert_eq!(parse(&a), Parsed::Valid(a.clone()));
        assert!(!a.contains(['0', '1', 'I', 'O']));
    }

    #[test]
    fn case_and_separators_do_not_matter() {
        let a = generate().expect("randomness");
        let typed = a.replace('-', " ").to_lowercase();
        assert_eq!(parse(&typed), Parsed::Valid(a));
    }

    #[test]
    fn every_single_symbol_typo_is_caught() {
        // a typo is told apart from an unknown code.
        let a = generate().expect("randomness");
        let symbols: Vec<u8> = a.bytes().filter(|b| *b != b'-').collect();
        for position in 0..symbols.len() {
            for &replacement in ALPHABET.iter().filter(|&&s| s != symbols[position]) {
                let mut typo = symbols.clone();
                typo[position] = replacement;
                let typed = String::from_utf8(typo).expect("ascii");
                assert_eq!(parse(&typed), Parsed::CheckMismatch, "{typed}");
            }
        }
    }

    #[test]
    fn every_adjacent_swap_but_2_and_z_is_caught() {
        for _ in 0..200 {
            every_adjacent_swap_of_one_value_but_2_and_z_is_caught();
        }
    }

    #[test]
    fn swapping_2_and_z_is_luhns_blind_spot() {
        // Documented, not hidden: the payload `2Z...` and `Z2...` share a check symbol.
        let mut payload = vec![0usize; PAYLOAD_LEN];
        payload[0] = 31;
        let mut swapped = payload.clone();
        swapped.swap(0, 1);
        assert_eq!(check_symbol(&payload), check_symbol(&swapped));
    }

    fn every_adjacent_swap_of_one_value_but_2_and_z_is_caught() {
        let a = generate().expect("randomness");
        let symbols: Vec<u8> = a.bytes().filter(|b| *b != b'-').collect();
        for i in 0..symbols.len() - 1 {
            let pair = [symbols[i], symbols[i + 1]];
            if symbols[i] == symbols[i + 1] || pair == *b"2Z" || pair == *b"Z2" {
                continue;
            }
            let mut swapped = symbols.clone();
            swapped.swap(i, i + 1);
            let typed = String::from_utf8(swapped).expect("ascii");
            assert_eq!(parse(&typed), Parsed::CheckMismatch, "{typed}");
        }
    }

    #[test]
    fn things_that_are_not_codes_are_malformed() {
        for bad in ["", "ABC", "0000-0000-0000-0000-0000-0", "IIIII-IIIII-IIIII-IIIII-I", &"A".repeat(100)] {
            assert_eq!(parse(bad), Parsed::Malformed, "{bad}");
        }
    }

    #[test]
    fn hints_show_the_last_four_symbols() {
        assert_eq!(hint("ABCDE-FGHJK-LMNPQ-RSTUV-W"), "…TUVW");
    }
}
