//! The `colony` command; see `colony --help` and `colony_sim::cli`.

fn main() -> std::process::ExitCode {
    colony_sim::cli::main()
}
