//! Dropout, the symmetry breaker, with a mask that costs about p n random draws instead of n.
//! libtorch's CPU dropout draws one Bernoulli number per element on one thread (its vectorized
//! MKL path is taken on Intel CPUs only): on an AMD EPYC that made a WRN-10-1 step with dropout
//! 0.01 1.4 times as long as one without. The gaps between the dropped elements of an i.i.d.
//! Bernoulli(p) sequence are i.i.d. Geometric(p), so drawing the gaps gives the same law.
use tch::{Device, Kind, Tensor};

/// Above this rate the gaps are short and drawing them saves little over libtorch's dropout.
const SPARSE_UP_TO: f64 = 0.1;

/// Inverted dropout: in training each element is zeroed independently with probability `p` and
/// the others are scaled by 1 / (1 - p); in evaluation, or at p = 0, `x` itself.
pub fn dropout(x: &Tensor, p: f64, train: bool) -> Tensor {
    if !train || p == 0.0 {
        return x.shallow_clone();
    }
    if p > SPARSE_UP_TO || x.device() != Device::Cpu || !dense(&x.size(), &x.stride()) {
        // CUDA's dropout is one fused kernel already.
        return x.dropout(p, train);
    }
    x * sparse_mask(x, p)
}

/// 1 / (1 - p) everywhere but at the dropped elements, laid out as `x` (channels-last included),
/// in x's dtype as libtorch's mask is.
fn sparse_mask(x: &Tensor, p: f64) -> Tensor {
    let n = x.numel() as i64;
    let mut kept = Tensor::full([n], 1.0 / (1.0 - p), (x.kind(), Device::Cpu));
    let _ = kept.index_fill_(0, &dropped_positions(n, p), 0.0);
    kept.as_strided(x.size(), x.stride(), None)
}

/// The positions in 0..n where an i.i.d. Bernoulli(p) sequence came up 1, in increasing order.
fn dropped_positions(n: i64, p: f64) -> Tensor {
    let mut parts = Vec::new();
    // Position of the last success drawn so far; the first lies Geometric(p) - 1 past the start.
    let mut last = -1i64;
    while last < n {
        let expected = (n - last) as f64 * p;
        let draws = (expected + 6.0 * expected.sqrt()).ceil() as i64 + 16;
        let gaps = Tensor::empty([draws], (Kind::Double, Device::Cpu)).geometric_(p);
        // Whole numbers below 2^53: the double sums are exact.
        let positions = gaps.cumsum(0, Kind::Double).to_kind(Kind::Int64) + last;
        last = positions.int64_value(&[draws - 1]);
        parts.push(positions);
    }
    let positions = Tensor::cat(&parts, 0);
    positions.masked_select(&positions.lt(n))
}

