# rnn-burn tasks. `just --list` shows them; extra arguments pass through to the program,
# e.g. `just bench-scaling --backend wgpu`.

set positional-arguments

# Run the test suite (CPU, flex backend). MNIST is found as a run finds it ($MNIST_DIR, the
# per-user cache, a download); a relative MNIST_DIR is taken from the repository root, since
# each test binary runs in its own package's folder. The binaries are built first: the
# reproduction's tests run them.
test *args:
    cargo build --release --workspace --bins
    if [ -n "${MNIST_DIR:-}" ]; then export MNIST_DIR="$(realpath -m "$MNIST_DIR")"; fi; BURN_DEVICE=flex cargo test --release --workspace "$@"

# The cell tests on another backend, e.g. `just test-cells wgpu`: golden vectors, fused
# against tensor ops, and PyTorch's own outputs and gradients; prints each golden case's
# errors and, on wgpu or cuda, the launch plan each cell kind's kernel took.
test-cells backend="wgpu":
    BURN_DEVICE={{backend}} RNN_TEST_BACKEND={{backend}} cargo test --release --test tests cells:: -- --show-output
    BURN_DEVICE={{backend}} RNN_TEST_BACKEND={{backend}} cargo test --release --workspace --test pytorch

# IRNN on pixel-by-pixel MNIST (NeoML tutorial defaults: 200 epochs). e.g. `just irnn-mnist --epochs 5`
irnn-mnist *args:
    cargo run --release -p irnn-mnist -- "$@"

# Two-layer Elman RNN on row-by-row MNIST (PyTorch tutorial, 3 epochs).
elman-mnist *args:
    cargo run --release -p elman-mnist -- "$@"

# LSTM on row-by-row MNIST (PyTorch tutorial, 10 epochs); `just lstm-mnist show RUN_DIR` shows predictions.
lstm-mnist *args:
    cargo run --release -p lstm-mnist -- "$@"

# RNN vs LSTM vs GRU on the adding problem (MinPy tutorial: T = 6, 10 epochs; `--preset paper` or `--preset modern` for the IRNN paper's long sequences). e.g. `just adding-problem --model gru`
adding-problem *args:
    cargo run --release -p adding-problem -- "$@"

# Next-token prediction on the counting sequence with truncated BPTT (Chainer tutorial, 10 epochs); `just simple-sequence generate RUN_DIR` continues a prompt.
simple-sequence *args:
    cargo run --release -p simple-sequence -- "$@"

# Training throughput of every experiment's shape (`--shape NAME`, `--backend`, `--threads`).
bench *args:
    cargo run --release -p rnn-bench --bin bench -- "$@"

# PyTorch's throughput at the same shapes, for a side-by-side comparison (needs torch; PYTHON=path/to/python picks the interpreter).
bench-pytorch *args:
    "${PYTHON:-python3}" bench/pytorch_reference.py "$@"

# The GPU table: fused and generic on wgpu (`--cuda`: also cuda) and PyTorch + cuDNN, written to bench-gpu/.
bench-gpu *args:
    "${PYTHON:-python3}" bench/bench_gpu.py "$@"

# On a machine with a GPU: build, cell tests and PyTorch's fixtures on wgpu, the GPU benchmark table and lstm-mnist on wgpu, in one report (`--dry-run` checks without running; `--out DIR`).
gpu-check *args:
    tools/gpu-check.sh "$@"

# Forward+backward time per batch of the IRNN at T = 98 ... 1568 and the fitted exponent.
bench-scaling *args:
    cargo run --release -p rnn-bench --bin scaling -- "$@"

# Every experiment over several seeds (default 5; irnn-mnist only when named), with a report against the tutorials: `just reproduce --quick`, `just reproduce --seeds 3 --experiments lstm-mnist,adding-problem --out DIR` (the same --out resumes).
reproduce *args:
    cargo build --release -p irnn-mnist -p elman-mnist -p lstm-mnist -p adding-problem -p simple-sequence -p rnn-reproduce
    cargo run --release -p rnn-reproduce --bin reproduce -- "$@"

# Mutation testing of the CPU kernel's cells and math (cargo-mutants; `--out DIR`, `-- --shard 1/4`): see docs/testing.md.
mutants *args:
    tools/mutants.sh "$@"

# Fault injection against the release binaries: kills with --resume, damaged run files, a full disk (tmpfs, needs root), bad MNIST input and bad flag values; `just faults --quick` is the CI subset, `--only REGEX` picks cases.
faults *args:
    cargo build --release -p irnn-mnist -p elman-mnist -p lstm-mnist -p adding-problem -p simple-sequence
    python3 tools/faults.py "$@"
