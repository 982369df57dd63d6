//! A seeded synthetic data set (10 Gaussian class prototypes in 1x8x8 plus noise): fast and
//! offline.
use super::{Dataset, Split};
use tch::{Kind, Tensor};

pub fn synthetic(seed: u64, n_train: i64, n_test: i64) -> Dataset {
    let classes = 10i64;
    let _guard = tch::no_grad_guard();
    let _turn = crate::determinism::global_state_lock();
    tch::manual_seed(seed as i64);
    let prototypes = Tensor::randn([classes, 1, 8, 8], (Kind::Float, tch::Device::Cpu));
    let make = |n: i64| {
        let labels = Tensor::randint(classes, [n], (Kind::Int64, tch::Device::Cpu));
        let images = prototypes.index_select(0, &labels)
            + Tensor::randn([n, 1, 8, 8], (Kind::Float, tch::Device::Cpu)) * 1.5;
        Split { images, labels }
    };
    let train = make(n_train);
    let test = make(n_test);
    Dataset {
        name: "synthetic".into(),
        train,
        test,
        classes: classes as usize,
        test_note: "separate draw".into(),
    }
}
