//! rnn-burn: see README.md. The code lives in crates/, experiments/ and bench/.
