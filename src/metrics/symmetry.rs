//! Symmetry gap between features that were identical at init, and counts of distinct features.
use serde::Serialize;
use tch::{Kind, Tensor};

#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct SymmetryGap {
    /// max |F[o] - F[o']| over features o, o' of one group.
    pub abs: f64,
    /// The same in float32 ulps at the layer's largest |entry| (see `symmetry_gap`).
    pub ulps: u64,
}

/// Distance in float32 ulps: how many representable floats lie between a and b.
pub fn ulp_distance(a: f32, b: f32) -> u64 {
    let ord = |x: f32| -> i64 {
        let bits = x.to_bits() as i32 as i64;
        if bits < 0 {
            i32::MIN as i64 - bits
        } else {
            bits
        }
    };
    (ord(a) - ord(b)).unsigned_abs()
}

/// Spacing of float32 numbers (one ulp) at magnitude `x`.
pub fn ulp_at(x: f64) -> f64 {
    let x = (x.abs() as f32).max(f32::MIN_POSITIVE);
    let next = f32::from_bits(x.to_bits() + 1);
    (next - x) as f64
}

/// Gap within each group of `groups` (group id per row of `rows`), against its first member.
/// Ulps are counted at the scale of the layer's largest |entry|: a gap of 1 ulp is one rounding
/// step of the largest weight, whatever the size of the entries that differ.
pub fn symmetry_gap(rows: &Tensor, groups: &[usize]) -> SymmetryGap {
    let n = rows.size()[0] as usize;
    assert_eq!(n, groups.len(), "one group id per feature");
    if n == 0 {
        return SymmetryGap { abs: 0.0, ulps: 0 };
    }
    let mut first = std::collections::HashMap::new();
    let reference: Vec<i64> = groups
        .iter()
        .enumerate()
        .map(|(j, g)| *first.entry(*g).or_insert(j) as i64)
        .collect();
    let rows = rows.to_kind(Kind::Float);
    let refs = rows.index_select(0, &Tensor::from_slice(&reference).to_device(rows.device()));
    let abs = (&rows - &refs).abs().max().double_value(&[]);
    let scale = rows.abs().max().double_value(&[]);
    let ulps = (abs / ulp_at(scale)).ceil() as u64;
    SymmetryGap { abs, ulps }
}

/// Number of distinct rows: bitwise when `rel_tol` is 0; else greedily, in row order, each row not
/// yet claimed becomes a representative and claims every row within rel_tol * max|F| of it
/// (largest absolute difference; a NaN difference claims nothing).
pub fn distinct_features(rows: &Tensor, rel_tol: f64) -> usize {
    let rows = rows
        .to_kind(Kind::Float)
        .to_device(tch::Device::Cpu)
        .contiguous();
    let n = rows.size()[0];
    if n == 0 {
        return 0;
    }
    if rel_tol == 0.0 {
        // Bit patterns, so -0.0 and 0.0 (and NaNs) count as the same only where they are.
        let bits = rows.view_dtype(Kind::Int).reshape([n, -1]);
        let (unique, _, _) = bits.unique_dim(0, false, false, false);
        return unique.size()[0] as usize;
    }
    let numel = rows.numel();
    if numel == 0 {
        return 1; // rows without entries are all the same row
    }
    // Compared in float32, as a float tensor compares with a scalar.
    let tol = (rel_tol * rows.abs().max().double_value(&[])) as f32;
    let mut flat = vec![0f32; numel];
    rows.copy_data(&mut flat, numel);
    greedy_representatives(&flat, numel / n as usize, tol)
}

