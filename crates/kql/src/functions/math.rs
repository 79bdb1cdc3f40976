//! Special functions of statistics: erf, erfc, gamma, loggamma, the beta distribution and
//! Welch's t-test.

use super::arg;
use super::registry::{Function, fixed};
use crate::value::ScalarType::Real;
use crate::value::Value;
use crate::value::convert::as_f64;

/// The functions of this module, each null on non-numeric input.
pub(super) static FUNCTIONS: &[Function] = &[
    fixed("erf", Real, |a, _| reals(a, |x| Some(erf(at(x, 0))))),
    fixed("erfc", Real, |a, _| reals(a, |x| Some(erfc(at(x, 0))))),
    fixed("gamma", Real, |a, _| reals(a, |x| Some(gamma(at(x, 0))))),
    fixed("loggamma", Real, |a, _| {
        reals(a, |x| Some(ln_gamma(at(x, 0))))
    }),
    fixed("beta_cdf", Real, |a, _| {
        reals(a, |x| Some(beta_cdf(at(x, 0), at(x, 1), at(x, 2))))
    }),
    fixed("beta_pdf", Real, |a, _| {
        reals(a, |x| Some(beta_pdf(at(x, 0), at(x, 1), at(x, 2))))
    }),
    fixed("beta_inv", Real, |a, _| {
        reals(a, |x| beta_inv(at(x, 0), at(x, 1), at(x, 2)))
    }),
    fixed("welch_test", Real, |a, _| {
        reals(a, |x| {
            Some(welch_test(
                at(x, 0),
                at(x, 1),
                at(x, 2),
                at(x, 3),
                at(x, 4),
                at(x, 5),
            ))
        })
    }),
];

/// Lanczos coefficients (g = 7, n = 9).
const LANCZOS: [f64; 9] = [
    0.999_999_999_999_809_9,
    676.520_368_121_885_1,
    -1_259.139_216_722_402_8,
    771.323_428_777_653_1,
    -176.615_029_162_140_6,
    12.507_343_278_686_905,
    -0.138_571_095_265_720_12,
    9.984_369_578_019_572e-6,
    1.505_632_735_149_311_6e-7,
];

/// ln |Γ(x)|.
fn ln_gamma(x: f64) -> f64 {
    if x < 0.5 {
        // Reflection: Γ(x) Γ(1 − x) = π / sin(πx).
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin())
            .abs()
            .ln()
            - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + 7.5;
    let sum = LANCZOS
        .iter()
        .enumerate()
        .skip(1)
        .fold(LANCZOS[0], |acc, (i, c)| acc + c / (x + i as f64));
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

fn gamma(x: f64) -> f64 {
    if x == x.floor() && x <= 0.0 {
        return f64::NAN;
    }
    // Whole numbers up to 170 are exact factorials.
    if x == x.floor() && x <= 171.0 {
        return (1..x as u64).fold(1.0, |acc, k| acc * k as f64);
    }
    let g = ln_gamma(x).exp();
    if x < 0.0 && (x.floor() as i64).rem_euclid(2) == 1 {
        -g
    } else {
        g
    }
}

fn erf(x: f64) -> f64 {
    if x.abs() >= 2.0 {
        return x.signum() * (1.0 - erfc(x.abs()));
    }
    // erf(x) = 2/√π · e^(−x²) · Σ 2ⁿ x^(2n+1) / (1·3·…·(2n+1)): all terms positive.
    let mut term = x;
    let mut sum = x;
    for n in 1..200 {
        term *= 2.0 * x * x / (2 * n + 1) as f64;
        sum += term;
        if term.abs() < sum.abs() * 1e-17 {
            break;
        }
    }
    2.0 / std::f64::consts::PI.sqrt() * (-x * x).exp() * sum
}

fn erfc(x: f64) -> f64 {
    if x < 0.0 {
        return 2.0 - erfc(-x);
    }
    if x < 2.0 {
        return 1.0 - erf(x);
    }
    // The continued fraction e^(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))).
    let mut tail = x;
    for n in (1..200).rev() {
        tail = x + (n as f64 / 2.0) / tail;
    }
    (-x * x).exp() / std::f64::consts::PI.sqrt() / tail
}

/// The continued fraction of the regularized incomplete beta function (modified Lentz).
fn beta_fraction(x: f64, a: f64, b: f64) -> f64 {
    let tiny = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < tiny {
        d = tiny;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..300 {
        let m = f64::from(m);
        let m2 = 2.0 * m;
        for aa in [
            m * (b - m) * x / ((qam + m2) * (a + m2)),
            -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
        ] {
            d = 1.0 + aa * d;
            if d.abs() < tiny {
                d = tiny;
            }
            c = 1.0 + aa / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            h *= d * c;
        }
        if (d * c - 1.0).abs() < 1e-16 {
            break;
        }
    }
    h
}

/// The regularized incomplete beta function I_x(a, b): the beta distribution's CDF.
fn beta_cdf(x: f64, a: f64, b: f64) -> f64 {
    if !(0.0..=1.0).contains(&x) {
        return f64::NAN;
    }
    if x == 0.0 || x == 1.0 {
        return x;
    }
    let front =
        (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_fraction(x, a, b) / a
    } else {
        1.0 - front * beta_fraction(1.0 - x, b, a) / b
    }
}

fn beta_pdf(x: f64, a: f64, b: f64) -> f64 {
    if !(0.0..=1.0).contains(&x) || a <= 0.0 || b <= 0.0 {
        return f64::NAN;
    }
    ((a - 1.0) * x.ln() + (b - 1.0) * (1.0 - x).ln() + ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b))
        .exp()
}

/// The x whose CDF is p, by bisection (the CDF rises monotonically on [0, 1]).
fn beta_inv(p: f64, a: f64, b: f64) -> Option<f64> {
    if !(0.0..=1.0).contains(&p) {
        return None;
    }
    if a <= 0.0 || b <= 0.0 {
        return Some(f64::NAN);
    }
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    for _ in 0..200 {
        let mid = (lo + hi) / 2.0;
        if beta_cdf(mid, a, b) < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Some((lo + hi) / 2.0)
}

/// The two-sided p-value of Welch's t-test for two samples' means, variances and counts.
fn welch_test(m1: f64, v1: f64, n1: f64, m2: f64, v2: f64, n2: f64) -> f64 {
    let (s1, s2) = (v1 / n1, v2 / n2);
    let t = (m1 - m2) / (s1 + s2).sqrt();
    let df = (s1 + s2).powi(2) / (s1 * s1 / (n1 - 1.0) + s2 * s2 / (n2 - 1.0));
    // Student's t: P(|T| > |t|) = I_{df/(df+t²)}(df/2, 1/2).
    beta_cdf(df / (df + t * t), df / 2.0, 0.5)
}

/// `f` of the arguments as numbers: null when one is not a number, when there are none, or
/// when `f` has no answer.
fn reals(args: &[Value], f: fn(&[f64]) -> Option<f64>) -> Value {
    let xs: Option<Vec<f64>> = (0..args.len()).map(|i| as_f64(&arg(args, i))).collect();
    let Some(xs) = xs.filter(|xs| !xs.is_empty()) else {
        return Value::Null;
    };
    f(&xs).map_or(Value::Null, Value::Real)
}

/// The `i`th number (NaN past the end).
fn at(xs: &[f64], i: usize) -> f64 {
    xs.get(i).copied().unwrap_or(f64::NAN)
}
