//! The `featdiv` command line.
mod cli;

fn main() {
    if let Err(err) = cli::run() {
        featdiv::say!("error: {}", featdiv::files::error_text(&err));
        // A full disk has its own status, so a sweep can stop instead of starting more runs.
        let code = if featdiv::files::out_of_space(&err) {
            featdiv::files::EXIT_NO_SPACE
        } else {
            1
        };
        std::process::exit(code);
    }
}
