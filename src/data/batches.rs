//! Training batches as views (file order) or gathers (shuffled) of tensors already on the device.
use super::Split;
use tch::{Kind, Tensor};

pub struct Batches {
    pub batch_size: i64,
    pub n: i64,
    shuffle: bool,
    order: Option<Tensor>,
}

impl Batches {
    pub fn new(n: usize, batch_size: usize, shuffle: bool) -> Batches {
        Batches {
            batch_size: batch_size as i64,
            n: n as i64,
            shuffle,
            order: None,
        }
    }

    /// Batches per epoch; the last one may be short.
    pub fn per_epoch(&self) -> usize {
        ((self.n + self.batch_size - 1) / self.batch_size) as usize
    }

    /// The batch of global step `step`: batch (step mod n_batches) of the epoch's order.
    pub fn get(&mut self, split: &Split, step: usize) -> (Tensor, Tensor) {
        let per = self.per_epoch();
        let j = (step % per) as i64;
        if self.shuffle && (j == 0 || self.order.is_none()) {
            self.order = Some(Tensor::randperm(
                self.n,
                (Kind::Int64, split.labels.device()),
            ));
        }
        let start = j * self.batch_size;
        let len = self.batch_size.min(self.n - start);
        match &self.order {
            Some(order) if self.shuffle => {
                let idx = order.narrow(0, start, len);
                (
                    split.images.index_select(0, &idx),
                    split.labels.index_select(0, &idx),
                )
            }
            _ => (
                split.images.narrow(0, start, len),
                split.labels.narrow(0, start, len),
            ),
        }
    }
}
