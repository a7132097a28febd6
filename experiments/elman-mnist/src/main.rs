//! `elman-mnist`: parses the command line, runs the experiment, maps errors to exit codes (see
//! `elman-mnist --help`). Everything else is in the library.

rnn_train::use_mimalloc!();

fn main() {
    let code = elman_mnist::main_with(std::env::args_os(), &rnn_train::Console::stdio());
    std::process::exit(code);
}
