//! The toy-model claims at the scale of `make reproduce` and beyond: all of Fashion-MNIST, 5 seeds,
//! 5 epochs a run. Needs `make data`; run with `make claims` (about 5 minutes on 2 cores).
#![cfg(feature = "full-claims")]

use featdiv::claims::Verdict;
use featdiv::claims::study::Study;
use std::path::Path;

#[test]
fn toy_claims_hold_on_full_fashion_mnist() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut study = Study::default_quick(&root.join("data/fashion-mnist"), 2);
    study.epochs = 5;
    let out = tempfile::TempDir::new().unwrap();
    let report = study.run(tch::Device::Cpu, out.path()).unwrap();
    println!("{}", report.table());
    for claim in &report.claims {
        assert_eq!(
            claim.verdict,
            Verdict::Holds,
            "{}: {}",
            claim.id,
            claim.measured
        );
    }
}
