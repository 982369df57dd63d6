//! What this process knows about the machine it runs on: a host identity that cannot collide
//! between the nodes of a cluster, and the libtorch it loaded. The one module that reads them.
use anyhow::{Result, bail};
use std::path::PathBuf;

/// The host name as the kernel reports it ("" if unreadable), for records.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// The CPU as /proc/cpuinfo names it, with what decides bf16 speed (AMX, AVX-512 BF16), e.g.
/// "AMD EPYC (2 CPUs; AVX512-BF16, no AMX)"; None where /proc/cpuinfo is unreadable.
pub fn cpu() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    Some(describe_cpu(&info))
}

fn describe_cpu(info: &str) -> String {
    let field = |name: &str| {
        info.lines()
            .find(|l| l.split(':').next().is_some_and(|k| k.trim() == name))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
    };
    let model = field("model name").unwrap_or_else(|| "unknown CPU".into());
    let cpus = info.lines().filter(|l| l.starts_with("processor")).count();
    let flags = field("flags").unwrap_or_default();
    let has = |f: &str| flags.split_whitespace().any(|x| x == f);
    let bf16 = if has("avx512_bf16") {
        "AVX512-BF16"
    } else {
        "no AVX512-BF16"
    };
    let amx = if has("amx_bf16") { "AMX" } else { "no AMX" };
    format!("{model} ({cpus} CPUs; {bf16}, {amx})")
}

/// Why `identity` fails: none of the files that identify a machine is readable.
const NO_MACHINE_ID: &str = "cannot tell this machine from others: none of /etc/machine-id, \
                             /var/lib/dbus/machine-id, /proc/sys/kernel/random/boot_id is \
                             readable";

/// A file-name-safe identity of this machine that no other machine shares: the short host name
/// plus the first 12 hex digits of /etc/machine-id (or, without one, of the boot id). Sweeps on
/// several nodes share OUT, and only this machine can tell whether one of its processes still
/// runs; an identity that two nodes could share would let one delete the other's partial runs.
pub fn identity() -> Result<String> {
    let id = [
        "/etc/machine-id",
        "/var/lib/dbus/machine-id",
        "/proc/sys/kernel/random/boot_id",
    ]
    .iter()
    .filter_map(|p| std::fs::read_to_string(p).ok())
    .map(|s| s.trim().replace('-', ""))
    .find(|s| s.len() >= 12 && s.chars().all(|c| c.is_ascii_hexdigit()));
    let Some(id) = id else {
        bail!(NO_MACHINE_ID);
    };
    let name = hostname();
    let short: String = name
        .split('.')
        .next()
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    Ok(format!("{short}-{}", &id[..12]))
}

/// The folder of the libtorch this process actually loaded (from /proc/self/maps).
pub fn libtorch_dir() -> Option<PathBuf> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    let line = maps.lines().find(|l| l.ends_with("/libtorch_cpu.so"))?;
    let path = PathBuf::from(line.split_whitespace().last()?);
    Some(path.parent()?.parent()?.to_path_buf())
}

/// Version of the loaded libtorch: `version.py` of a wheel, `build-version` of a libtorch zip.
pub fn libtorch_version() -> String {
    let Some(dir) = libtorch_dir() else {
        return "unknown".into();
    };
    if let Ok(text) = std::fs::read_to_string(dir.join("version.py")) {
        for line in text.lines() {
            if let Some(v) = line.strip_prefix("__version__ = ") {
                return v.trim_matches(|c| c == '\'' || c == '"').to_string();
            }
        }
    }
    std::fs::read_to_string(dir.join("build-version"))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

#[cfg(test)]
mod cpu_tests {
    use super::describe_cpu;

    #[test]
    fn the_cpu_is_named_with_its_bf16_units() {
        let info = "processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu avx512f \
                    avx512_bf16\n\nprocessor\t: 1\nmodel name\t: AMD EPYC\nflags\t\t: fpu avx512f \
                    avx512_bf16\n";
        assert_eq!(describe_cpu(info), "AMD EPYC (2 CPUs; AVX512-BF16, no AMX)");
        let amx = "processor\t: 0\nmodel name\t: Intel Xeon\nflags\t: amx_bf16 avx512_bf16\n";
        assert_eq!(describe_cpu(amx), "Intel Xeon (1 CPUs; AVX512-BF16, AMX)");
        assert_eq!(
            describe_cpu(""),
            "unknown CPU (0 CPUs; no AVX512-BF16, no AMX)"
        );
    }
}