/// Whether a tensor of these sizes and strides covers its n elements exactly once (contiguous
/// or any permutation of it, channels-last among them).
fn dense(size: &[i64], stride: &[i64]) -> bool {
    let mut dims: Vec<(i64, i64)> = stride.iter().copied().zip(size.iter().copied()).collect();
    dims.sort_unstable();
    let mut expected = 1;
    for (stride, size) in dims {
        if size != 1 && stride != expected {
            return false;
        }
        expected *= size;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ones(shape: &[i64]) -> Tensor {
        Tensor::ones(shape, (Kind::Float, Device::Cpu))
    }

    /// Number of dropped elements in 0..n must fall within 6 standard deviations of n p.
    fn assert_binomial(dropped: i64, n: i64, p: f64) {
        let (mean, sd) = (n as f64 * p, (n as f64 * p * (1.0 - p)).sqrt());
        let z = (dropped as f64 - mean) / sd;
        assert!(
            z.abs() < 6.0,
            "{dropped} dropped of {n} at p = {p}: z = {z:.1}"
        );
    }

    #[test]
    fn drops_a_fraction_p_and_scales_the_rest() {
        // The default generator is process-global: tests that draw from it take turns.
        let _turn = crate::determinism::global_state_lock();
        tch::manual_seed(0);
        for p in [0.001, 0.01, 0.1] {
            let y = dropout(&ones(&[64, 16, 28, 28]), p, true);
            let n = y.numel() as i64;
            let zeros = y.eq(0.0).sum(Kind::Int64).int64_value(&[]);
            assert_binomial(zeros, n, p);
            let scale = 1.0 / (1.0 - p) as f32;
            let kept = y.ne(0.0).sum(Kind::Int64).int64_value(&[]);
            let exact = y.eq(scale as f64).sum(Kind::Int64).int64_value(&[]);
            assert_eq!(kept, exact, "p = {p}: survivors scaled by 1 / (1 - p)");
        }
    }

    #[test]
    fn every_channel_and_position_is_dropped_alike() {
        // The default generator is process-global: tests that draw from it take turns.
        let _turn = crate::determinism::global_state_lock();
        // Channels-last: the mask follows x's layout, so a mistaken layout would leave whole
        // stretches of one channel or image undropped.
        tch::manual_seed(1);
        let x = crate::precision::channels_last(&ones(&[32, 16, 28, 28]));
        let p = 0.01;
        let y = dropout(&x, p, true);
        assert_eq!(y.stride(), x.stride());
        let zeros = y.eq(0.0).to_kind(Kind::Int64);
        for dim in [0i64, 1, 2, 3] {
            let others: Vec<i64> = (0..4).filter(|d| *d != dim).collect();
            let counts =
                Vec::<i64>::try_from(zeros.sum_dim_intlist(&others[..], false, Kind::Int64))
                    .unwrap();
            let n = x.numel() as i64 / x.size()[dim as usize];
            for c in counts {
                assert_binomial(c, n, p);
            }
        }
    }

    #[test]
    fn short_sequences_and_many_gaps_are_drawn_to_the_end() {
        // The default generator is process-global: tests that draw from it take turns.
        let _turn = crate::determinism::global_state_lock();
        tch::manual_seed(2);
        let mut dropped = 0;
        let (trials, n, p) = (4000, 7, 0.1);
        for _ in 0..trials {
            let positions = dropped_positions(n, p);
            let v = Vec::<i64>::try_from(&positions).unwrap();
            assert!(v.windows(2).all(|w| w[0] < w[1]) && v.iter().all(|&i| (0..n).contains(&i)));
            dropped += v.len() as i64;
        }
        assert_binomial(dropped, trials * n, p);
        // The last position of a long sequence is reached: the tail is not left undropped.
        let long = Vec::<i64>::try_from(&dropped_positions(1_000_000, 0.01)).unwrap();
        assert!(
            long.last().is_some_and(|&i| i > 999_000),
            "{:?}",
            long.last()
        );
    }

    #[test]
    fn the_gradient_passes_through_the_same_mask() {
        // The default generator is process-global: tests that draw from it take turns.
        let _turn = crate::determinism::global_state_lock();
        tch::manual_seed(3);
        let x = ones(&[8, 4, 6, 6]).set_requires_grad(true);
        let y = dropout(&x, 0.05, true);
        y.sum(Kind::Float).backward();
        assert!(x.grad().equal(&y.detach()), "d sum / dx is the mask");
    }

    #[test]
    fn evaluation_zero_rate_and_repeated_calls() {
        // The default generator is process-global: tests that draw from it take turns.
        let _turn = crate::determinism::global_state_lock();
        let x = ones(&[4, 3, 5, 5]);
        assert!(dropout(&x, 0.5, false).equal(&x));
        assert!(dropout(&x, 0.0, true).equal(&x));
        tch::manual_seed(4);
        let big = ones(&[16, 16, 16, 16]);
        assert!(!dropout(&big, 0.01, true).equal(&dropout(&big, 0.01, true)));
        // Above SPARSE_UP_TO, libtorch's dropout: the same law.
        let y = dropout(&big, 0.3, true);
        let zeros = y.eq(0.0).sum(Kind::Int64).int64_value(&[]);
        assert_binomial(zeros, big.numel() as i64, 0.3);
    }

    #[test]
    fn dense_layouts_only() {
        assert!(dense(&[2, 3, 4, 5], &[60, 20, 5, 1]));
        assert!(dense(&[2, 3, 4, 5], &[60, 1, 15, 3])); // channels-last
        assert!(dense(&[2, 1, 4], &[4, 99, 1]));
        assert!(!dense(&[2, 3], &[6, 1])); // a strided slice
        assert!(!dense(&[2, 3], &[0, 1])); // broadcast
    }
}
