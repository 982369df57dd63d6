//! The paper's claims as library functions, so tests and `featdiv reproduce` check the same thing.
pub mod constnet;
pub mod perturbation;
pub mod study;
pub mod toy;

/// A claim's verdict at the scale it was measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Verdict {
    Holds,
    DoesNotHold,
    NotRun,
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Verdict::Holds => "holds",
            Verdict::DoesNotHold => "does not hold at this scale",
            Verdict::NotRun => "not run",
        })
    }
}
