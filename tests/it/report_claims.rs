//! The statistics behind the report's verdicts, against hand-computed values.
use approx::assert_abs_diff_eq;
use featdiv::claims::stats::{spearman, spearman_critical};
use featdiv::config::LeakyCode;

fn averaging_layers(code: &str) -> usize {
    LeakyCode::parse(code, 16).unwrap().averaging_layers()
}

#[test]
fn spearman_matches_hand_computed_ranks() {
    assert_abs_diff_eq!(spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]), -1.0);
    assert_abs_diff_eq!(spearman(&[1.0, 2.0, 3.0], &[10.0, 20.0, 25.0]), 1.0);
    // Ties share the average rank: x ranks (0, 1, 2, 3), y ranks (0.5, 0.5, 2, 3).
    let r = spearman(&[1.0, 2.0, 3.0, 4.0], &[5.0, 5.0, 6.0, 7.0]);
    assert_abs_diff_eq!(r, 0.9486832980505138, epsilon = 1e-12);
    // No variance in one of them: undefined, never a verdict.
    assert!(spearman(&[0.0, 2.0, 4.0], &[0.3, 0.3, 0.3]).is_nan());
}

#[test]
fn spearman_critical_values_are_the_one_sided_5_percent_table() {
    assert!(
        spearman_critical(4).is_infinite(),
        "4 codes can never reach it"
    );
    assert_abs_diff_eq!(spearman_critical(6), 0.829);
    assert_abs_diff_eq!(spearman_critical(7), 0.714);
    // Past the table, the normal approximation continues it downwards.
    assert!(spearman_critical(11) < spearman_critical(10));
}

#[test]
fn averaging_layers_skip_the_stem() {
    assert_eq!(averaging_layers("1_iiii_iiii_iiii"), 0);
    assert_eq!(averaging_layers("1_iiii_11ii_iiii"), 2);
    assert_eq!(averaging_layers("1_1111_1111_1111"), 12);
    assert_eq!(averaging_layers("h_hhhh_hhhh_hhhh"), 0);
}
