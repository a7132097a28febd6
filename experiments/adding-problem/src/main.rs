//! `adding-problem`: parses the command line, runs the comparison, maps errors to exit codes
//! (see `adding-problem --help`). Everything else is in the library.

rnn_train::use_mimalloc!();

fn main() {
    let code = adding_problem::main_with(std::env::args_os(), &rnn_train::Console::stdio());
    std::process::exit(code);
}
