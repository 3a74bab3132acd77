//! The `lifeline` binary: everything happens in the library.

fn main() {
    std::process::exit(lifeline::cli::main_with(std::env::args_os()));
}
