//! The two-proportion z-test reported next to each decision: is Rust's error rate higher than
//! Python's by more than chance?

/// One-sided p-value of H1 "rust error rate > python error rate".
pub fn two_proportion_p_value(
    py_errors: u64,
    py_n: u64,
    rust_errors: u64,
    rust_n: u64,
) -> Option<f64> {
    if py_n == 0 || rust_n == 0 {
        return None;
    }
    let (n1, n2) = (py_n as f64, rust_n as f64);
    let (p1, p2) = (py_errors as f64 / n1, rust_errors as f64 / n2);
    let pooled = (py_errors + rust_errors) as f64 / (n1 + n2);
    let se = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    if se == 0.0 {
        return Some(if p2 > p1 { 0.0 } else { 1.0 });
    }
    let z = (p2 - p1) / se;
    Some(0.5 * erfc(z / std::f64::consts::SQRT_2))
}

/// Complementary error function (W. J. Cody's rational approximations via the Numerical Recipes
/// `erfcc` form; relative error below 1.2e-7 everywhere).
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erfc_values() {
        for (x, want) in [
            (0.0, 1.0),
            (0.5, 0.479_500_122),
            (1.0, 0.157_299_207),
            (2.0, 0.004_677_735),
            (-1.0, 1.842_700_793),
        ] {
            assert!((erfc(x) - want).abs() < 1e-6, "erfc({x})");
        }
    }

    #[test]
    fn z_test() {
        // Same rates: p = 0.5.
        let p = two_proportion_p_value(10, 1000, 10, 1000).unwrap();
        assert!((p - 0.5).abs() < 1e-6);
        // 1% vs 5% on 1000 each: clearly significant.
        assert!(two_proportion_p_value(10, 1000, 50, 1000).unwrap() < 1e-6);
        // Rust better: p near 1.
        assert!(two_proportion_p_value(50, 1000, 10, 1000).unwrap() > 0.99);
        assert_eq!(two_proportion_p_value(0, 0, 1, 1), None);
        assert_eq!(two_proportion_p_value(0, 100, 0, 100), Some(1.0));
    }
}
