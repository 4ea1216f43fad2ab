//! DynamoDB's number type: exact decimals of up to 38 significant digits, magnitude from 1E-130
//! to 9.9999999999999999999999999999999999999E+125 (or zero).
//!
//! A [`Number`] is kept normalized: a sign, the significant digits without leading or trailing
//! zeros, and the decimal exponent of the first digit (scientific notation). So equal values
//! have equal representations (`1`, `1.0`, `10E-1` are one number), comparison is by
//! (sign, exponent, digits), and the canonical text form (what DynamoDB returns) is the plain
//! decimal without exponent or superfluous zeros.
//!
//! Arithmetic (`ADD`, `SET a = b + c`) is exact: a result that needs more than 38 significant
//! digits or falls outside the range is an error with DynamoDB's message, never a rounded
//! value.
//!
//! Key encoding ([`Number::encode_key`]): order-preserving and self-delimiting bytes. A tag
//! byte (0x40 negative, 0x80 zero, 0xC0 positive); for non-zero numbers one byte of exponent
//! (`exponent + 130`, complemented for negatives, so larger magnitudes sort later for positives
//! and earlier for negatives); then the digits as nibbles, two per byte — `digit + 1` ended by
//! a 0 nibble for positives, `10 - digit` ended by an 0xF nibble for negatives — padded with
//! the terminator nibble. A shorter digit string that is a prefix of a longer one is the
//! smaller magnitude, which the terminators order correctly.

use std::cmp::Ordering;
use std::fmt;

/// The most significant digits a number may have.
pub const MAX_DIGITS: usize = 38;
/// The largest decimal exponent (of the first significant digit).
pub const MAX_EXPONENT: i32 = 125;
/// The smallest decimal exponent (of the first significant digit).
pub const MIN_EXPONENT: i32 = -130;

/// Why a number was rejected; the messages are DynamoDB's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    /// Not a number at all.
    #[error("The parameter cannot be converted to a numeric value: {0}")]
    NotANumber(String),
    /// More than 38 significant digits.
    #[error("Attempting to store more than 38 significant digits in a Number")]
    TooManyDigits,
    /// Magnitude above 9.99…E+125.
    #[error(
        "Number overflow. Attempting to store a number with magnitude larger than supported range"
    )]
    Overflow,
    /// Magnitude below 1E-130.
    #[error("Number underflow. Attempting to store a number with magnitude smaller than supported range")]
    Underflow,
}

/// An exact DynamoDB number (see the module docs).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Number {
    negative: bool,
    /// Significant digits (each 0..=9), no leading or trailing zeros; empty for zero.
    digits: Vec<u8>,
    /// Decimal exponent of `digits[0]`: the value is `0.d1d2d3… × 10^(exponent + 1)`.
    exponent: i32,
}

impl Number {
    /// Zero.
    pub fn zero() -> Number {
        Number {
            negative: false,
            digits: Vec::new(),
            exponent: 0,
        }
    }

    /// Whether this is zero.
    pub fn is_zero(&self) -> bool {
        self.digits.is_empty()
    }

    /// Whether this is below zero.
    pub fn is_negative(&self) -> bool {
        self.negative
    }

    /// The number of significant digits.
    pub fn significant_digits(&self) -> usize {
        self.digits.len()
    }

