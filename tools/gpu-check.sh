#!/usr/bin/env bash
# The GPU check, for the day a machine with a GPU is at hand (it needs no internet): builds
# the workspace with every core, runs the cell tests and PyTorch's fixtures on wgpu (golden
# vectors, random shapes, hidden 257, saturated gates), the GPU benchmark table (fused and
# generic on wgpu, PyTorch + cuDNN when the Python in $PYTHON has torch with CUDA) and
# lstm-mnist on wgpu, and writes one report. Each step's output goes to its own log; the
# report says what passed, how long each step took, and holds the benchmark table.
#
#   tools/gpu-check.sh [--out DIR] [--dry-run]
#
# --out DIR   where the report (DIR/gpu-check.md) and the logs go (default gpu-check/)
# --dry-run   checks that every tool, recipe and script the check uses is here, prints the
#             steps it would run, and writes the report of a dry run; runs nothing heavy
#
# lstm-mnist needs MNIST as any run does ($MNIST_DIR, or the per-user cache).
set -euo pipefail
cd "$(dirname "$0")/.."

out=gpu-check
dry=0
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="${2:?--out needs a directory}"; shift 2 ;;
    --dry-run) dry=1; shift ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "error: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/rnn-burn/target}"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/rnn-burn-xdg}"
mkdir -p "$XDG_RUNTIME_DIR" "$out/logs" && chmod 700 "$XDG_RUNTIME_DIR"
jobs=$(nproc)

# name | command: the steps, in order.
steps=(
  "build|cargo build --release --workspace --all-targets --jobs $jobs"
  "cells on wgpu|just test-cells wgpu"
  "benchmark table|just bench-gpu --out $out/bench"
  "lstm-mnist on wgpu|just lstm-mnist --backend wgpu"
)

missing=()
for tool in cargo just python3; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if command -v just >/dev/null 2>&1; then
  for recipe in test-cells bench-gpu lstm-mnist; do
    just --summary | tr ' ' '\n' | grep -qx "$recipe" || missing+=("just recipe $recipe")
  done
fi
python3 -m py_compile bench/bench_gpu.py bench/pytorch_reference.py 2>/dev/null \
  || missing+=("bench/bench_gpu.py or bench/pytorch_reference.py (does not compile)")
if [ ${#missing[@]} -gt 0 ]; then
  echo "error: the GPU check needs: ${missing[*]}" >&2
  exit 1
fi

gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 || true)
report="$out/gpu-check.md"
rows=()
failed=0
total=${#steps[@]}
for i in "${!steps[@]}"; do
  name=${steps[$i]%%|*}
  cmd=${steps[$i]#*|}
  log="$out/logs/$((i + 1)).log"
  if [ "$dry" = 1 ]; then
    echo "[$((i + 1))/$total] $name: would run \`$cmd\`"
    rows+=("| $name | \`$cmd\` | not run (dry run) | |")
    continue
  fi
  echo "[$((i + 1))/$total] $name: \`$cmd\` (log: $log)"
  start=$(date +%s)
  if bash -c "$cmd" >"$log" 2>&1; then status=passed; else status=FAILED; failed=1; fi
  secs=$(($(date +%s) - start))
  echo "[$((i + 1))/$total] $name: $status in ${secs} s"
  rows+=("| $name | \`$cmd\` | $status | ${secs} s |")
done

tmp=$(mktemp "$out/.gpu-check.XXXXXX")
{
  echo "# GPU check"
  echo
  echo "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "- GPU: ${gpu:-none reported by nvidia-smi}"
  echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2 | sed 's/^ //') ($jobs cores)"
  [ "$dry" = 1 ] && echo "- dry run: every tool, recipe and script is present; nothing was run"
  echo
  echo "| step | command | result | time |"
  echo "|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  if [ -f "$out/bench/bench-gpu.md" ]; then
    echo
    echo "## Benchmark table"
    echo
    cat "$out/bench/bench-gpu.md"
  fi
  if [ "$dry" = 0 ]; then
    echo
    echo "## Last lines of each log"
    for i in "${!steps[@]}"; do
      echo
      echo "### ${steps[$i]%%|*}"
      echo
      echo '```'
      tail -n 15 "$out/logs/$((i + 1)).log" 2>/dev/null || true
      echo '```'
    done
  fi
} >"$tmp"
mv "$tmp" "$report"
echo "report: $report"
exit "$failed"
