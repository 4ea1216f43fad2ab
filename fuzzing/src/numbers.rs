//! DynamoDB's number type against a reference decimal (`bigdecimal`): parsing, the canonical
//! text form, exact addition and subtraction, ordering, and the order-preserving key
//! encoding.

use bigdecimal::BigDecimal;
use std::cmp::Ordering;
use std::str::FromStr;
use strata_table::number::{Number, MAX_DIGITS, MAX_EXPONENT, MIN_EXPONENT};

/// The reference value of a number strata accepted.
fn reference(n: &Number) -> BigDecimal {
    match BigDecimal::from_str(&n.to_string()) {
        Ok(d) => d,
        Err(e) => panic!("strata's text form {n} is not a decimal: {e}"),
    }
}

/// Whether an exact value is representable: at most 38 significant digits, magnitude within
/// 1E-130 ..= 9.99…E+125 (or zero).
fn representable(d: &BigDecimal) -> bool {
    if d == &BigDecimal::from(0) {
        return true;
    }
    let n = d.normalized();
    let (digits, scale) = n.as_bigint_and_exponent();
    let text = digits.magnitude().to_string();
    // value = digits × 10^-scale; exponent of the first digit:
    let exponent = text.len() as i64 - 1 - scale;
    text.len() <= MAX_DIGITS
        && exponent <= i64::from(MAX_EXPONENT)
        && exponent >= i64::from(MIN_EXPONENT)
}

/// Splits the input at the first NUL into two texts.
fn texts(data: &[u8]) -> (String, String) {
    let (a, b) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    (
        String::from_utf8_lossy(a).into_owned(),
        String::from_utf8_lossy(b).into_owned(),
    )
}

fn key(n: &Number) -> Vec<u8> {
    let mut out = Vec::new();
    n.encode_key(&mut out);
    out
}

/// Runs one input: two number texts separated by a NUL.
pub fn run(data: &[u8]) {
    let (a_text, b_text) = texts(data);
    let parsed: Vec<(Number, BigDecimal)> = [a_text, b_text]
        .iter()
        .filter_map(|t| {
            let n = Number::parse(t).ok()?;
            // Whatever strata accepts is a decimal the reference reads the same way.
            let exact = reference(&n);
            if let Ok(d) = BigDecimal::from_str(t.trim()) {
                assert_eq!(exact, d, "{t:?} parsed as {n}");
            }
            assert!(representable(&exact), "{t:?} accepted but out of range");
            // The canonical text parses back to the same number.
            let again = Number::parse(&n.to_string())
                .unwrap_or_else(|e| panic!("the text form {n} of {t:?} does not parse: {e}"));
            assert_eq!(again, n);
            // The key encoding decodes back.
            let k = key(&n);
            let mut src = k.as_slice();
            assert_eq!(Number::decode_key(&mut src), Some(n.clone()));
            assert!(src.is_empty());
            Some((n, exact))
        })
        .collect();
    let [(a, da), (b, db)] = parsed.as_slice() else {
        return;
    };
    let order = da.cmp(db);
    assert_eq!(a.cmp(b), order, "{a} vs {b}");
    assert_eq!(key(a).cmp(&key(b)), order, "key order of {a} vs {b}");
    assert_eq!(a == b, order == Ordering::Equal);
    for (result, exact, what) in [
        (a.checked_add(b), da + db, "+"),
        (a.checked_sub(b), da - db, "-"),
    ] {
        match result {
            Ok(r) => assert_eq!(reference(&r), exact, "{a} {what} {b}"),
            Err(e) => assert!(
                !representable(&exact),
                "{a} {what} {b} = {exact} is representable, but strata says: {e}"
            ),
        }
    }
}
