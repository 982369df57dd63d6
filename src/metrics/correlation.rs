//! The authors' weight correlations: rho = mean of the strictly lower triangle of the Pearson
//! correlation matrix of a weight's rows, NaN entries (constant rows) counted as 1.
use serde::Serialize;
use tch::{Device, Kind, Tensor};

/// The authors subsampled to this many rows; we take evenly spaced rows so results are repeatable.
pub const MAX_ROWS: i64 = 5000;

#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Correlations {
    pub forward: f64,
    pub backward: f64,
    pub all: f64,
}

/// A weight as float64 rows: `forward`, one row per output channel [O, I*kh*kw]; `backward`, one
/// row per input channel [I, O*kh*kw]; `all`, one row per (o, i) kernel [O*I, kh*kw].
pub struct WeightRows {
    pub forward: Tensor,
    pub backward: Tensor,
    pub all: Tensor,
}

impl WeightRows {
    pub fn of(w: &Tensor) -> WeightRows {
        let w = w.detach().to_device(Device::Cpu).to_kind(Kind::Double);
        let w = if w.dim() == 1 { w.unsqueeze(1) } else { w };
        let s = w.size();
        let (o, i) = (s[0], s[1]);
        WeightRows {
            forward: w.reshape([o, -1]),
            backward: w.transpose(0, 1).reshape([i, -1]),
            all: w.reshape([o * i, -1]),
        }
    }
}

pub fn correlations(w: &Tensor) -> Correlations {
    let rows = WeightRows::of(w);
    Correlations {
        forward: rows_rho(&rows.forward),
        backward: rows_rho(&rows.backward),
        all: rows_rho(&rows.all),
    }
}

/// The authors' rho of a set of rows (subsampled to MAX_ROWS).
pub fn rows_rho(rows: &Tensor) -> f64 {
    // Rows of length 1 are constant: every entry is NaN, counted as 1.
    if rows.size()[1] == 1 {
        return 1.0;
    }
    mean_lower_triangle(&correlation_matrix(&subsample(rows)))
}

pub fn subsample(rows: &Tensor) -> Tensor {
    let n = rows.size()[0];
    if n <= MAX_ROWS {
        return rows.shallow_clone();
    }
    let idx = Tensor::linspace(0.0, (n - 1) as f64, MAX_ROWS, (Kind::Double, Device::Cpu))
        .to_kind(Kind::Int64);
    rows.index_select(0, &idx)
}

/// Pearson correlation of the rows (float64), as numpy's corrcoef, with NaN set to 1.
pub fn correlation_matrix(rows: &Tensor) -> Tensor {
    let x = rows.to_kind(Kind::Double);
    let centred = &x - x.mean_dim(1, true, Kind::Double);
    let cov = centred.matmul(&centred.tr());
    let std = cov.diagonal(0, 0, 1).sqrt();
    let c = (cov / std.unsqueeze(1) / std.unsqueeze(0)).clamp(-1.0, 1.0);
    c.nan_to_num(1.0, None, None)
}

/// Mean of the strictly lower triangle; NaN for fewer than two rows.
pub fn mean_lower_triangle(c: &Tensor) -> f64 {
    let n = c.size()[0];
    if n < 2 {
        return f64::NAN;
    }
    c.tril(-1).sum(Kind::Double).double_value(&[]) / (n * (n - 1) / 2) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &[f64], shape: &[i64]) -> Tensor {
        Tensor::from_slice(v).view(shape)
    }

    #[test]
    fn subsampling_keeps_small_layers_whole_and_spans_large_ones() {
        let small = Tensor::arange(6, (Kind::Double, Device::Cpu)).view([3, 2]);
        assert_eq!(subsample(&small), small);
        let n = MAX_ROWS + 1000;
        let large = Tensor::arange(n, (Kind::Double, Device::Cpu)).view([n, 1]);
        let s = subsample(&large);
        assert_eq!(s.size(), [MAX_ROWS, 1]);
        assert_eq!(s.double_value(&[0, 0]), 0.0);
        assert_eq!(s.double_value(&[MAX_ROWS - 1, 0]), (n - 1) as f64);
    }

    #[test]
    fn correlations_of_known_rows() {
        let same = t(&[1.0, 2.0, 3.0, 2.0, 4.0, 6.0], &[2, 3]);
        assert!((rows_rho(&same) - 1.0).abs() < 1e-12);
        let opposite = t(&[1.0, 2.0, 3.0, 3.0, 2.0, 1.0], &[2, 3]);
        assert!((rows_rho(&opposite) + 1.0).abs() < 1e-12);
        // Constant rows have no correlation: counted as 1.
        assert_eq!(rows_rho(&t(&[1.0; 6], &[2, 3])), 1.0);
        // Rows of length 1 are constant.
        assert_eq!(rows_rho(&t(&[1.0, 2.0], &[2, 1])), 1.0);
        assert!(mean_lower_triangle(&t(&[1.0], &[1, 1])).is_nan());
        let c = correlation_matrix(&t(&[1.0, 2.0, 3.0, 3.0, 2.0, 1.0, 1.0, 3.0, 2.0], &[3, 3]));
        assert!((mean_lower_triangle(&c) - (-1.0 + 0.5 - 0.5) / 3.0).abs() < 1e-12);
    }

    #[test]
    fn forward_backward_and_kernel_rows() {
        let w = Tensor::arange(2 * 3 * 2 * 2, (Kind::Float, Device::Cpu)).view([2, 3, 2, 2]);
        let r = WeightRows::of(&w);
        assert_eq!(r.forward.size(), [2, 12]);
        assert_eq!(r.backward.size(), [3, 8]);
        assert_eq!(r.all.size(), [6, 4]);
        assert_eq!(
            WeightRows::of(&Tensor::ones([4], (Kind::Float, Device::Cpu)))
                .forward
                .size(),
            [4, 1]
        );
        let c = correlations(&w);
        assert!((c.forward - 1.0).abs() < 1e-12 && (c.backward - 1.0).abs() < 1e-12);
    }

    #[test]
    fn subsampling_keeps_evenly_spaced_rows() {
        let many = Tensor::arange(MAX_ROWS + 10, (Kind::Double, Device::Cpu)).view([-1, 1]);
        let s = subsample(&many);
        assert_eq!(s.size(), [MAX_ROWS, 1]);
        assert_eq!(s.double_value(&[0, 0]), 0.0);
        assert_eq!(s.double_value(&[MAX_ROWS - 1, 0]), (MAX_ROWS + 9) as f64);
        let few = Tensor::arange(7, (Kind::Double, Device::Cpu)).view([-1, 1]);
        assert_eq!(subsample(&few).size(), [7, 1]);
    }
}
