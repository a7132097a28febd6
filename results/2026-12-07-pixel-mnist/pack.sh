#!/bin/bash
# Copies what each run of a pixel sweep's output folder needs to be reported again and
# resumed elsewhere: config.json, metrics.csv, summary.json, a finished run's model.bpk, an
# unfinished run's last checkpoint, and the plan's reproduce.json.
# Usage: pack.sh RUN DEST   (RUN: a `reproduce --out` folder; DEST: created if missing)
set -euo pipefail
if [ $# -ne 2 ] || [ ! -f "$1/reproduce.json" ]; then
  echo "usage: $0 RUN DEST  (RUN must hold reproduce.json)" >&2
  exit 2
fi
RUN=$1
DEST=$2
mkdir -p "$DEST"
cp "$RUN/reproduce.json" "$DEST/"
for d in "$RUN"/*/*/seed-*; do
  if [ ! -d "$d" ]; then continue; fi
  out="$DEST/${d#"$RUN"/}"
  # Replace the run's earlier copy, so a checkpoint packed before the run finished goes.
  rm -rf "$out"
  mkdir -p "$out"
  for f in config.json metrics.csv summary.json model.bpk model.bpk.sha256; do
    if [ -f "$d/$f" ]; then cp "$d/$f" "$out/"; fi
  done
  if [ ! -f "$d/model.bpk" ] && [ -d "$d/checkpoint" ]; then
    n=$(ls "$d/checkpoint" | sed -n 's/^model-\([0-9]*\)\.bpk$/\1/p' | sort -n | tail -1)
    if [ -n "$n" ]; then
      mkdir -p "$out/checkpoint"
      cp "$d/checkpoint/"*-"$n".bpk* "$out/checkpoint/"
    fi
  fi
  echo "${d#"$RUN"/}: $(ls "$out" | tr '\n' ' ')"
done
