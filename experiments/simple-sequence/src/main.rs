//! `simple-sequence`: parses the command line, trains (or generates), maps errors to exit
//! codes (see `simple-sequence --help`). Everything else is in the library.

rnn_train::use_mimalloc!();

fn main() {
    let code = simple_sequence::main_with(std::env::args_os(), &rnn_train::Console::stdio());
    std::process::exit(code);
}
