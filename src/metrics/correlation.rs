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

/// forward: a row per output channel; backward: a row per input channel; all: a row per kernel.
pub fn correlations(w: &Tensor) -> Correlations {
    let w = w.detach().to_device(Device::Cpu).to_kind(Kind::Double);
    let s = w.size();
    let (o, i) = (s[0], if s.len() > 1 { s[1] } else { 1 });
    let w = if s.len() == 1 { w.unsqueeze(1) } else { w };
    let forward = w.reshape([o, -1]);
    let backward = w.transpose(0, 1).reshape([i, -1]);
    let all = w.reshape([o * i, -1]);
    Correlations {
        forward: rows_rho(&forward),
        backward: rows_rho(&backward),
        all: rows_rho(&all),
    }
}

fn rows_rho(rows: &Tensor) -> f64 {
    // Rows of length 1 are constant: every entry is NaN, counted as 1.
    if rows.size()[1] == 1 {
        return 1.0;
    }
    mean_lower_triangle(&correlation_matrix(&subsample(rows)))
}

fn subsample(rows: &Tensor) -> Tensor {
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
