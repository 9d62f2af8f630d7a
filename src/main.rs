//! The `dlsim` command; everything it does is in the library's `cli` module.

/// mimalloc keeps the cost of a request flat as live sessions grow (see `Cargo.toml`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    dlsim::cli::main()
}