    /// Parses DynamoDB's number syntax: an optional sign, digits with an optional decimal
    /// point, and an optional exponent (`-12.5e3`, `.5`, `5.`, `+1E-130`).
    pub fn parse(text: &str) -> Result<Number, NumberError> {
        let bad = || NumberError::NotANumber(text.to_owned());
        let bytes = text.as_bytes();
        let mut i = 0;
        let mut negative = false;
        if let Some(&sign @ (b'+' | b'-')) = bytes.first() {
            negative = sign == b'-';
            i = 1;
        }
        let mut digits: Vec<u8> = Vec::new();
        // Digits (all of them) before the decimal point, and zeros before the first
        // significant digit (on either side of the point).
        let mut before_point: i64 = 0;
        let mut leading_zeros: i64 = 0;
        let mut seen_digit = false;
        let mut seen_point = false;
        while i < bytes.len() {
            match bytes[i] {
                d @ b'0'..=b'9' => {
                    seen_digit = true;
                    if !seen_point {
                        before_point += 1;
                    }
                    if digits.is_empty() && d == b'0' {
                        leading_zeros += 1;
                    } else {
                        digits.push(d - b'0');
                    }
                }
                b'.' if !seen_point => seen_point = true,
                _ => break,
            }
            i += 1;
        }
        if !seen_digit {
            return Err(bad());
        }
        let mut exp10: i64 = 0;
        if i < bytes.len() {
            if !matches!(bytes[i], b'e' | b'E') {
                return Err(bad());
            }
            i += 1;
            let mut exp_negative = false;
            if let Some(&sign @ (b'+' | b'-')) = bytes.get(i) {
                exp_negative = sign == b'-';
                i += 1;
            }
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                // Saturate: an absurd exponent is an overflow or underflow, not a parse error.
                exp10 = (exp10 * 10 + i64::from(bytes[i] - b'0')).min(1 << 40);
                i += 1;
            }
            if i == start || i != bytes.len() {
                return Err(bad());
            }
            if exp_negative {
                exp10 = -exp10;
            }
        }
        while digits.last() == Some(&0) {
            digits.pop();
        }
        if digits.is_empty() {
            return Ok(Number::zero());
        }
        let exponent = before_point - leading_zeros - 1 + exp10;
        Number::checked(negative, digits, exponent)
    }

    /// Builds a number from normalized digits, checking the limits.
    fn checked(negative: bool, digits: Vec<u8>, exponent: i64) -> Result<Number, NumberError> {
        if digits.is_empty() {
            return Ok(Number::zero());
        }
        if exponent > i64::from(MAX_EXPONENT) {
            return Err(NumberError::Overflow);
        }
        if exponent < i64::from(MIN_EXPONENT) {
            return Err(NumberError::Underflow);
        }
        if digits.len() > MAX_DIGITS {
            return Err(NumberError::TooManyDigits);
        }
        Ok(Number {
            negative,
            digits,
            exponent: exponent as i32,
        })
    }

    /// `self + other`, exactly.
    pub fn checked_add(&self, other: &Number) -> Result<Number, NumberError> {
        if self.is_zero() {
            return Ok(other.clone());
        }
        if other.is_zero() {
            return Ok(self.clone());
        }
        // Align both on a common lowest exponent, as digit vectors (most significant first).
        let low = |n: &Number| i64::from(n.exponent) - n.digits.len() as i64 + 1;
        let high = i64::from(self.exponent.max(other.exponent));
        let lowest = low(self).min(low(other));
        let width = (high - lowest + 1) as usize;
        let place = |n: &Number| -> Vec<u8> {
            let mut v = vec![0u8; width];
            let start = (high - i64::from(n.exponent)) as usize;
            v[start..start + n.digits.len()].copy_from_slice(&n.digits);
            v
        };
        let (a, b) = (place(self), place(other));
        let (negative, mut sum) = if self.negative == other.negative {
            (self.negative, add_digits(&a, &b))
        } else {
            match a.cmp(&b) {
                Ordering::Equal => return Ok(Number::zero()),
                Ordering::Greater => (self.negative, sub_digits(&a, &b)),
                Ordering::Less => (other.negative, sub_digits(&b, &a)),
            }
        };
        // `sum` has one extra leading place for a carry: its first digit has exponent high+1.
        let mut exponent = high + 1;
        let leading = sum.iter().take_while(|&&d| d == 0).count();
        sum.drain(..leading);
        exponent -= leading as i64;
        while sum.last() == Some(&0) {
            sum.pop();
        }
        Number::checked(negative, sum, exponent)
    }

    /// `self - other`, exactly.
    pub fn checked_sub(&self, other: &Number) -> Result<Number, NumberError> {
        self.checked_add(&other.negated())
    }

    /// `-self`.
    pub fn negated(&self) -> Number {
        let mut n = self.clone();
        if !n.is_zero() {
            n.negative = !n.negative;
        }
        n
    }

    /// Appends the order-preserving, self-delimiting key encoding (see the module docs).
    pub fn encode_key(&self, out: &mut Vec<u8>) {
        if self.is_zero() {
            out.push(0x80);
            return;
        }
        let biased = (self.exponent - MIN_EXPONENT) as u8;
        let (tag, exp, terminator) = if self.negative {
            (0x40, 255 - biased, 0xF)
        } else {
            (0xC0, biased, 0x0)
        };
        out.push(tag);
        out.push(exp);
        let nibble = |d: u8| if self.negative { 10 - d } else { d + 1 };
        // Two nibbles a byte; the terminator follows the last digit, and fills the last
        // byte's low nibble when the digits are odd in number (one or two terminators).
        let mut pairs = self.digits.chunks_exact(2);
        for pair in &mut pairs {
            out.push((nibble(pair[0]) << 4) | nibble(pair[1]));
        }
        match pairs.remainder() {
            [last] => out.push((nibble(*last) << 4) | terminator),
            _ => out.push((terminator << 4) | terminator),
        }
    }

    /// Decodes a key encoding from the front of `src`, advancing it; `None` if malformed.
    pub fn decode_key(src: &mut &[u8]) -> Option<Number> {
        let mut digits = Vec::new();
        let shape = walk_key(src, |d| digits.push(d))?;
        *src = &src[shape.len..];
        if digits.is_empty() {
            return Some(Number::zero());
        }
        Some(Number {
            negative: shape.negative,
            digits,
            exponent: shape.exponent,
        })
    }

    /// The canonical text of the key encoding at the front of `src`, advancing it: what
    /// `decode_key` and `to_string` give, without building the number (one allocation, the
    /// text). `None` if malformed, and `src` is left where it was.
    pub fn key_text(src: &mut &[u8]) -> Option<String> {
        let mut digits = [0u8; MAX_DIGITS];
        let mut count = 0;
        let shape = walk_key(src, |d| {
            // `walk_key` passes at most MAX_DIGITS digits.
            if let Some(slot) = digits.get_mut(count) {
                *slot = d;
            }
            count += 1;
        })?;
        *src = &src[shape.len..];
        let mut text = String::with_capacity(count + 8);
        write_canonical(&mut text, shape.negative, shape.exponent, &digits[..count]);
        Some(text)
    }

    /// Checks a key encoding at the front of `src` and passes over it, without building
    /// the number; returns its DynamoDB size ([`Number::size`]), `None` if malformed.
    pub fn skip_key(src: &mut &[u8]) -> Option<usize> {
        let mut count = 0usize;
        let shape = walk_key(src, |_| count += 1)?;
        *src = &src[shape.len..];
        Some(count.div_ceil(2) + 1)
    }

    /// DynamoDB's size of a number in bytes: one byte per two significant digits, plus one.
    pub fn size(&self) -> usize {
        self.digits.len().div_ceil(2) + 1
    }

    /// The value as an `i64`, if it is an integer in range.
    pub fn to_i64(&self) -> Option<i64> {
        if self.is_zero() {
            return Some(0);
        }
        if self.exponent < 0 || (self.exponent as usize) < self.digits.len() - 1 {
            return None;
        }
        let mut v: i128 = 0;
        for i in 0..=self.exponent as usize {
            let d = self.digits.get(i).copied().unwrap_or(0);
            v = v.checked_mul(10)?.checked_add(i128::from(d))?;
        }
        if self.negative {
            v = -v;
        }
        i64::try_from(v).ok()
    }

    /// The value as the nearest `f64` (for TTL timestamps and the like).
    pub fn to_f64(&self) -> f64 {
        self.to_string().parse().unwrap_or(f64::NAN)
    }
}

