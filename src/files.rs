//! Result files: written atomically (temporary file, fsync, rename) so a reader never sees half a
//! file, and JSON lines appended whole. JSON keys are written sorted, whatever the writer's types.
//! Also the two habits every writer shares: progress lines that never panic, and telling a full
//! disk from other failures.

/// Writes a line to stderr, ignoring a failure: a progress line that cannot be shown (stderr
/// redirected to a full disk, a closed pipe) is not worth a panic that would hide the real error.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// The exit status of a `featdiv` that stopped because its output's file system is full.
pub const EXIT_NO_SPACE: i32 = 74;

/// Whether `e` (or any of its causes) is a file system out of space (or quota). Errors that
/// libtorch raises (saving weights) carry the system's words only, so those count too.
pub fn out_of_space(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        let io = c.downcast_ref::<std::io::Error>().is_some_and(|io| {
            io.kind() == std::io::ErrorKind::StorageFull
                || matches!(io.raw_os_error(), Some(libc::ENOSPC) | Some(libc::EDQUOT))
        });
        let text = c.to_string();
        io || text.contains("No space left on device") || text.contains("Disk quota exceeded")
    })
}

/// `err` with its causes, for a person to read: libtorch appends to its errors the C++ stack
/// trace of the throw ("Exception raised from ...", then a line a frame), which says where in
/// libtorch, not what is wrong; that part is left out. Records of failed runs keep all of it.
pub fn error_text(err: &anyhow::Error) -> String {
    let text = format!("{err:#}");
    let mut kept = String::with_capacity(text.len());
    let mut in_trace = false;
    for line in text.split_inclusive('\n') {
        in_trace = line.starts_with("Exception raised from ")
            || (in_trace && (line.starts_with("frame #") || line.trim().is_empty()));
        if !in_trace {
            kept.push_str(line);
        }
    }
    kept.trim_end().to_string()
}

/// Whether the file system holding `path` has no block left for an unprivileged writer.
pub fn disk_full(path: &Path) -> bool {
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()) else {
        return false;
    };
    // SAFETY: statvfs fills the zeroed struct from a valid, NUL-terminated path.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::statvfs(c.as_ptr(), &mut st) } == 0;
    ok && st.f_bavail == 0
}
use anyhow::{Context, Result};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

pub fn tmp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let tmp = tmp_path(path);
    let mut f = File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path)
        .with_context(|| format!("cannot move {} into place", path.display()))
}

/// A TOML file as `T`: an error names the file and, for a bad value, the key (`what` says which
/// kind of file it is: "experiment", "registration").
pub fn read_toml<T: serde::de::DeserializeOwned>(path: &Path, what: &str) -> Result<T> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read {what} {}", path.display()))?;
    serde_path_to_error::deserialize(toml::de::Deserializer::new(&text)).map_err(|e| {
        anyhow::anyhow!(
            "{what} {}: invalid key {}: {}",
            path.display(),
            e.path(),
            e.inner().message()
        )
    })
}

pub fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<()> {
    // Through a Value, whose map sorts its keys: files read the same however the type is laid out.
    let value = serde_json::to_value(value)
        .with_context(|| format!("cannot serialize {}", path.display()))?;
    let mut text = serde_json::to_string_pretty(&value)?;
    text.push('\n');
    write_atomic(path, text.as_bytes())
}

/// Appends one JSON object per line; each line is written whole and flushed, so a crash leaves
/// a valid prefix.
pub struct Jsonl {
    file: File,
    path: PathBuf,
}

impl Jsonl {
    pub fn create(path: &Path) -> Result<Jsonl> {
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        Ok(Jsonl {
            file,
            path: path.to_path_buf(),
        })
    }

    pub fn append(&mut self, value: &impl serde::Serialize) -> Result<()> {
        let mut line = serde_json::to_string(&serde_json::to_value(value)?)?;
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .with_context(|| format!("cannot append to {}", self.path.display()))
    }

    pub fn finish(self) -> Result<()> {
        self.file
            .sync_all()
            .with_context(|| format!("cannot sync {}", self.path.display()))
    }
}

/// serde_json writes a non-finite float as null: read it back as NaN.
pub fn nan_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<f64, D::Error> {
    use serde::Deserialize;
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// `result`, unless `then` (what was done after it) failed: the first error stays the cause and
/// the later one is added to it, so neither hides the other.
pub fn and_then_keep<T>(result: Result<T>, then: Result<()>) -> Result<T> {
    match (result, then) {
        (Ok(v), Ok(())) => Ok(v),
        (Ok(_), Err(later)) => Err(later),
        (Err(first), Ok(())) => Err(first),
        (Err(first), Err(later)) => Err(first.context(format!("{later:#}; and before that"))),
    }
}

/// The files `*.ext` of `dir`, sorted by name. An entry that cannot be read is an error naming
/// the folder, not a file quietly left out.
pub fn files_with_extension(dir: &Path, ext: &str) -> Result<Vec<PathBuf>> {
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir)
        .with_context(|| format!("cannot read the folder {}", dir.display()))?
    {
        let path = entry
            .with_context(|| format!("cannot read an entry of {}", dir.display()))?
            .path();
        if path.extension().is_some_and(|x| x == ext) {
            paths.push(path);
        }
    }
    paths.sort();
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_text_drops_libtorchs_stack_trace_and_keeps_every_cause() {
        let torch = "PytorchStreamReader failed: not a ZIP archive.\nException raised from valid \
                     at x.cc:242 (most recent call first):\nframe #0: c10::Error::Error() + \
                     0x9d\nframe #1: f() + 0xc3\n";
        let err = anyhow::anyhow!(torch.to_string()).context("w.ot: cannot read checkpoint");
        assert_eq!(
            error_text(&err),
            "w.ot: cannot read checkpoint: PytorchStreamReader failed: not a ZIP archive."
        );
        // Text without a trace, and lines after one that are not frames, stay as they were.
        let plain = anyhow::anyhow!("a\nframe #0 is what the user called it").context("b");
        assert_eq!(
            error_text(&plain),
            "b: a\nframe #0 is what the user called it"
        );
        let after = anyhow::anyhow!("x\nException raised from f\nframe #0: g\nmore words");
        assert_eq!(error_text(&after), "x\nmore words");
    }
}
