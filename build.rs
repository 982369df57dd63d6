//! Embeds an rpath to the libtorch that torch-sys linked against, so `cargo run`, `cargo test` and
//! the built binary find libtorch without LD_LIBRARY_PATH; records the git commit.
use std::env;
use std::process::Command;

const SHIM: [&str; 3] = ["csrc/determinism.cpp", "csrc/precision.cpp", "csrc/ops.cpp"];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // torch-sys (links = "tch") exports the lib dir it linked against.
    if let Ok(lib) = env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
        compile_shim(std::path::Path::new(&lib));
    }
    // libtorch_cuda.so is in the PyPI wheel and torch-sys names it on the link line, but the CPU
    // set-up installs none of its CUDA libraries (cuBLAS, cuDNN, ...). Nothing of ours references
    // it (as-needed drops it), so its unresolved dependencies must not fail the link; CUDA is
    // loaded at run time where it can be (src/device.rs).
    println!("cargo:rustc-link-arg=-Wl,--allow-shlib-undefined");

    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    // Asked of git, not assumed to be .git/: in a worktree .git is a file, and a path that never
    // exists makes cargo rerun this script, and rebuild the crate, on every build.
    for f in ["HEAD", "index"] {
        if let Some(path) = git(&["rev-parse", "--git-path", f]) {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    let commit = git(&["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let dirty =
        git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    println!(
        "cargo:rustc-env=FEATDIV_GIT_COMMIT={commit}{}",
        if dirty { "-dirty" } else { "" }
    );
}

/// The C++ shim, for what tch does not expose: libtorch's determinism switches
/// (csrc/determinism.cpp), autocast and memory format (csrc/precision.cpp), and ops (csrc/ops.cpp).
fn compile_shim(lib: &std::path::Path) {
    for file in SHIM {
        println!("cargo:rerun-if-changed={file}");
    }
    let root = lib.parent().unwrap_or(lib);
    cc::Build::new()
        .cpp(true)
        .pic(true)
        .warnings(false)
        .include(root.join("include"))
        .include(root.join("include/torch/csrc/api/include"))
        .flag("-std=c++17")
        .flag("-D_GLIBCXX_USE_CXX11_ABI=1")
        .files(SHIM)
        .compile("featdiv_shim");
}
