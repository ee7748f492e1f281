fn main() -> std::process::ExitCode {
    schedplus::cli::main()
}
