//! Kusto's decimal: an exact base-ten number (a 128-bit mantissa and a scale), so a decimal made
//! from text, a literal, a Parquet decimal or `parse_version('1.2.3.4')` (25 digits) keeps every
//! digit. Arithmetic, comparison and grouping still run on the nearest f64 (`convert::as_f64`),
//! as before: DataFusion stores decimals as reals, and the two executors must agree.

use std::fmt;

/// At most this many digits after the point, as .NET's decimal.
const MAX_SCALE: u32 = 28;

/// An exact decimal number: `mantissa / 10^scale`, without trailing zeros after the point (so
/// equal numbers are equal values).
///
/// The mantissa is kept as its little-endian bytes: an `i128` field would align the type to 16
/// bytes and double the size of every `Value` (24 to 48 bytes), decimal or not.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Decimal {
    mantissa: [u8; 16],
    scale: u8,
}

impl fmt::Debug for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Decimal({self})")
    }
}

impl Decimal {
    /// `mantissa / 10^scale`; digits past the 28th after the point are rounded off (half away
    /// from zero).
    pub fn new(mut mantissa: i128, mut scale: u32) -> Decimal {
        while scale > MAX_SCALE {
            let (q, r) = (mantissa / 10, mantissa % 10);
            mantissa = if r >= 5 {
                q + 1
            } else if r <= -5 {
                q - 1
            } else {
                q
            };
            scale -= 1;
        }
        while scale > 0 && mantissa % 10 == 0 {
            mantissa /= 10;
            scale -= 1;
        }
        Decimal {
            mantissa: mantissa.to_le_bytes(),
            scale: scale as u8,
        }
    }

    /// A whole number.
    pub fn from_i128(n: i128) -> Decimal {
        Decimal::new(n, 0)
    }

    /// Decimal text (`-12.5`, `1e3`, `.5`); None when it is not a number or does not fit in 38
    /// digits.
    pub fn parse(text: &str) -> Option<Decimal> {
        let t = text.trim();
        let (negative, t) = match t.as_bytes().first()? {
            b'-' => (true, &t[1..]),
            b'+' => (false, &t[1..]),
            _ => (false, t),
        };
        let (digits, exponent) = match t.find(['e', 'E']) {
            Some(at) => (&t[..at], t[at + 1..].parse::<i32>().ok()?),
            None => (t, 0),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        if whole.is_empty() && fraction.is_empty()
            || !whole
                .bytes()
                .chain(fraction.bytes())
                .all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let mut mantissa: i128 = 0;
        let mut scale: i64 = 0;
        for b in whole.bytes() {
            mantissa = mantissa
                .checked_mul(10)?
                .checked_add(i128::from(b - b'0'))?;
        }
        for b in fraction.bytes() {
            // Digits past what 128 bits hold are dropped (beyond any decimal's precision).
            match mantissa
                .checked_mul(10)
                .and_then(|m| m.checked_add(i128::from(b - b'0')))
            {
                Some(m) => {
                    mantissa = m;
                    scale += 1;
                }
                None => break,
            }
        }
        scale -= i64::from(exponent);
        while scale < 0 {
            mantissa = mantissa.checked_mul(10)?;
            scale += 1;
        }
        let mantissa = if negative { -mantissa } else { mantissa };
        Some(Decimal::new(mantissa, u32::try_from(scale).ok()?))
    }

    /// The decimal a real's shortest round-trip digits spell (0.1 is 0.1); None for NaN, the
    /// infinities and reals beyond 38 digits.
    pub fn from_f64(x: f64) -> Option<Decimal> {
        if !x.is_finite() {
            return None;
        }
        Decimal::parse(&format!("{x}"))
    }

    /// The mantissa: the number is `mantissa / 10^scale`.
    fn mantissa(self) -> i128 {
        i128::from_le_bytes(self.mantissa)
    }

    /// The absolute value.
    pub fn abs(self) -> Decimal {
        Decimal {
            mantissa: self.mantissa().abs().to_le_bytes(),
            ..self
        }
    }

    /// The nearest real.
    pub fn to_f64(self) -> f64 {
        const EXACT: i128 = 1 << 53;
        if self.mantissa().unsigned_abs() < EXACT as u128 && self.scale <= 22 {
            // Both exact in f64, so the one division rounds correctly.
            self.mantissa() as f64 / 10f64.powi(i32::from(self.scale))
        } else {
            self.to_string().parse().unwrap_or(f64::NAN)
        }
    }
}

impl std::ops::Neg for Decimal {
    type Output = Decimal;

    fn neg(self) -> Decimal {
        Decimal {
            mantissa: (-self.mantissa()).to_le_bytes(),
            ..self
        }
    }
}

impl fmt::Display for Decimal {
    /// Every digit, without an exponent or trailing zeros (`5`, `-0.25`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.mantissa().unsigned_abs().to_string();
        let sign = if self.mantissa() < 0 { "-" } else { "" };
        let scale = usize::from(self.scale);
        if scale == 0 {
            return write!(f, "{sign}{digits}");
        }
        let padded = format!("{digits:0>width$}", width = scale + 1);
        let (whole, fraction) = padded.split_at(padded.len() - scale);
        write!(f, "{sign}{whole}.{fraction}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decimal_does_not_widen_every_value() {
        // The row engine holds millions of values: a 16-byte-aligned decimal made each 48 bytes.
        assert_eq!(std::mem::size_of::<crate::value::Value>(), 24);
        let d = Decimal::parse("-1000000020000000300000004.5").unwrap();
        assert_eq!(
            (d.to_string(), (-d).to_string()),
            (
                "-1000000020000000300000004.5".to_string(),
                "1000000020000000300000004.5".to_string()
            )
        );
    }

    #[test]
    fn decimals_keep_every_digit_and_print_without_trailing_zeros() {
        let d = |s: &str| Decimal::parse(s).map(|d| d.to_string());
        assert_eq!(
            d("1000000020000000300000004").as_deref(),
            Some("1000000020000000300000004")
        );
        assert_eq!(d("-12.50").as_deref(), Some("-12.5"));
        assert_eq!(d(".25").as_deref(), Some("0.25"));
        assert_eq!(d("-0.05").as_deref(), Some("-0.05"));
        assert_eq!(d("1.5e3").as_deref(), Some("1500"));
        assert_eq!(d("15e-3").as_deref(), Some("0.015"));
        assert_eq!(d("0.000").as_deref(), Some("0"));
        assert_eq!(d("1e40"), None);
        assert_eq!(d("abc"), None);
        assert_eq!(d("."), None);
        assert_eq!(Decimal::parse("2.50"), Decimal::parse("2.5"));
        assert_eq!(
            Decimal::from_f64(0.1).map(|d| d.to_string()).as_deref(),
            Some("0.1")
        );
        assert_eq!(Decimal::from_f64(f64::NAN), None);
        assert_eq!(Decimal::from_f64(1e300), None);
        assert_eq!(
            Decimal::from_f64(1e-300).map(|d| d.to_string()).as_deref(),
            Some("0")
        );
        assert_eq!(Decimal::parse("123.45").map(Decimal::to_f64), Some(123.45));
        assert_eq!(
            Decimal::parse("1000000020000000300000004").map(Decimal::to_f64),
            Some(1.0000000200000003e24)
        );
    }
}
