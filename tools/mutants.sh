#!/usr/bin/env bash
# Mutation testing of the CPU kernel's cells and math with cargo-mutants: every mutant of
# crates/models/src/ops/cpu/{math,elman,lstm,gru}.rs against the tests that cover them (the
# crate's unit tests, among them the kernel against the tensor-op loop for every cell, and
# its PyTorch fixtures), on flex.
#
#   tools/mutants.sh [--out DIR] [-- CARGO-MUTANTS-ARGS...]
#
# --out DIR   where cargo-mutants writes mutants.out/ (default mutants/; caught.txt,
#             missed.txt, unviable.txt, timeout.txt and one log per mutant)
# Anything after `--` goes to cargo-mutants, e.g. `-- --shard 1/4` or `-- --file
# crates/models/src/ops/cpu/math.rs` (the default files are then not added).
#
# The kernels are wrapped in `multiversion!` (ops/cpu/simd.rs: one copy per instruction
# set), and cargo-mutants does not look inside macro invocations. So the run is made on a
# copy of the working tree in which each `multiversion! { fn ... }` is the plain `fn ...`
# it wraps: the same code, compiled once for the baseline instruction set. Builds use the
# `mutants` profile (Cargo.toml): only the mutated crate is rebuilt, incrementally, so a
# mutant takes seconds after a first build of the dependencies (about 5 minutes on 2 cores).
#
# Needs cargo-mutants (`cargo install cargo-mutants --locked`).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

out=mutants
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="${2:?--out needs a directory}"; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    *) echo "error: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
if ! cargo mutants --version >/dev/null 2>&1; then
  echo "error: cargo-mutants is not installed: cargo install cargo-mutants --locked" >&2
  exit 1
fi
mkdir -p "$out"
out=$(realpath "$out")

# The copy: every file git knows, as it is in the working tree.
tree=$(mktemp -d "${TMPDIR:-/tmp}/rnn-burn-mutants.XXXXXX")
trap 'rm -rf "$tree"' EXIT
git ls-files -z | xargs -0 cp --parents -t "$tree"
python3 - "$tree/crates/models/src/ops/cpu" <<'EOF'
import pathlib, sys

OPEN = "multiversion! {\n"
for name in ["elman", "lstm", "gru"]:
    path = pathlib.Path(sys.argv[1]) / f"{name}.rs"
    text = path.read_text()
    out, i, unwrapped = [], 0, 0
    while (j := text.find(OPEN, i)) >= 0:
        out.append(text[i:j])
        # The macro's own closing brace, found by counting braces from its opening one.
        k = m = j + len(OPEN)
        depth = 1
        while depth:
            depth += {"{": 1, "}": -1}.get(text[m], 0)
            m += 1
        out.append(text[k : m - 1])
        i = m + 1 if text[m : m + 1] == "\n" else m
        unwrapped += 1
    out.append(text[i:])
    if unwrapped == 0:
        sys.exit(f"error: no multiversion! block in {path}: the kernel's layout has changed")
    text = "".join(out).replace("use super::simd::multiversion;\n", "")
    path.write_text(text)
EOF

files=()
if ! printf '%s\n' "${extra[@]}" | grep -qx -- '--file'; then
  for f in math elman lstm gru; do files+=(--file "crates/models/src/ops/cpu/$f.rs"); done
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR_MUTANTS:-$HOME/.cache/rnn-burn/mutants-target}"
# cargo-mutants exits non-zero when a mutant is missed; the path is printed either way.
status=0
cargo mutants --dir "$tree" --package rnn-models "${files[@]}" --profile mutants -j 1 \
  --timeout 240 --build-timeout 1500 \
  --cargo-test-arg=--lib --cargo-test-arg=--test --cargo-test-arg=pytorch \
  --output "$out" "${extra[@]}" || status=$?
echo "mutants: $out/mutants.out (caught.txt, missed.txt, unviable.txt, timeout.txt)"
exit "$status"
