//! The `dlsim` command; everything it does is in the library's `cli` module.

fn main() -> std::process::ExitCode {
    dlsim::cli::main()
}