/// `a + b` over equal-width digit vectors, with one extra leading place for the carry.
fn add_digits(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; a.len() + 1];
    let mut carry = 0;
    for i in (0..a.len()).rev() {
        let s = a[i] + b[i] + carry;
        out[i + 1] = s % 10;
        carry = s / 10;
    }
    out[0] = carry;
    out
}

/// `a - b` (with `a >= b`) over equal-width digit vectors, with one extra leading zero place.
fn sub_digits(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; a.len() + 1];
    let mut borrow = 0i8;
    for i in (0..a.len()).rev() {
        let mut d = a[i] as i8 - b[i] as i8 - borrow;
        borrow = 0;
        if d < 0 {
            d += 10;
            borrow = 1;
        }
        out[i + 1] = d as u8;
    }
    out
}

impl From<i64> for Number {
    fn from(v: i64) -> Number {
        // Every i64 has at most 19 digits: always valid.
        Number::parse(&v.to_string()).unwrap_or_else(|_| Number::zero())
    }
}

impl std::str::FromStr for Number {
    type Err = NumberError;
    fn from_str(s: &str) -> Result<Number, NumberError> {
        Number::parse(s)
    }
}

impl Ord for Number {
    fn cmp(&self, other: &Number) -> Ordering {
        let class = |n: &Number| match (n.is_zero(), n.negative) {
            (true, _) => 1,
            (false, true) => 0,
            (false, false) => 2,
        };
        match class(self).cmp(&class(other)) {
            Ordering::Equal => {}
            o => return o,
        }
        if self.is_zero() {
            return Ordering::Equal;
        }
        let magnitude = self
            .exponent
            .cmp(&other.exponent)
            .then_with(|| self.digits.cmp(&other.digits));
        if self.negative {
            magnitude.reverse()
        } else {
            magnitude
        }
    }
}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Number) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Number {
    /// The canonical form: plain decimal, no exponent, no leading or trailing zeros.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::with_capacity(self.digits.len() + 8);
        write_canonical(&mut s, self.negative, self.exponent, &self.digits);
        f.write_str(&s)
    }
}

