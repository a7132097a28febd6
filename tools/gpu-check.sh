#!/usr/bin/env bash
# The GPU check, for the day a machine with a GPU is at hand (it needs no internet). Steps:
#   1. build: the workspace, every target, with every core;
#   2. wgpu adapter: the adapter wgpu picked for Burn's default wgpu device (name, device
#      type, graphics API, driver), as bench/examples/wgpu-adapter.rs prints it;
#   3. cells on wgpu: when nvidia-smi -L lists a GPU and wgpu picked a CPU adapter (Mesa's
#      lavapipe) or none, fails at once, since passing there says nothing of the GPU; else
#      the cell tests and PyTorch's fixtures on wgpu (golden vectors, random shapes,
#      hidden 257, saturated gates);
#   4. benchmark table: fused and generic on wgpu, PyTorch + cuDNN when the Python in
#      $PYTHON has torch with CUDA;
#   5. lstm-mnist on wgpu.
# Each step's output goes to its own log; the report (gpu-check.md) names the GPU and the
# wgpu adapter, says what passed and how long each step took, and holds the benchmark table.
#
#   tools/gpu-check.sh [--out DIR] [--dry-run]
#
# --out DIR   where the report (DIR/gpu-check.md) and the logs go (default gpu-check/)
# --dry-run   checks that every tool, recipe and script the check uses is here, runs only
#             what is cheap (step 2's adapter, when built, and step 3's adapter check),
#             prints the rest it would run, and writes the report of a dry run
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
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    *) echo "error: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/rnn-burn/target}"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/rnn-burn-xdg}"
mkdir -p "$XDG_RUNTIME_DIR" "$out/logs" && chmod 700 "$XDG_RUNTIME_DIR"
jobs=$(nproc)

# The GPUs the machine has, one `GPU n: ...` line each (none: the adapter may be a CPU).
gpus=$(nvidia-smi -L 2>/dev/null | grep '^GPU ' || true)
adapter_bin="$CARGO_TARGET_DIR/release/examples/wgpu-adapter"

# Step 2 in a dry run: the adapter when the example is built; a dry run may come before any
# build.
adapter_if_built() {
  if [ -x "$adapter_bin" ]; then
    "$adapter_bin"
  else
    echo "not built yet ($adapter_bin): the build step builds it"
  fi
}

# Step 3's first part: a wgpu test that passes on a CPU adapter on a machine with a GPU has
# not run on the GPU, so it must not pass.
adapter_check() {
  local type name
  type=$(sed -n 's/^device_type: //p' "$adapter_log" 2>/dev/null | head -1)
  name=$(sed -n 's/^name: //p' "$adapter_log" 2>/dev/null | head -1)
  if [ -z "$gpus" ]; then
    echo "adapter check: nvidia-smi lists no GPU; wgpu's adapter: ${name:-unknown} (${type:-unknown})"
  elif [ -z "$type" ]; then
    echo "error: nvidia-smi lists a GPU (${gpus%%$'\n'*}), but which adapter wgpu picked is unknown" \
      "(step 2 did not print it: see $adapter_log), so the cell tests could not show that they ran on the GPU" >&2
    return 1
  elif [ "$type" = Cpu ]; then
    echo "error: wgpu picked a CPU adapter, $name (device type Cpu), although nvidia-smi lists a GPU" \
      "(${gpus%%$'\n'*}): the cell tests would run on the CPU, not on the GPU. Install the GPU's" \
      "Vulkan driver, or pick the GPU with CUBECL_WGPU_DEFAULT_DEVICE=DiscreteGpu(0)" >&2
    return 1
  else
    echo "adapter check: wgpu's adapter is $name ($type) on a machine with a GPU"
  fi
}
export -f adapter_if_built adapter_check

