//! Who trains what in a shared OUT folder. A run being trained lives in
//! `runs/.partial-<hash>-<pid>@<host>` and is claimed by `runs/.claim-<hash>`, a symbolic link
//! whose target names its owner (`<pid>@<host>`): creating it is atomic, so two sweeps into one
//! folder never train the same run at once. Only this machine can tell whether one of its
//! processes still runs, so only its own dead owners' partial runs and claims are cleared.
use crate::records::OutDir;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// This process on this machine.
pub struct Owner {
    pid: u32,
    /// Err when this machine cannot be told from others (see `crate::host::identity`).
    host: Result<String>,
}

/// Whether a run could be claimed.
pub enum Claim {
    Ours,
    /// Another live process holds it: its `<pid>@<host>`.
    Held(String),
}

impl Owner {
    pub fn this_process() -> Owner {
        Owner {
            pid: std::process::id(),
            host: crate::host::identity(),
        }
    }

    fn host(&self) -> &str {
        self.host.as_deref().unwrap_or("unknown-host")
    }

    fn tag(&self) -> String {
        format!("{}@{}", self.pid, self.host())
    }

    pub fn partial_dir(&self, out: &Path, hash: &str) -> PathBuf {
        OutDir(out)
            .runs()
            .join(format!(".partial-{hash}-{}", self.tag()))
    }

    fn claim_path(out: &Path, hash: &str) -> PathBuf {
        OutDir(out).runs().join(format!(".claim-{hash}"))
    }

    /// Claims run `hash` for this process, taking over a claim whose owner died on this machine.
    pub fn claim(&self, out: &Path, hash: &str) -> Result<Claim> {
        let path = Owner::claim_path(out, hash);
        for _ in 0..2 {
            match std::os::unix::fs::symlink(self.tag(), &path) {
                Ok(()) => return Ok(Claim::Ours),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => {
                    return Err(e).with_context(|| format!("cannot create {}", path.display()));
                }
            }
            let owner = match std::fs::read_link(&path) {
                Ok(target) => target.to_string_lossy().into_owned(),
                // Released between our attempt and this read: try again.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
            };
            if !self.is_dead_here(&owner) {
                return Ok(Claim::Held(owner));
            }
            remove(&path)?;
        }
        Ok(Claim::Held("a process that keeps claiming it".into()))
    }

    /// Releases this process's claim on run `hash`.
    pub fn release(&self, out: &Path, hash: &str) -> Result<()> {
        remove(&Owner::claim_path(out, hash))
    }

    /// Whether `owner` (`<pid>@<host>`) is a process of this machine that no longer runs.
    fn is_dead_here(&self, owner: &str) -> bool {
        let Ok(host) = &self.host else { return false };
        let Some((pid, at)) = owner.split_once('@') else {
            return false;
        };
        let on_this_host = at.split('.').next() == Some(host.as_str());
        // SAFETY: kill with signal 0 only checks that the process exists.
        let alive = pid
            .parse::<i32>()
            .is_ok_and(|p| unsafe { libc::kill(p, 0) } == 0);
        on_this_host && !alive
    }

    /// Partial folders (and their side files) and claims of this machine's processes that no
    /// longer run (killed sweeps): their runs start over. A machine that cannot tell itself from
    /// others removes none, and says why.
    pub fn remove_stale(&self, dir: &Path) -> Result<()> {
        if let Err(why) = &self.host {
            crate::say!(
                "sweep: leaving partial runs of killed sweeps in {} alone: {why:#}",
                dir.display()
            );
            return Ok(());
        }
        for entry in
            std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?
        {
            let path = entry
                .with_context(|| format!("cannot read an entry of {}", dir.display()))?
                .path();
            if self.stale(&path) {
                remove(&path)?;
            }
        }
        Ok(())
    }

    /// `.partial-<hash>-<pid>@<host>[.log|.base.toml]`, an atomic write of one of them that a
    /// kill cut short (`.` + its name + `.tmp-<pid>`), or a `.claim-<hash>`, whose owner died here.
    fn stale(&self, path: &Path) -> bool {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let name = name.as_deref().unwrap_or_default();
        let name = name
            .strip_prefix('.')
            .filter(|n| n.starts_with(".partial-"))
            .unwrap_or(name);
        if let Some(rest) = name.strip_prefix(".partial-") {
            // <hash>-<pid>@<host>: the owner is what follows the last '-' before the '@'.
            let owner = rest.split_once('@').and_then(|(left, at)| {
                let pid = left.rsplit('-').next()?;
                Some(format!("{pid}@{at}"))
            });
            return owner.is_some_and(|o| self.is_dead_here(&o));
        }
        if name.starts_with(".claim-") {
            return std::fs::read_link(path).is_ok_and(|t| self.is_dead_here(&t.to_string_lossy()));
        }
        false
    }
}

/// Removes a file, link or folder; one already gone is fine.
fn remove(path: &Path) -> Result<()> {
    let result = match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(e) => Err(e),
    };
    match result {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("cannot remove {}", path.display()))
        }
        _ => Ok(()),
    }
}