/// Appends the canonical text of the number `0.d1d2d3… × 10^(exponent + 1)` (negated when
/// `negative`) to `out`: plain decimal, no exponent, no leading or trailing zeros; `0` when
/// `digits` is empty.
fn write_canonical(out: &mut String, negative: bool, exponent: i32, digits: &[u8]) {
    if digits.is_empty() {
        out.push('0');
        return;
    }
    if negative {
        out.push('-');
    }
    let digit = |d: u8| char::from(b'0' + d);
    if exponent < 0 {
        out.push_str("0.");
        for _ in 0..(-exponent - 1) {
            out.push('0');
        }
        out.extend(digits.iter().map(|&d| digit(d)));
    } else {
        let int_len = exponent as usize + 1;
        for i in 0..int_len.max(digits.len()) {
            if i == int_len {
                out.push('.');
            }
            out.push(digit(digits.get(i).copied().unwrap_or(0)));
        }
    }
}

impl fmt::Debug for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Number({self})")
    }
}

/// What [`walk_key`] found at the front of its input.
struct KeyShape {
    negative: bool,
    exponent: i32,
    /// Bytes of the encoding.
    len: usize,
}

/// Walks the key encoding of a number at the front of `src`, calling `digit` with each
/// significant digit in order (none for zero), and checks it whole: a known tag, nibbles
/// that are digits, a terminator, no trailing zero digit, at most [`MAX_DIGITS`] digits.
/// `None` if malformed (some digits may have been passed to `digit` by then).
fn walk_key(src: &[u8], mut digit: impl FnMut(u8)) -> Option<KeyShape> {
    let (&tag, rest) = src.split_first()?;
    if tag == 0x80 {
        return Some(KeyShape {
            negative: false,
            exponent: 0,
            len: 1,
        });
    }
    let negative = match tag {
        0x40 => true,
        0xC0 => false,
        _ => return None,
    };
    let (&exp, rest) = rest.split_first()?;
    let biased = if negative { 255 - exp } else { exp };
    let exponent = i32::from(biased) + MIN_EXPONENT;
    let terminator = if negative { 0xF } else { 0x0 };
    let (mut count, mut last) = (0usize, 0u8);
    for (i, &byte) in rest.iter().enumerate() {
        for nibble in [byte >> 4, byte & 0xF] {
            if nibble == terminator {
                if count == 0 || last == 0 || count > MAX_DIGITS {
                    return None;
                }
                return Some(KeyShape {
                    negative,
                    exponent,
                    len: 2 + i + 1,
                });
            }
            let d = if negative {
                10u8.checked_sub(nibble)?
            } else {
                nibble.checked_sub(1)?
            };
            if d > 9 {
                return None;
            }
            count += 1;
            if count > MAX_DIGITS {
                return None;
            }
            digit(d);
            last = d;
        }
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn n(s: &str) -> Number {
        Number::parse(s).unwrap()
    }

    #[test]
    fn parses_and_prints_canonically() {
        for (input, canonical) in [
            ("0", "0"),
            ("-0", "0"),
            ("0.000", "0"),
            ("00012", "12"),
            ("1.0", "1"),
            ("1.50", "1.5"),
            ("+7", "7"),
            ("-12.340", "-12.34"),
            (".5", "0.5"),
            ("5.", "5"),
            ("1e3", "1000"),
            ("1E+3", "1000"),
            ("12.5e-3", "0.0125"),
            ("-0.00100", "-0.001"),
            (
                "123456789012345678901234567890.12345678",
                "123456789012345678901234567890.12345678",
            ),
            ("1E-130", &format!("0.{}1", "0".repeat(129))),
            (
                "9.9999999999999999999999999999999999999E+125",
                &format!("99999999999999999999999999999999999999{}", "0".repeat(88)),
            ),
            ("100e-2", "1"),
            ("0.0e999999999999", "0"),
        ] {
            assert_eq!(n(input).to_string(), canonical, "{input}");
            assert_eq!(n(canonical), n(input), "{input} re-parsed");
        }
    }

    #[test]
    fn rejects_what_dynamodb_rejects() {
        for bad in [
            "", "-", "+", ".", "e5", "1e", "1e+", "1.2.3", "abc", "1 ", " 1", "0x10", "NaN",
            "Infinity", "1,5", "--1", "1e5.5",
        ] {
            assert_eq!(
                Number::parse(bad),
                Err(NumberError::NotANumber(bad.to_owned())),
                "{bad:?}"
            );
        }
        assert_eq!(
            Number::parse(&"1".repeat(39)),
            Err(NumberError::TooManyDigits)
        );
        assert!(Number::parse(&format!("{}000", "1".repeat(38))).is_ok());
        assert_eq!(Number::parse("1E126"), Err(NumberError::Overflow));
        assert_eq!(Number::parse("1E-131"), Err(NumberError::Underflow));
        assert_eq!(
            Number::parse("1e99999999999999999999"),
            Err(NumberError::Overflow)
        );
        assert_eq!(
            Number::parse("-1e-99999999999999999999"),
            Err(NumberError::Underflow)
        );
        assert_eq!(
            NumberError::TooManyDigits.to_string(),
            "Attempting to store more than 38 significant digits in a Number"
        );
    }

    #[test]
    fn arithmetic_is_exact() {
        for (a, b, sum) in [
            ("1", "2", "3"),
            ("0.1", "0.2", "0.3"),
            ("-5", "3", "-2"),
            ("5", "-5", "0"),
            ("99", "1", "100"),
            ("1E125", "-1E125", "0"),
            (
                "12345678901234567890123456789012345678",
                "-1",
                "12345678901234567890123456789012345677",
            ),
            ("1.5", "-0.25", "1.25"),
            ("-1.5", "-0.25", "-1.75"),
            ("0", "-7.5", "-7.5"),
        ] {
            assert_eq!(n(a).checked_add(&n(b)).unwrap(), n(sum), "{a} + {b}");
            assert_eq!(n(sum).checked_sub(&n(b)).unwrap(), n(a), "{sum} - {b}");
        }
        assert_eq!(
            n("99999999999999999999999999999999999999").checked_add(&n("1")),
            Ok(n("1E38")),
            "a carry past 38 digits that normalizes to one digit is fine"
        );
        assert_eq!(
            n("1E100").checked_add(&n("1E-100")),
            Err(NumberError::TooManyDigits)
        );
        assert_eq!(
            n("9.9999999999999999999999999999999999999E+125").checked_add(&n("1E+88")),
            Err(NumberError::Overflow)
        );
    }

    #[test]
    fn sizes_and_integer_conversion() {
        assert_eq!(n("0").size(), 1);
        assert_eq!(n("1").size(), 2);
        assert_eq!(n("12").size(), 2);
        assert_eq!(n("123").size(), 3);
        assert_eq!(n("1000").size(), 2);
        assert_eq!(n("-42").to_i64(), Some(-42));
        assert_eq!(n("1.5").to_i64(), None);
        assert_eq!(n("1E30").to_i64(), None);
        assert_eq!(n("1700000000").to_i64(), Some(1_700_000_000));
        assert_eq!(Number::from(i64::MIN).to_i64(), Some(i64::MIN));
    }

    fn arb_number() -> impl Strategy<Value = Number> {
        (
            any::<bool>(),
            proptest::collection::vec(0u8..10, 1..=38),
            MIN_EXPONENT..=MAX_EXPONENT,
        )
            .prop_map(|(neg, mut digits, exp)| {
                digits[0] = digits[0].max(1);
                while digits.last() == Some(&0) {
                    digits.pop();
                }
                Number::checked(neg, digits, i64::from(exp)).unwrap()
            })
    }

    proptest! {
        #[test]
        fn key_encoding_preserves_order_and_round_trips(
            a in prop_oneof![arb_number(), Just(Number::zero())],
            b in prop_oneof![arb_number(), Just(Number::zero())],
        ) {
            let (mut ka, mut kb) = (Vec::new(), Vec::new());
            a.encode_key(&mut ka);
            b.encode_key(&mut kb);
            prop_assert_eq!(a.cmp(&b), ka.cmp(&kb));
            let mut src = &ka[..];
            prop_assert_eq!(Number::decode_key(&mut src), Some(a.clone()));
            prop_assert!(src.is_empty());
            let mut src = &ka[..];
            prop_assert_eq!(Number::skip_key(&mut src), Some(a.size()));
            prop_assert!(src.is_empty());
            let mut src = &ka[..];
            prop_assert_eq!(Number::key_text(&mut src), Some(a.to_string()));
            prop_assert!(src.is_empty());
            // Self-delimiting: a suffix is left alone.
            ka.extend_from_slice(b"tail");
            let mut src = &ka[..];
            prop_assert_eq!(Number::decode_key(&mut src), Some(a.clone()));
            prop_assert_eq!(src, &b"tail"[..]);
        }

        #[test]
        fn text_round_trips_and_addition_matches_ordering(a in arb_number(), b in arb_number()) {
            prop_assert_eq!(Number::parse(&a.to_string()).unwrap(), a.clone());
            if let Ok(sum) = a.checked_add(&b) {
                // b > 0 ⇔ a + b > a
                prop_assert_eq!(sum.cmp(&a), b.cmp(&Number::zero()));
                prop_assert_eq!(sum.checked_sub(&b).unwrap(), a);
            }
        }

        #[test]
        fn garbage_never_panics(s in "[-+0-9.eE]{0,12}") {
            let _ = Number::parse(&s);
        }

        #[test]
        fn decode_of_garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..24)) {
            let mut src = &bytes[..];
            let _ = Number::decode_key(&mut src);
        }

        /// Skipping and reading the text accept exactly what decoding accepts, pass over the
        /// same bytes and give the decoded number's size and text; a rejected input is left
        /// where it was.
        #[test]
        fn skip_agrees_with_decode(bytes in proptest::collection::vec(any::<u8>(), 0..24)) {
            let (mut decoded, mut skipped) = (&bytes[..], &bytes[..]);
            let number = Number::decode_key(&mut decoded);
            let size = Number::skip_key(&mut skipped);
            prop_assert_eq!(number.as_ref().map(Number::size), size);
            prop_assert_eq!(decoded.len(), skipped.len());
            let mut texted = &bytes[..];
            prop_assert_eq!(number.as_ref().map(Number::to_string), Number::key_text(&mut texted));
            prop_assert_eq!(decoded.len(), texted.len());
            if number.is_none() {
                prop_assert_eq!(decoded.len(), bytes.len());
            }
        }
    }
}
