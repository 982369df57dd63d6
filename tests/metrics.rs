//! Diversity metrics: the authors' correlations on their reference weights, and properties of
//! the symmetry gap, distinct-feature counts and effective width.
mod common;

use approx::assert_abs_diff_eq;
use featdiv::init::InitSpec;
use featdiv::metrics::{
    self, correlation_matrix, correlations, distinct_features, participation_ratio, symmetry_gap,
    ulp_distance,
};
use featdiv::models::Model;
use proptest::prelude::*;
use tch::{Kind, Tensor};

fn reference() -> serde_json::Value {
    let text =
        std::fs::read_to_string(common::fixture("reference/correlation_public.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn correlations_match_the_authors_reference_to_1e_6() {
    let expected = reference();
    let weights = Tensor::read_npz(common::fixture("reference/correlation_public.npz")).unwrap();
    assert_eq!(weights.len(), 4);
    for (name, w) in &weights {
        let e = &expected["expected"][name];
        let c = correlations(w);
        assert_abs_diff_eq!(c.forward, e["forward"].as_f64().unwrap(), epsilon = 1e-6);
        assert_abs_diff_eq!(c.backward, e["backward"].as_f64().unwrap(), epsilon = 1e-6);
        assert_abs_diff_eq!(c.all, e["all"].as_f64().unwrap(), epsilon = 1e-6);
    }
}

#[test]
fn correlations_negative_control_a_perturbed_weight_moves_off_the_reference() {
    let expected = reference();
    let weights = Tensor::read_npz(common::fixture("reference/correlation_public.npz")).unwrap();
    let (name, w) = &weights[1];
    tch::manual_seed(0);
    let c = correlations(&(w + w.randn_like() * 0.1));
    assert!((c.forward - expected["expected"][name]["forward"].as_f64().unwrap()).abs() > 1e-6);
}

#[test]
fn constant_rows_count_as_fully_correlated() {
    let rows = Tensor::ones([5, 7], (Kind::Double, tch::Device::Cpu));
    assert_eq!(
        metrics::mean_lower_triangle(&correlation_matrix(&rows)),
        1.0
    );
}

#[test]
fn ulp_distance_counts_representable_floats() {
    assert_eq!(ulp_distance(1.0, 1.0), 0);
    assert_eq!(ulp_distance(1.0, f32::from_bits(1.0f32.to_bits() + 3)), 3);
    assert_eq!(ulp_distance(-0.0, 0.0), 0);
    assert_eq!(ulp_distance(f32::from_bits(1), -f32::from_bits(1)), 2);
}

fn weight(rows: i64, cols: i64) -> Tensor {
    Tensor::randn([rows, cols], (Kind::Float, tch::Device::Cpu))
}

proptest! {
    // Cheap properties: 32 cases each.
    #![proptest_config(common::proptest_config(32, "proptest-regressions/metrics.txt"))]

    #[test]
    fn correlations_are_invariant_under_permuting_features(o in 2i64..40, i in 2i64..40, seed in 0i64..1000) {
        tch::manual_seed(seed);
        let w = weight(o, i);
        let c = correlations(&w);
        let p_out = Tensor::randperm(o, (Kind::Int64, tch::Device::Cpu));
        let p_in = Tensor::randperm(i, (Kind::Int64, tch::Device::Cpu));
        let permuted = correlations(&w.index_select(0, &p_out).index_select(1, &p_in));
        prop_assert!((c.forward - permuted.forward).abs() < 1e-9);
        prop_assert!((c.backward - permuted.backward).abs() < 1e-9);
        prop_assert!((c.all - permuted.all).abs() < 1e-9);
    }

    #[test]
    fn symmetry_gap_is_zero_exactly_for_identical_features(n in 2i64..64, d in 1i64..50, k in 1usize..8, seed in 0i64..1000, which in 0usize..1000, bump_exp in -20i32..0) {
        let k = k.min(n as usize);
        tch::manual_seed(seed);
        let unique = weight(k as i64, d);
        let groups: Vec<usize> = (0..n as usize).map(|j| j % k).collect();
        let rows = unique.index_select(0, &Tensor::from_slice(&groups.iter().map(|&g| g as i64).collect::<Vec<_>>()));
        let gap = symmetry_gap(&rows, &groups);
        prop_assert_eq!(gap.abs, 0.0);
        prop_assert_eq!(gap.ulps, 0);
        prop_assert_eq!(distinct_features(&rows, 0.0), k);
        // Negative control: perturb one entry of one feature that shares its group.
        prop_assume!(n as usize > k);
        let j = k + which % (n as usize - k);
        let col = (which % d as usize) as i64;
        let bumped = rows.copy();
        let v = bumped.double_value(&[j as i64, col]);
        let _ = bumped.get(j as i64).get(col).fill_(v + v.abs().max(1e-3) * 2f64.powi(bump_exp));
        let gap = symmetry_gap(&bumped, &groups);
        prop_assert!(gap.abs > 0.0 && gap.ulps > 0, "bumped feature {} must show a gap, got {:?}", j, gap);
        prop_assert_eq!(distinct_features(&bumped, 0.0), k + 1);
    }

    #[test]
    fn effective_width_of_k_unique_is_k(k in 1usize..33, copies in 1usize..9, seed in 0i64..1000) {
        let width = k * copies;
        let mut mlp = featdiv::models::Mlp::new(tch::Device::Cpu, 784, &[width], 10, 0.0);
        tch::manual_seed(seed);
        featdiv::init::init_mlp(&mut mlp, &InitSpec::KUnique { k, tied: true }).unwrap();
        let layer = &mlp.feature_layers()[0];
        let d = metrics::layer_diversity(layer, true);
        prop_assert_eq!(d.distinct_exact, k);
        prop_assert_eq!(d.distinct_tol, k);
        prop_assert_eq!(d.gap_abs, 0.0);
        // Distinct He rows of dimension D are nearly orthogonal: their correlations are O(1/sqrt(D)),
        // which lowers the participation ratio to about K / (1 + (K-1)/D).
        let expected_pr = k as f64 / (1.0 + (k as f64 - 1.0) / 784.0);
        prop_assert!((d.width_participation - expected_pr).abs() <= 0.1 * k as f64, "PR {} vs {}", d.width_participation, expected_pr);
        // N / (1 + (N-1) rho) recovers K when rho is the fraction of same-group pairs.
        prop_assert!((d.width_rho - k as f64).abs() <= 0.15 * k as f64 + 0.5, "width_rho {} vs K {}", d.width_rho, k);
        // Negative control: He rows are all distinct.
        let mut he = featdiv::models::Mlp::new(tch::Device::Cpu, 784, &[width], 10, 0.0);
        featdiv::init::init_mlp(&mut he, &InitSpec::He).unwrap();
        prop_assert_eq!(metrics::layer_diversity(&he.feature_layers()[0], false).distinct_exact, width);
    }
}

#[test]
fn participation_ratio_bounds() {
    let eye = Tensor::eye(6, (Kind::Double, tch::Device::Cpu));
    assert_abs_diff_eq!(participation_ratio(&eye), 6.0, epsilon = 1e-12);
    let ones = Tensor::ones([6, 6], (Kind::Double, tch::Device::Cpu));
    assert_abs_diff_eq!(participation_ratio(&ones), 1.0, epsilon = 1e-12);
}

#[test]
fn diversity_of_the_reference_checkpoint_snapshot() {
    let layers = featdiv::checkpoint::checkpoint_diversity(&common::fixture(
        "reference/correlation_public.npz",
    ))
    .unwrap();
    let rounded: Vec<serde_json::Value> = layers
        .iter()
        .map(|l| {
            serde_json::json!({
                "name": l.name, "shape": l.shape,
                "forward": common::sig(l.forward, 6), "backward": common::sig(l.backward, 6), "all": common::sig(l.all.unwrap(), 6),
                "gap_abs": common::sig(l.gap_abs, 4), "distinct_exact": l.distinct_exact,
                "width_participation": common::sig(l.width_participation, 4), "width_rho": common::sig(l.width_rho, 4),
            })
        })
        .collect();
    snapshot_json!("reference_checkpoint_diversity", rounded);
}