# name | command | what a dry run runs of it (nothing when empty): the steps, in order.
steps=(
  "build|cargo build --release --workspace --all-targets --jobs $jobs|"
  "wgpu adapter|$adapter_bin|adapter_if_built"
  "cells on wgpu|adapter_check && just test-cells wgpu|adapter_check"
  "benchmark table|just bench-gpu --out $out/bench|"
  "lstm-mnist on wgpu|just lstm-mnist --backend wgpu|"
)
# Where step "wgpu adapter" writes what adapter_check reads.
for i in "${!steps[@]}"; do
  [ "${steps[$i]%%|*}" = "wgpu adapter" ] && adapter_log="$out/logs/$((i + 1)).log"
done
export gpus adapter_bin adapter_log

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
[ -f bench/examples/wgpu-adapter.rs ] || missing+=("bench/examples/wgpu-adapter.rs")
if [ ${#missing[@]} -gt 0 ]; then
  echo "error: the GPU check needs: ${missing[*]}" >&2
  exit 1
fi

gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 || true)
report="$out/gpu-check.md"
rows=()
failed=0
total=${#steps[@]}
# An earlier run's log must not stand for this one's: the adapter check reads step 2's.
rm -f "$out"/logs/*.log
for i in "${!steps[@]}"; do
  name=${steps[$i]%%|*}
  rest=${steps[$i]#*|}
  cmd=${rest%%|*}
  dry_cmd=${rest#*|}
  log="$out/logs/$((i + 1)).log"
  if [ "$dry" = 1 ]; then
    if [ -z "$dry_cmd" ]; then
      echo "[$((i + 1))/$total] $name: would run \`$cmd\`"
      rows+=("| $name | \`$cmd\` | not run (dry run) | |")
      continue
    fi
    echo "[$((i + 1))/$total] $name: would run \`$cmd\`; runs \`$dry_cmd\` (log: $log)"
    run=$dry_cmd
  else
    echo "[$((i + 1))/$total] $name: \`$cmd\` (log: $log)"
    run=$cmd
  fi
  start=$(date +%s)
  if bash -c "$run" >"$log" 2>&1; then status=passed; else status=FAILED; failed=1; fi
  secs=$(($(date +%s) - start))
  echo "[$((i + 1))/$total] $name: $status in ${secs} s"
  # A failure's own words, where it has an `error:` line.
  why=
  if [ "$status" = FAILED ]; then
    why=$(grep -m1 '^error:' "$log" || true)
    [ -n "$why" ] && echo "    $why"
  fi
  [ "$dry" = 1 ] && status="$status (dry run: \`$dry_cmd\` only)"
  rows+=("| $name | \`$cmd\` | $status${why:+: ${why//|/\\|}} | ${secs} s |")
done

# The adapter as step 2 printed it, for the report.
field() { sed -n "s/^$1: //p" "$adapter_log" 2>/dev/null | head -1; }
if [ -n "$(field device_type)" ]; then
  driver=$(field driver)
  adapter="$(field name): $(field device_type), $(field backend), driver ${driver:-unnamed} ($(field driver_info))"
else
  adapter="unknown (step 2 did not run or printed no adapter)"
fi

tmp=$(mktemp "$out/.gpu-check.XXXXXX")
{
  echo "# GPU check"
  echo
  echo "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "- GPU: ${gpu:-none reported by nvidia-smi}"
  echo "- wgpu adapter (Burn's default wgpu device): $adapter"
  echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2 | sed 's/^ //') ($jobs cores)"
  [ "$dry" = 1 ] && echo "- dry run: every tool, recipe and script is present; only the adapter and its check ran"
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
  echo
  echo "## Last lines of each log"
  for i in "${!steps[@]}"; do
    [ -f "$out/logs/$((i + 1)).log" ] || continue
    echo
    echo "### ${steps[$i]%%|*}"
    echo
    echo '```'
    tail -n 15 "$out/logs/$((i + 1)).log"
    echo '```'
  done
} >"$tmp"
mv "$tmp" "$report"
echo "report: $report"
exit "$failed"