/// The greedy count of `distinct_features` on `flat`, rows of `d >= 1` entries. A pair of rows is
/// dismissed at its first entry apart by more than `tol`, which for distinct features is
/// almost always the first: a few comparisons a pair instead of a pass over every entry
/// (features of 785 entries: 54 ms a layer with a tensor pass per representative).
fn greedy_representatives(flat: &[f32], d: usize, tol: f32) -> usize {
    let rows: Vec<&[f32]> = flat.chunks_exact(d).collect();
    let mut claimed = vec![false; rows.len()];
    let mut reps = 0;
    for (j, rep) in rows.iter().enumerate() {
        if claimed[j] {
            continue;
        }
        reps += 1;
        for (k, row) in rows.iter().enumerate().skip(j + 1) {
            if !claimed[k]
                && row
                    .iter()
                    .zip(rep.iter())
                    .all(|(a, b)| (a - b).abs() <= tol)
            {
                claimed[k] = true;
            }
        }
    }
    reps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(v: &[f32], n: i64) -> Tensor {
        Tensor::from_slice(v).view([n, v.len() as i64 / n.max(1)])
    }

    #[test]
    fn ulps_count_representable_floats() {
        assert_eq!(ulp_distance(1.0, 1.0), 0);
        assert_eq!(ulp_distance(1.0, f32::from_bits(1.0f32.to_bits() + 3)), 3);
        assert_eq!(ulp_distance(-0.0, 0.0), 0);
        assert_eq!(ulp_distance(f32::from_bits(1), -f32::from_bits(1)), 2);
        assert_eq!(ulp_at(1.0), 2f64.powi(-23));
        assert_eq!(ulp_at(-2.0), 2f64.powi(-22));
        assert_eq!(ulp_at(0.0), ulp_at(f32::MIN_POSITIVE as f64));
    }

    #[test]
    fn the_gap_is_measured_within_groups_only() {
        let r = rows(&[1.0, 2.0, 1.0, 2.0, 5.0, 6.0, 5.0, 6.5], 4);
        assert_eq!(
            symmetry_gap(&r, &[0, 0, 1, 2]),
            SymmetryGap { abs: 0.0, ulps: 0 }
        );
        let g = symmetry_gap(&r, &[0, 0, 1, 1]);
        assert_eq!(g.abs, 0.5);
        // 0.5 at the scale of the largest entry (6.5): 0.5 / 2^-21 ulps.
        assert_eq!(g.ulps, (0.5 / ulp_at(6.5)).ceil() as u64);
        assert_eq!(
            symmetry_gap(&Tensor::zeros([0, 2], (Kind::Float, tch::Device::Cpu)), &[]).abs,
            0.0
        );
    }

    #[test]
    fn distinct_features_exactly_and_within_a_tolerance() {
        let r = rows(&[1.0, 2.0, 1.0, 2.0, 1.0, 2.00001, 3.0, 4.0], 4);
        assert_eq!(distinct_features(&r, 0.0), 3);
        assert_eq!(distinct_features(&r, 1e-4), 2);
        assert_eq!(distinct_features(&r, 1.0), 1);
        assert_eq!(
            distinct_features(&Tensor::zeros([0, 2], (Kind::Float, tch::Device::Cpu)), 0.0),
            0
        );
        let empty_rows = Tensor::zeros([3, 0], (Kind::Float, tch::Device::Cpu));
        assert_eq!(distinct_features(&empty_rows, 1e-4), 1);
    }

    /// The tensor formulation `distinct_features` replaced: one pass over every row per
    /// representative.
    fn distinct_by_tensor_passes(rows: &Tensor, rel_tol: f64) -> usize {
        let n = rows.size()[0];
        let tol = rel_tol * rows.abs().max().double_value(&[]);
        let mut claimed = Tensor::zeros([n], (Kind::Bool, rows.device()));
        let mut reps = 0;
        loop {
            let open = claimed.logical_not().nonzero();
            if open.size()[0] == 0 {
                return reps;
            }
            let j = open.int64_value(&[0, 0]);
            reps += 1;
            let near = (rows - rows.get(j)).abs().amax([1i64], false).le(tol);
            claimed = claimed.logical_or(&near);
            let _ = claimed.get(j).fill_(1);
        }
    }

    proptest::proptest! {
        /// Rows drawn from a few prototypes, each entry moved by a multiple of a small step, with
        /// NaN and infinities mixed in: the count matches the tensor formulation exactly.
        #[test]
        fn the_greedy_count_matches_the_tensor_passes(
            n in 1usize..24,
            d in 1usize..6,
            protos in proptest::collection::vec(-4i32..4, 18),
            picks in proptest::collection::vec((0usize..3, -3i32..4), 24 * 6),
            specials in proptest::collection::vec(0usize..40, 0..3),
            rel_tol in proptest::sample::select(vec![1e-4, 0.01, 0.1, 0.5, 2.0]),
        ) {
            let mut v: Vec<f32> = (0..n * d)
                .map(|i| {
                    let (p, step) = picks[i];
                    protos[(p * 6 + i % d) % 18] as f32 + step as f32 * 0.05
                })
                .collect();
            for (k, s) in specials.iter().enumerate() {
                if let Some(x) = v.get_mut(*s) {
                    *x = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY][k % 3];
                }
            }
            let r = rows(&v, n as i64);
            proptest::prop_assert_eq!(
                distinct_features(&r, rel_tol),
                distinct_by_tensor_passes(&r, rel_tol)
            );
        }
    }
}
