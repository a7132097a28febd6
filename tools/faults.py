#!/usr/bin/env python3
"""Fault injection against the experiment binaries: nothing lost, nothing panics.

Runs real, short trainings and hurts them the ways a user's machine does:

1. kill (SIGKILL) mid-epoch, while a checkpoint is being written, during evaluation, between
   the networks of the adding-problem comparison and after the last checkpoint; then
   `--resume RUN_DIR` until the run completes (a resume may itself be killed) and compare the
   result (summary.json, the metrics.csv rows, comparison.json) with an uninterrupted run of
   the same seed: it must be identical, since the data order depends only on the seed and
   the epoch;
2. damage each file of a stopped run in turn (truncated to 0 bytes, to half, 64 junk bytes in
   the middle) and resume: the run must finish with the same result (from an earlier
   checkpoint with a warning is fine), or fail with an `error:` that names the damaged file,
   which is acceptable only for files nothing else can replace (config.json, metrics.csv,
   comparison.json);
3. fill the disk (a small tmpfs, when one can be mounted): an `error:` naming the file and the
   cause, an exit code != 0, and what was written before intact and resumable;
4. bad input: a gzip bomb and absurd IDX headers as MNIST (`--data-dir DIR --offline`) must
   give an `error:` within ~2 s with bounded memory; every numeric flag of every binary given
   nan, inf, -inf, -1, 0, 1e30 and 18446744073709551615 must be a usage error (exit code 2,
   `error:`) unless the value is legitimately valid (a seed of 0, a momentum of 0, ...).

A panic (exit code 101, `panicked at`, a backtrace), a death by signal, a hang, a run file that
was readable before a fault and is gone or unreadable after it, or a result that differs
without a word is always a failure. So is an uninterrupted run that fails, two of them (same
seed) that differ, and a run on a disk with room that says it could not write one of its files.

Output: one `PASS name: detail` / `FAIL name: detail` line per case (a failure is followed by
its command and an excerpt of its output, indented), `SKIP name: why` for a case this machine
cannot run, then `cases tried T, survived S, files lost L` (a fault survived: no panic, no
hang, no file lost), `faults: N passed, M failed, K skipped` and, last, what was skipped and
why, each reason with its class and count: `faults: 2 skipped (2 full-disk: cannot mount a
tmpfs, ...)`, or `faults: 0 skipped`. The exit code is 1 when a case failed, and in --quick
when a case was skipped whose class --allow-skip does not name (below).

A skipped case is one of these classes:

  full-disk   the full-disk cases mount a small tmpfs, which needs root;
  bad-input   the bad files are served beside real MNIST files (labels, test set), so MNIST
              must be found.

Outside --quick a skip is reported and allowed. --quick is the CI subset, where a skip would
let CI pass without the cases it is there to run: the run exits 1 with an `error:` naming
each skipped class and its reason, unless `--allow-skip CLASS[,CLASS]` (repeatable) names it.

Binaries come from $CARGO_TARGET_DIR/release (default target/release), MNIST from $MNIST_DIR,
else the per-user cache where a run downloads it ($RNN_BURN_CACHE/mnist, by default
~/.cache/rnn-burn/mnist). `--quick` runs a subset in under two minutes (for CI);
`--only REGEX` runs the cases whose name matches; `--keep` keeps the temporary directory;
`--allow-skip CLASS[,CLASS]` lets --quick pass although cases of those classes were skipped.

Standard library only (Python 3.11).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import re
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
U64_MAX = "18446744073709551615"
BAD_VALUES = ["nan", "inf", "-inf", "-1", "0", "1e30", U64_MAX]
QUICK_BAD_VALUES = ["nan", "-1", "0", "1e30", U64_MAX]
EXIT_USAGE = 2
# The suite's temporary directory, shown as $TMP in messages.
TMP_PREFIX = ""
EXIT_STOPPED = 5
PANIC_MARKERS = ("panicked at", "stack backtrace:", "RUST_BACKTRACE")
# A message that a run file could not be written: a defect on a disk with room (counted over
# every run of the suite, reported once at the end), expected on a full one.
WRITE_WARNING = re.compile(r"^(warning|error): could not (write|draw|save|create)", re.M)

# The kinds of case a machine may be unable to run, and what each needs. `--allow-skip` takes
# these names; --quick fails on a skip of any other.
SKIP_CLASSES = {
    "full-disk": "needs root: the cases mount a small tmpfs",
    "bad-input": "needs MNIST: the bad files are served beside the real ones",
}

# Placeholders of flags that take something other than a number.
NON_NUMERIC = {
    "BACKEND", "DIR", "RUN_DIR", "OUT", "VIEW", "NAME", "MODEL", "ARCH", "SCOPE", "FORM",
    "BOOL", "TOKENS", "PATH", "FILE", "RECURRENCE", "NETWORK",
}

# Values a flag legitimately accepts although they are in BAD_VALUES, and why.
LEGIT = {
    ("--seed", "0"): "any u64 is a seed",
    ("--seed", U64_MAX): "any u64 is a seed",
    ("--permutation-seed", "0"): "any u64 is a seed",
    ("--permutation-seed", U64_MAX): "any u64 is a seed",
    ("--momentum", "0"): "no momentum",
    ("--beta1", "0"): "Adam's betas are in [0, 1)",
    ("--beta2", "0"): "Adam's betas are in [0, 1)",
    ("--dropout", "0"): "no dropout",
    ("--identity-scale", "0"): "a zero recurrent matrix is a valid start",
    ("--forget-bias", "0"): "a zero forget-gate bias is the usual LSTM start",
    ("--forget-bias", "-1"): "a gate that starts mostly shut is a valid (if unusual) start",
    ("--identity-scale", "-1"): "minus the identity is a valid (if unusual) start",
    ("--limit-train", U64_MAX): "a limit above the data set's size is the whole set",
    ("--limit-test", U64_MAX): "a limit above the data set's size is the whole set",
    ("--clip-norm", "1e30"): "a threshold no gradient reaches: no clipping",
    ("--clip-norm", U64_MAX): "a threshold no gradient reaches: no clipping",
}

# Flags added to a flag-sweep command so that an accepted value trains for a moment only
# (the flag under test replaces its entry here).
TINY = {
    "elman-mnist": ["--epochs", "1", "--limit-train", "64", "--limit-test", "64",
                    "--batch-size", "32", "--hidden", "8", "--layers", "1"],
    "lstm-mnist": ["--epochs", "1", "--limit-train", "64", "--limit-test", "64",
                   "--batch-size", "32", "--hidden", "8"],
    "irnn-mnist": ["--epochs", "1", "--limit-train", "40", "--limit-test", "40",
                   "--batch-size", "20", "--hidden", "8"],
    "adding-problem": ["--epochs", "1", "--train-size", "200", "--test-size", "100",
                       "--batch-size", "50", "--model", "rnn", "--hidden", "8"],
    "simple-sequence": ["--epochs", "1", "--repeat", "2", "--units", "8"],
}

# Flags that only apply together with others.
COMPANIONS = {
    "--permutation-seed": ["--permuted"],
    "--dropout": ["--arch", "lstm"],
    "--forget-bias": ["--model", "lstm"],
}

# metrics.csv columns that do not depend on timing.
DET_COLUMNS = ["epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy",
               "learning_rate", "train_samples"]
SUMMARY_KEYS = ["completed", "epochs", "epochs_configured", "test_accuracy", "test_loss",
                "test_mse", "train_accuracy", "train_loss", "initial_test_accuracy",
                "train_set_accuracy", "parameters"]
COMPARISON_KEYS = ["model", "hidden", "test_mse", "baseline_mse", "epochs_to_beat_baseline",
                   "batches_to_beat_baseline", "epochs"]
# Files whose content nothing else in a run directory can restore: failing with a clear error
# on them is acceptable.
NO_REDUNDANCY = {"config.json", "metrics.csv", "comparison.json"}

RUN_FILE = re.compile(
    r"(?:.*/)?(config\.json|metrics\.csv|summary\.json|comparison\.json|model\.bpk"
    r"|checkpoint/(?:model|optim|scheduler)-\d+\.bpk|checkpoint/tbptt-\d+\.json)"
)
CHECKPOINT_FILE = re.compile(r"(?P<dir>(?:.*/)?checkpoint)/(?P<kind>model|optim|scheduler|tbptt)-(?P<epoch>\d+)\.(?:bpk|json)")


# ---------------------------------------------------------------------------------------------
# Reading run files.

def cbor(buf: bytes, i: int = 0):
    """Decodes one CBOR item of `buf` at `i` (what burnpack's metadata uses): (value, end)."""
    if i >= len(buf):
        raise ValueError("truncated CBOR")
    ib = buf[i]
    major, ai = ib >> 5, ib & 31
    i += 1

    def argument(ai: int, i: int):
        if ai < 24:
            return ai, i
        n = {24: 1, 25: 2, 26: 4, 27: 8}.get(ai)
        if n is None:
            raise ValueError(f"unsupported CBOR length {ai}")
        if i + n > len(buf):
            raise ValueError("truncated CBOR")
        return int.from_bytes(buf[i:i + n], "big"), i + n

    if major == 7:
        if ai == 25:
            return struct.unpack(">e", buf[i:i + 2])[0], i + 2
        if ai == 26:
            return struct.unpack(">f", buf[i:i + 4])[0], i + 4
        if ai == 27:
            return struct.unpack(">d", buf[i:i + 8])[0], i + 8
        if ai == 24:
            return buf[i], i + 1
        return {20: False, 21: True, 22: None}.get(ai, ai), i
    n, i = argument(ai, i)
    if major == 0:
        return n, i
    if major == 1:
        return -1 - n, i
    if major in (2, 3):
        if i + n > len(buf):
            raise ValueError("truncated CBOR string")
        raw = buf[i:i + n]
        return (raw if major == 2 else raw.decode("utf-8")), i + n
    if major == 4:
        items = []
        for _ in range(n):
            v, i = cbor(buf, i)
            items.append(v)
        return items, i
    if major == 5:
        m = {}
        for _ in range(n):
            k, i = cbor(buf, i)
            v, i = cbor(buf, i)
            m[k if not isinstance(k, (list, dict)) else repr(k)] = v
        return m, i
    if major == 6:
        return cbor(buf, i)
    raise ValueError(f"bad CBOR major type {major}")


def bpk_problem(path: Path) -> str | None:
    """Why the burnpack file at `path` cannot be read whole (None: it can). Checks the magic,
    the CBOR tensor table and that every tensor's bytes lie inside the file; the tensor bytes
    themselves carry no checksum, so junk inside them is invisible here."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(10)
        if len(head) < 10:
            return f"{size} bytes, shorter than a burnpack header"
        if head[:4] != b"NRUB":
            return "no burnpack magic"
        meta_len = int.from_bytes(head[6:10], "little")
        if 10 + meta_len > size:
            return f"metadata of {meta_len} bytes runs past the end ({size} bytes)"
        meta_bytes = f.read(meta_len)
    try:
        meta, _ = cbor(meta_bytes)
        tensors = meta["tensors"]
        need = max((t["data_offsets"][1] for t in tensors.values()), default=0)
    except (ValueError, KeyError, TypeError, IndexError, UnicodeDecodeError, struct.error) as e:
        return f"unreadable metadata ({e})"
    start = -(-(10 + meta_len) // 256) * 256
    if need and start + need > size:
        return f"tensor data runs past the end ({size} of {start + need} bytes)"
    return None


def csv_problem(path: Path) -> str | None:
    try:
        text = path.read_text()
    except (UnicodeDecodeError, OSError) as e:
        return str(e)
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or not rows[0] or rows[0][0] != "epoch":
        return "no header"
    if not text.endswith("\n"):
        return "no final newline (torn)"
    for row in rows[1:]:
        if len(row) != len(rows[0]):
            return f"a row of {len(row)} fields under {len(rows[0])} columns"
        try:
            int(row[0])
            [float(v) for v in row[1:] if v != ""]
        except ValueError:
            return f"a non-numeric field in row {row[0]!r}"
    return None


def json_problem(path: Path) -> str | None:
    try:
        value = json.loads(path.read_text())
    except (UnicodeDecodeError, ValueError, OSError) as e:
        return f"not JSON ({e})"
    return None if isinstance(value, dict) else "not a JSON object"


def file_problem(path: Path) -> str | None:
    """Why the run file at `path` is unreadable (None: readable)."""
    try:
        if path.suffix == ".bpk":
            return bpk_problem(path)
        if path.suffix == ".csv":
            return csv_problem(path)
        if path.suffix == ".json":
            return json_problem(path)
        path.stat()
        return None
    except FileNotFoundError:
        return "gone"
    except OSError as e:
        return str(e)


def inventory(root: Path) -> dict[str, str | None]:
    """Every run file under `root` (config, metrics, summary, comparison, models, checkpoints;
    not Burn's per-iteration logs): relative path -> None if readable, else why not."""
    found: dict[str, str | None] = {}
    if not root.is_dir():
        return found
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in ("train", "valid")]
        for name in filenames:
            rel = os.path.relpath(os.path.join(dirpath, name), root)
            if RUN_FILE.fullmatch(rel):
                found[rel] = file_problem(Path(dirpath) / name)
    return found


def complete_epochs(files: dict[str, str | None], ckpt_dir: str) -> set[int]:
    """Epochs whose model, optimiser and scheduler files in `ckpt_dir` are all readable."""
    kinds: dict[int, set[str]] = {}
    for rel, why in files.items():
        m = CHECKPOINT_FILE.fullmatch(rel)
        if m and m["dir"] == ckpt_dir and why is None and m["kind"] != "tbptt":
            kinds.setdefault(int(m["epoch"]), set()).add(m["kind"])
    return {e for e, k in kinds.items() if k >= {"model", "optim", "scheduler"}}


def lost_files(before: dict[str, str | None], root: Path, ignore: set[str] = frozenset()) -> list[str]:
    """Run files readable in `before` that are now unreadable, or gone without a newer complete
    checkpoint having replaced them (Burn keeps the last two)."""
    after = inventory(root)
    lost = []
    for rel, why in sorted(before.items()):
        if why is not None or rel in ignore:
            continue
        if rel in after:
            if after[rel] is not None:
                lost.append(f"{rel} ({after[rel]})")
            continue
        m = CHECKPOINT_FILE.fullmatch(rel)
        if m and any(e > int(m["epoch"]) for e in complete_epochs(after, m["dir"])):
            continue
        if m and m["kind"] == "tbptt":
            newer = [r for r in after if (n := CHECKPOINT_FILE.fullmatch(r)) and n["dir"] == m["dir"]
                     and n["kind"] == "tbptt" and int(n["epoch"]) > int(m["epoch"])]
            if newer:
                continue
        lost.append(f"{rel} (gone)")
    return lost


def torn_text_files(root: Path, ignore: set[str] = frozenset()) -> list[str]:
    """Text run files (written atomically) that are present but unreadable."""
    return [f"{rel} ({why})" for rel, why in sorted(inventory(root).items())
            if why and rel not in ignore and not rel.endswith(".bpk")]


def stray_temporaries(root: Path) -> list[str]:
    """Temporary files of interrupted writes still lying in a run directory."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")
                  if p.is_file() and (p.name.endswith(".tmp") or re.match(r"\.[^/]+\.\d+\.", p.name)))


def metrics_rows(path: Path) -> list[dict]:
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    return [{k: r.get(k, "") for k in DET_COLUMNS} for r in rows]


def iteration_logs(run_dir: Path) -> dict[str, list[str]]:
    """Burn's per-iteration training loss logs (the comparison plot and batches_to_beat read
    them)."""
    logs = {}
    for p in sorted(run_dir.glob("train/epoch-*/Loss.log")):
        logs[str(p.relative_to(run_dir))] = p.read_text().splitlines()
    return logs


def differences(ref, got, path: str = "") -> list[str]:
    if isinstance(ref, dict) and isinstance(got, dict):
        out = []
        for k in sorted(set(ref) | set(got), key=str):
            where = f"{path}.{k}" if path else str(k)
            if k not in got:
                out.append(f"{where}: missing")
            elif k not in ref:
                out.append(f"{where}: unexpected")
            else:
                out.extend(differences(ref[k], got[k], where))
        return out
    if isinstance(ref, list) and isinstance(got, list):
        if len(ref) != len(got):
            epochs = lambda rows: [r.get("epoch") for r in rows if isinstance(r, dict)]
            if epochs(ref) or epochs(got):
                return [f"{path}: epochs {', '.join(map(str, epochs(got)))}, expected "
                        f"{', '.join(map(str, epochs(ref)))}"]
            return [f"{path}: {len(got)} entries, expected {len(ref)}"]
        out = []
        for i, (a, b) in enumerate(zip(ref, got)):
            out.extend(differences(a, b, f"{path}[{i}]"))
        return out
    return [] if ref == got else [f"{path}: {got!r}, expected {ref!r}"]


# ---------------------------------------------------------------------------------------------
# Running the binaries.

@dataclass
class Result:
    argv: list[str]
    rc: int
    stdout: str
    stderr: str
    seconds: float
    rss_kb: int
    timed_out: bool
    note: str | None = None
    before: dict | None = None

    @property
    def killed(self) -> bool:
        """Killed by this script (a trigger), not by the timeout."""
        return self.rc == -signal.SIGKILL and not self.timed_out

    def panic(self) -> str | None:
        text = self.stdout + "\n" + self.stderr
        for marker in PANIC_MARKERS:
            if marker in text:
                return f"{marker!r} in its output"
        if self.rc == 101:
            return "exit code 101"
        if self.rc in (134, 139):
            return f"exit code {self.rc} (abort)"
        if self.rc < 0 and self.rc != -signal.SIGKILL:
            return f"killed by signal {signal.Signals(-self.rc).name}"
        if self.timed_out:
            return f"still running after {self.seconds:.0f} s"
        return None

    def errors(self) -> list[str]:
        return [shorten(l) for l in self.stderr.splitlines() if l.startswith("error:")]

    def warnings(self) -> list[str]:
        """Warnings other than failed writes (those are checked by the reference runs)."""
        return [shorten(l) for l in self.stderr.splitlines()
                if l.startswith("warning:") and not WRITE_WARNING.match(l)]

    def write_warnings(self) -> list[str]:
        return [shorten(l) for l in self.stderr.splitlines() if WRITE_WARNING.match(l)]

    def cmd(self) -> str:
        return shlex.join(self.argv)

    def excerpt(self, n: int = 8) -> list[str]:
        """The lines that tell what happened: the `error:`/`warning:` lines, or the panic
        message (not its backtrace), or the end of the output."""
        err = [l for l in self.stderr.splitlines() if l.strip()]
        out = [l for l in self.stdout.splitlines() if l.strip()]
        both = err + out
        panics = [i for i, l in enumerate(both) if "panicked at" in l or "=== PANIC ===" in l]
        if panics:
            lines = []
            for i in panics[:3]:
                lines += [l for l in both[i:i + 2] if l not in lines]
            lines += [l for l in err if l.startswith(("error:", "warning:"))][:2]
            lines += [l for l in err[-3:] if l not in lines]
        elif any(l.startswith(("error:", "warning:")) for l in err):
            first = next(i for i, l in enumerate(err) if l.startswith(("error:", "warning:")))
            lines = err[first:first + n]
        else:
            lines = err[-n:] if err else out[-n:]
        return [shorten(l)[:300] for l in lines[:n + 2]]

    def first_error(self) -> str:
        errs = self.errors()
        return errs[0][:240] if errs else (self.excerpt(1) or ["(no output)"])[0]

    def message(self, n: int = 160) -> str:
        """The first error without `error: ` and the `cannot resume DIR: ` prefix."""
        errs = self.errors()
        if not errs:
            return self.first_error()[:n]
        return re.sub(r"^error: (cannot resume \S+: )?", "", errs[0])[:n]


def shorten(text: str) -> str:
    return text.replace(TMP_PREFIX, "$TMP") if TMP_PREFIX else text


class Child:
    """A running binary: stdout is read line by line (triggers watch it), stderr goes to a file,
    and the exit status is reaped with wait4 for this child's own peak memory."""

    def __init__(self, argv: list[str], cwd: Path, env: dict, tmp: Path):
        self.argv = [str(a) for a in argv]
        self.err = tempfile.TemporaryFile(dir=tmp)
        self.started = time.monotonic()
        self.proc = subprocess.Popen(self.argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=self.err)
        self.lines: list[str] = []
        self.cond = threading.Condition()
        self.eof = False
        self.status: int | None = None
        self.rss_kb = 0
        self.seconds = 0.0
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in self.proc.stdout:
            with self.cond:
                self.lines.append(raw.decode("utf-8", "replace").rstrip("\r\n"))
                self.cond.notify_all()
        with self.cond:
            self.eof = True
            self.cond.notify_all()

    def _reaped(self, status: int, usage) -> None:
        self.status = os.waitstatus_to_exitcode(status)
        self.rss_kb = usage.ru_maxrss
        self.seconds = time.monotonic() - self.started
        self.proc.returncode = self.status

    def poll(self) -> bool:
        """Whether the process has exited (reaps it)."""
        if self.status is None:
            pid, status, usage = os.wait4(self.proc.pid, os.WNOHANG)
            if pid:
                self._reaped(status, usage)
        return self.status is not None

    def kill(self) -> None:
        if self.status is None:
            try:
                os.kill(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def wait_line(self, pattern: str, start: int, deadline: float) -> int | None:
        """Index of the first stdout line from `start` on that matches `pattern`."""
        rx = re.compile(pattern)
        with self.cond:
            i = start
            while True:
                while i < len(self.lines):
                    if rx.search(self.lines[i]):
                        return i
                    i += 1
                if self.eof or time.monotonic() > deadline:
                    return None
                self.cond.wait(0.05)

    def wait(self, timeout: float) -> Result:
        timed_out = False
        while not self.poll():
            if time.monotonic() - self.started > timeout:
                timed_out = True
                self.kill()
                _, status, usage = os.wait4(self.proc.pid, 0)
                self._reaped(status, usage)
                break
            time.sleep(0.005)
        self.reader.join(10)
        self.proc.stdout.close()
        self.err.seek(0)
        stderr = self.err.read().decode("utf-8", "replace")
        self.err.close()
        with self.cond:
            stdout = "\n".join(self.lines)
        return Result(self.argv, self.status, stdout, stderr, self.seconds, self.rss_kb, timed_out)


# ---------------------------------------------------------------------------------------------
# Kill triggers: each waits for its moment, records the run files, and kills.

def after_lines(root: Path, patterns: list[str], delay: float = 0.0, files: list[Path] = ()):
    """Kills `delay` seconds after stdout showed each of `patterns` in order and `files` all
    exist (Burn writes a checkpoint in the background while the next epoch starts)."""

    def fire(child: Child):
        deadline = time.monotonic() + 900
        i = 0
        for p in patterns:
            j = child.wait_line(p, i, deadline)
            if j is None:
                return None, None
            i = j + 1
        while not all(f.exists() for f in files):
            if child.poll():
                return None, None
            time.sleep(0.001)
        end = time.monotonic() + delay
        while time.monotonic() < end and not child.poll():
            time.sleep(0.002)
        before = inventory(root)
        child.kill()
        return f"{delay:.2f} s after {child.lines[i - 1].strip()[:60]!r}", before

    return fire


def on_new_file(root: Path, directory: Path, pattern: str, after: list[str] = ()):
    """Kills as soon as a file matching `pattern` appears in `directory` (polled every
    millisecond), after stdout showed `after`."""
    rx = re.compile(pattern)

    def fire(child: Child):
        i = 0
        for p in after:
            j = child.wait_line(p, i, time.monotonic() + 900)
            if j is None:
                return None, None
            i = j + 1
        before = inventory(root)
        last = time.monotonic()
        while not child.poll():
            try:
                names = os.listdir(directory)
            except FileNotFoundError:
                names = []
            hits = [n for n in names if rx.fullmatch(n)]
            if hits:
                child.kill()
                return f"as {hits[0]} appeared", before
            if time.monotonic() - last > 0.05:
                before = inventory(root)
                last = time.monotonic()
            time.sleep(0.001)
        return None, None

    return fire


# ---------------------------------------------------------------------------------------------
# Experiments under test.

@dataclass(eq=False)
class Scenario:
    key: str
    binary: str
    args: list[str]
    epochs: int
    networks: tuple[str, ...] = ()
    timings: dict = field(default_factory=dict)

    @property
    def adding(self) -> bool:
        return bool(self.networks)

    def train_seconds(self, epoch: int, net: str | None = None) -> float:
        return self.timings.get((net, epoch), (0.2, 0.02))[0]

    def test_seconds(self, epoch: int, net: str | None = None) -> float:
        return self.timings.get((net, epoch), (0.2, 0.02))[1]


def epoch_line(epoch: int, epochs: int, split: str) -> str:
    return rf"^epoch\s+{epoch}/{epochs}\s+{split}\s+loss"


def default_mnist_dir() -> Path:
    """Where the experiments find MNIST without --data-dir (crates/data/src/source.rs is the
    authority): $MNIST_DIR when set, else the per-user cache, which a run downloads into."""
    if os.environ.get("MNIST_DIR"):
        return Path(os.environ["MNIST_DIR"])
    if os.environ.get("RNN_BURN_CACHE"):
        return Path(os.environ["RNN_BURN_CACHE"]) / "mnist"
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "rnn-burn" / "mnist"


class Suite:
    def __init__(self, opts):
        self.quick = opts.quick
        self.verbose = opts.verbose
        self.only = re.compile(opts.only) if opts.only else None
        self.keep = opts.keep
        target = os.environ.get("CARGO_TARGET_DIR") or str(ROOT / "target")
        self.bin_dir = Path(target).resolve() / "release"
        self.mnist_dir = default_mnist_dir().resolve()
        self.tmp = Path(tempfile.mkdtemp(prefix="rnn-burn-faults-"))
        global TMP_PREFIX
        TMP_PREFIX = str(self.tmp)
        self.passed = self.failed = 0
        # (class, why) of each skipped case, in order.
        self.skips: list[tuple[str, str]] = []
        self.tried = self.survived = self.lost = 0
        self.mounts: list[Path] = []
        self.live: set[Child] = set()
        self.refs: dict[str, dict | None] = {}
        self.accepted: list[str] = []
        self.counter = 0
        self.roomy_runs = 0
        self.write_warned: list[tuple[str, str]] = []
        self.scenarios = {
            "elman": Scenario("elman-mnist", "elman-mnist",
                              ["--epochs", "3", "--limit-train", "6000", "--limit-test", "1000", "--seed", "7"], 3),
            "lstm": Scenario("lstm-mnist", "lstm-mnist",
                             ["--epochs", "4", "--limit-train", "8000", "--limit-test", "3000",
                              "--batch-size", "50", "--lr", "0.5"], 4),
            "seq": Scenario("simple-sequence", "simple-sequence",
                            ["--epochs", "4", "--repeat", "1000", "--seed", "5"], 4),
            "adding": Scenario("adding-problem", "adding-problem",
                               ["--epochs", "3", "--train-size", "20000", "--seed", "3"], 3,
                               networks=("rnn", "lstm", "gru")),
        }

    # --- bookkeeping -------------------------------------------------------------------------

    def wants(self, name: str) -> bool:
        return self.only is None or bool(self.only.search(name))

    def report(self, name: str, ok: bool, detail: str, context: list[str] = ()) -> None:
        if ok:
            self.passed += 1
            print(f"PASS {name}: {shorten(detail)}", flush=True)
        else:
            self.failed += 1
            print(f"FAIL {name}: {shorten(detail)}", flush=True)
            for line in context:
                print(f"    {shorten(line)}", flush=True)

    def write_warning_case(self) -> None:
        """Every run on a disk with room must write its files without a warning."""
        if not self.roomy_runs:
            return
        warned = self.write_warned
        self.report("runs on a disk with room write every file", not warned,
                    f"{self.roomy_runs} runs, none warned" if not warned else
                    f"{len(warned)} of {self.roomy_runs} runs on a disk with room said a file could not "
                    f"be written, e.g. {warned[0][1]!r}",
                    [f"command: {c}: {w}" for c, w in warned[:4]])

    def skip(self, cls: str, name: str, why: str) -> None:
        assert cls in SKIP_CLASSES, cls
        self.skips.append((cls, why))
        print(f"SKIP {name}: {why} [{cls}]", flush=True)

    def skip_groups(self) -> list[tuple[str, str, int]]:
        """(class, why, count) of the skipped cases, one per distinct reason, in the order
        each was first met."""
        counts: dict[tuple[str, str], int] = {}
        for key in self.skips:
            counts[key] = counts.get(key, 0) + 1
        return [(cls, why, n) for (cls, why), n in counts.items()]

    def skip_line(self) -> str:
        groups = self.skip_groups()
        if not groups:
            return "faults: 0 skipped"
        return (f"faults: {len(self.skips)} skipped ("
                + "; ".join(f"{n} {cls}: {why}" for cls, why, n in groups) + ")")

    def fault(self, survived: bool, lost: int = 0, n: int = 1) -> None:
        self.tried += n
        self.survived += n if survived else 0
        self.lost += lost

    def fresh(self, stem: str) -> Path:
        self.counter += 1
        return self.tmp / f"{self.counter:03d}-{re.sub(r'[^A-Za-z0-9]+', '-', stem).strip('-')[:60]}"

    def env(self, **extra) -> dict:
        env = dict(os.environ)
        env["MNIST_DIR"] = str(self.mnist_dir)
        env.update(extra)
        return env

    def bin(self, name: str) -> str:
        return str(self.bin_dir / name)

    def run(self, argv: list, trigger=None, timeout: float = 600, env: dict | None = None,
            roomy: bool = True) -> Result:
        if self.verbose:
            print(f"  $ {shlex.join(str(a) for a in argv)}", flush=True)
        child = Child(argv, self.tmp, env or self.env(), self.tmp)
        self.live.add(child)
        try:
            note, before = trigger(child) if trigger else (None, None)
            result = child.wait(timeout)
        finally:
            self.live.discard(child)
        result.note, result.before = note, before
        if roomy:
            self.roomy_runs += 1
            if result.write_warnings():
                self.write_warned.append((result.cmd(), result.write_warnings()[0]))
        return result

    def cleanup(self) -> None:
        for child in list(self.live):
            child.kill()
        for m in reversed(self.mounts):
            subprocess.run(["umount", str(m)], capture_output=True)
            if os.path.ismount(m):
                subprocess.run(["umount", "-l", str(m)], capture_output=True)
        self.mounts.clear()
        if self.keep:
            print(f"kept {self.tmp}", flush=True)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # --- results -----------------------------------------------------------------------------

    def outcome(self, sc: Scenario, root: Path) -> dict:
        """The deterministic part of a finished run's results (raises OSError/ValueError when
        they cannot be read)."""
        out: dict = {}
        dirs = {net: root / net for net in sc.networks} if sc.adding else {"": root}
        if sc.adding:
            comp = json.loads((root / "comparison.json").read_text())
            out["comparison.json"] = [{k: r.get(k) for k in COMPARISON_KEYS} for r in comp["results"]]
        for net, d in dirs.items():
            prefix = f"{net}/" if net else ""
            summary = json.loads((d / "summary.json").read_text())
            out[prefix + "summary.json"] = {k: summary.get(k) for k in SUMMARY_KEYS}
            out[prefix + "metrics.csv"] = metrics_rows(d / "metrics.csv")
            out[prefix + "iteration logs"] = iteration_logs(d)
        return out

    def headline(self, sc: Scenario, o: dict) -> str:
        if sc.adding:
            return "test MSE " + ", ".join(f"{r['model']} {r['test_mse']:.5f}" for r in o["comparison.json"])
        s = o["summary.json"]
        return f"test_accuracy {s['test_accuracy']}"

    def compare(self, sc: Scenario, root: Path) -> list[str]:
        """Differences between the run in `root` and the uninterrupted reference."""
        ref = self.reference(sc)
        try:
            got = self.outcome(sc, root)
        except (OSError, ValueError, KeyError, TypeError) as e:
            return [f"results unreadable: {e}"]
        diffs = differences(ref["outcome"], got)
        results = [d for d in diffs if "iteration logs" not in d]
        logs = [d for d in diffs if "iteration logs" in d]
        if logs:
            results.append(f"per-iteration training log differs: {logs[0]}"
                           + (f" (+{len(logs) - 1} more)" if len(logs) > 1 else ""))
        return results

    def reference(self, sc: Scenario) -> dict | None:
        """An uninterrupted run of `sc` (run once; in the full suite twice, to check that the
        same seed gives the same run)."""
        if sc.key in self.refs:
            return self.refs[sc.key]
        runs, failures = [], []
        while len(runs) < (1 if self.quick else 2) and len(failures) < 3:
            root = self.fresh(f"reference-{sc.key}")
            r = self.run([self.bin(sc.binary), *sc.args, "--out", root, "--plain"])
            if r.rc != 0 or r.panic():
                failures.append(r)
            else:
                runs.append((root, r))
        if failures:
            # A failed uninterrupted run is a defect by itself; the faults are still tried
            # from a run that succeeded, if one did.
            r = failures[0]
            self.report(f"{sc.key} uninterrupted run", False,
                        f"{len(failures)} of {len(failures) + len(runs)} uninterrupted runs failed, "
                        f"the first with exit {r.rc}: {r.panic() or r.first_error()}",
                        [f"command: {r.cmd()}", *r.excerpt()])
        if not runs:
            self.refs[sc.key] = None
            return None
        root, r = runs[0]
        try:
            outcomes = [self.outcome(sc, d) for d, _ in runs]
        except (OSError, ValueError, KeyError, TypeError) as e:
            self.report(f"{sc.key} reference run", False, f"exit 0, but its results are unreadable: {e}",
                        [f"command: {r.cmd()}", *r.excerpt()])
            self.refs[sc.key] = None
            return None
        ref = {"root": root, "outcome": outcomes[0], "seconds": r.seconds}
        for net in sc.networks or (None,):
            d = root / net if net else root
            for row in csv.DictReader(io.StringIO((d / "metrics.csv").read_text())):
                try:
                    sc.timings[(net, int(row["epoch"]))] = (float(row["train_seconds"] or 0),
                                                            float(row["test_seconds"] or 0))
                except ValueError:
                    pass
        self.refs[sc.key] = ref
        if len(runs) > 1:
            diffs = differences(outcomes[0], outcomes[1])
            self.report(f"{sc.key} determinism", not diffs,
                        "two uninterrupted runs with the same seed agree exactly "
                        f"({self.headline(sc, ref['outcome'])}, {r.seconds:.1f} s)" if not diffs
                        else f"two uninterrupted runs with the same seed differ: {'; '.join(diffs[:3])}",
                        [f"command: {shlex.join(runs[1][1].argv)}"])
        return ref

    # --- 1. kills ----------------------------------------------------------------------------

    def kill_cases(self) -> None:
        lstm, elman, seq, add = (self.scenarios[k] for k in ("lstm", "elman", "seq", "adding"))
        cases = []  # (scenario, name, first trigger, second trigger, quick, expect_no_checkpoint)

        def ckpt(root, net=None):
            return (root / net if net else root) / "checkpoint"

        def mid_epoch(sc, epoch, net=None, lead=()):
            # Once the previous epoch's checkpoint is on disk.
            return lambda root: after_lines(
                root, [*lead, epoch_line(epoch - 1, sc.epochs, "test")], 0.4 * sc.train_seconds(epoch, net),
                [ckpt(root, net) / f"{kind}-{epoch - 1}.bpk" for kind in ("model", "optim", "scheduler")])

        def evaluation(sc, epoch, net=None, lead=()):
            return lambda root: after_lines(
                root, [*lead, epoch_line(epoch, sc.epochs, "train")], 0.3 * sc.test_seconds(epoch, net))

        def new_file(name, net=None, lead=()):
            # The file itself, or the temporary file it is written to first.
            return lambda root: on_new_file(root, ckpt(root, net), r"\.?" + re.escape(name) + r"(\..*)?", lead)

        cases += [
            (lstm, "during the evaluation before training (no checkpoint yet)",
             lambda root: after_lines(root, [r"^lstm-mnist: epochs"], 0.3 * lstm.test_seconds(0)), None, False, True),
            (lstm, "mid-epoch 2", mid_epoch(lstm, 2), None, True, False),
            (lstm, "as checkpoint/model-2.bpk (or its temporary file) appears", new_file("model-2.bpk"), None, False, False),
            (lstm, "as checkpoint/optim-3.bpk (or its temporary file) appears", new_file("optim-3.bpk"), None, True, False),
            (lstm, "during the evaluation of epoch 3", evaluation(lstm, 3), None, True, False),
            (lstm, "mid-epoch 2, then the resume as checkpoint/model-3.bpk (or its temporary file) appears",
             mid_epoch(lstm, 2), new_file("model-3.bpk"), True, False),
            (elman, "mid-epoch 2", mid_epoch(elman, 2), None, False, False),
            (elman, "as checkpoint/optim-2.bpk (or its temporary file) appears", new_file("optim-2.bpk"), None, False, False),
            (elman, "during the evaluation of epoch 2", evaluation(elman, 2), None, False, False),
            (elman, "after the last checkpoint (during the training-set evaluation)",
             lambda root: after_lines(root, [epoch_line(3, 3, "test")], 0.1), None, False, False),
            (elman, "mid-epoch 2, then the resume during the evaluation of epoch 3",
             mid_epoch(elman, 2), evaluation(elman, 3), False, False),
            (seq, "mid-epoch 2", mid_epoch(seq, 2), None, True, False),
            (seq, "as checkpoint/tbptt-2.json (or its temporary file) appears", new_file("tbptt-2.json"), None, False, False),
            (seq, "as checkpoint/model-2.bpk (or its temporary file) appears", new_file("model-2.bpk"), None, False, False),
            (seq, "during the evaluation of epoch 3", evaluation(seq, 3), None, False, False),
            (seq, "mid-epoch 2, then the resume mid-epoch 4", mid_epoch(seq, 2), mid_epoch(seq, 4), False, False),
        ]
        lead_lstm = [r"^lstm: hidden"]
        lead_gru = [r"^gru: hidden"]
        cases += [
            (add, "between the networks (rnn done, lstm not started)",
             lambda root: after_lines(root, [r"^lstm: hidden"]), None, False, False),
            (add, "during lstm's first epoch (lstm has no checkpoint yet)",
             lambda root: after_lines(root, [*lead_lstm, r"^parameters:"], 0.4 * add.train_seconds(1, "lstm")),
             None, False, False),
            (add, "mid-epoch 2 of lstm", mid_epoch(add, 2, "lstm", lead_lstm), None, True, False),
            (add, "as lstm/checkpoint/optim-2.bpk (or its temporary file) appears", new_file("optim-2.bpk", "lstm", lead_lstm), None, False, False),
            (add, "while the comparison is written (every network done)",
             lambda root: after_lines(root, [*lead_gru, r"^adding-problem: test MSE"]), None, False, False),
            (add, "mid-epoch 2 of lstm, then the resume mid-epoch 2 of gru",
             mid_epoch(add, 2, "lstm", lead_lstm), mid_epoch(add, 2, "gru", lead_gru), False, False),
        ]
        for sc, moment, first, second, quick, no_checkpoint in cases:
            name = f"kill {sc.key} {moment}"
            if (self.quick and not quick) or not self.wants(name):
                continue
            if self.reference(sc) is None:
                continue
            self.kill_case(sc, name, first, second, no_checkpoint)

    def phase(self, sc: Scenario, root: Path, r: Result) -> str:
        """Where a killed run stood: its last progress line and the checkpoints on disk."""
        files = inventory(root)
        states = []
        for net in sc.networks or (None,):
            d = f"{net}/checkpoint" if net else "checkpoint"
            done = sorted(complete_epochs(files, d))
            torn = [rel.split("/")[-1] for rel, why in files.items() if rel.startswith(d + "/") and why]
            if done or torn or not sc.networks:
                states.append(f"{net + ' ' if net else ''}checkpoints {done or 'none'}"
                              + (f", torn {sorted(torn)}" if torn else ""))
        last = [l for l in r.stdout.splitlines() if l.startswith(("epoch", "before", "after", "rnn:", "lstm:", "gru:"))]
        where = f"last line {last[-1].strip()[:48]!r}" if last else "no progress line yet"
        return f"{where}; {'; '.join(states)}"

    def kill_case(self, sc: Scenario, name: str, first, second, no_checkpoint: bool) -> None:
        # A run that ends before the script sees its moment (a short moment on a busy
        # machine) is the script's miss, not the program's fault: try again, twice at most.
        for attempt in range(3):
            root = self.fresh(name)
            argv = [self.bin(sc.binary), *sc.args, "--out", root, "--plain"]
            problems, context, lost_all, panicked = [], [f"command: {shlex.join(map(str, argv))}"], [], False
            r = self.run(argv, trigger=first(root))
            if r.killed or r.panic() or r.rc != 0:
                break
        if not r.killed:
            detail = f"the run ended (exit {r.rc}) before the moment, 3 times: the script missed it"
            if r.panic():
                detail = f"the run panicked before the moment: {r.panic()}"
                self.fault(False)
            self.report(name, False, detail, context + r.excerpt())
            return
        story = [f"killed {r.note} ({self.phase(sc, root, r)})"]
        # A kill before the first checkpoint was complete leaves nothing to resume (an
        # adding-problem comparison starts such a network again instead).
        no_checkpoint = no_checkpoint or (not sc.adding and not complete_epochs(inventory(root), "checkpoint"))
        lost = lost_files(r.before or {}, root)
        lost_all += lost
        torn = torn_text_files(root)
        if torn:
            problems.append(f"torn after the kill: {', '.join(torn)}")
        resume = [self.bin(sc.binary), "--resume", root, "--plain"]
        context.append(f"resume: {shlex.join(map(str, resume))}")
        final = None
        for round_ in range(4):
            trig = second(root) if (second and round_ == 0) else None
            r = self.run(resume, trigger=trig)
            if r.panic():
                panicked = True
                problems.append(f"resume {round_ + 1} panicked: {r.panic()}")
                context += r.excerpt()
                break
            if trig and r.killed:
                story.append(f"resume killed {r.note} ({self.phase(sc, root, r)})")
                lost = lost_files(r.before or {}, root)
                lost_all += lost
                torn = torn_text_files(root)
                if torn:
                    problems.append(f"torn after the second kill: {', '.join(torn)}")
                continue
            if trig and not r.killed:
                story.append("the second kill missed its moment (the resume finished first)")
            final = r
            break
        if final is not None and not panicked:
            warns = final.warnings()
            if warns:
                story.append(f"resume warned {warns[0][9:][:120]!r}")
            if no_checkpoint:
                if final.rc == 0:
                    problems.append("the resume of a run without a checkpoint exited 0")
                elif not final.errors():
                    problems.append(f"the resume exited {final.rc} without an error: line")
                else:
                    story.append(f"resume refused cleanly (exit {final.rc}: {final.message(110)})")
            elif final.rc != 0:
                problems.append(f"the resume exited {final.rc}: {final.first_error()}")
                context += final.excerpt()
            else:
                diffs = self.compare(sc, root)
                if diffs:
                    problems.append("result differs from the uninterrupted run: " + "; ".join(diffs[:3]))
                else:
                    story.append("result equal to the uninterrupted run "
                                 f"({self.headline(sc, self.refs[sc.key]['outcome'])})")
                    stray = stray_temporaries(root)
                    if stray:
                        story.append(f"note: {len(stray)} temporary file(s) of the killed write left "
                                     f"behind ({', '.join(stray[:2])})")
        if lost_all:
            problems.append(f"files lost: {', '.join(lost_all)}")
        self.fault(not panicked and not lost_all, len(lost_all))
        if problems:
            self.report(name, False, "; ".join(problems), context + ["what happened: " + "; ".join(story)])
        else:
            self.report(name, True, "; ".join(story))

    # --- 2. damaged files --------------------------------------------------------------------

    def stopped_run(self, sc: Scenario) -> Path | None:
        """A run of `sc` stopped after epoch 2 (for adding-problem: rnn finished, lstm stopped
        after epoch 2, gru not started)."""
        key = f"stopped-{sc.key}"
        if key in self.refs:
            return self.refs[key]
        root = self.fresh(key)
        argv = [self.bin(sc.binary), *sc.args, "--out", root, "--plain", "--stop-after-epoch", "2"]
        r = self.run(argv)
        if sc.adding and r.rc == EXIT_STOPPED:
            argv = [self.bin(sc.binary), "--resume", root, "--plain", "--stop-after-epoch", "2"]
            r = self.run(argv)
        ok = r.rc == EXIT_STOPPED and not r.panic()
        if not ok:
            self.report(f"{sc.key} stopped run", False,
                        f"--stop-after-epoch 2 exited {r.rc}, expected {EXIT_STOPPED}: {r.first_error()}",
                        [f"command: {r.cmd()}", *r.excerpt()])
        self.refs[key] = root if ok else None
        return self.refs[key]

    def damage_cases(self) -> None:
        lstm, elman, seq, add = (self.scenarios[k] for k in ("lstm", "elman", "seq", "adding"))
        common = ["config.json", "metrics.csv", "summary.json", "model.bpk",
                  "checkpoint/model-2.bpk", "checkpoint/optim-2.bpk", "checkpoint/scheduler-2.bpk"]
        plan = {
            lstm: common,
            elman: common,
            seq: common + ["checkpoint/tbptt-2.json"],
            add: ["comparison.json", "lstm/config.json", "lstm/metrics.csv", "lstm/summary.json",
                  "lstm/checkpoint/model-2.bpk", "lstm/checkpoint/optim-2.bpk",
                  "lstm/checkpoint/scheduler-2.bpk", "rnn/summary.json", "rnn/metrics.csv",
                  "rnn/config.json"],
        }
        quick = {
            (lstm, "config.json", "zero"), (lstm, "metrics.csv", "half"), (lstm, "summary.json", "junk"),
            (lstm, "checkpoint/model-2.bpk", "junk"), (lstm, "checkpoint/model-2.bpk", "half"),
            (lstm, "checkpoint/optim-2.bpk", "zero"), (lstm, "checkpoint/scheduler-2.bpk", "half"),
            (seq, "checkpoint/tbptt-2.json", "junk"), (seq, "checkpoint/tbptt-2.json", "zero"),
            (add, "comparison.json", "zero"), (add, "rnn/summary.json", "junk"),
        }
        for sc, files in plan.items():
            if self.quick and not any(q[0] is sc for q in quick):
                continue
            for rel in files:
                for mode in ("zero", "half", "junk"):
                    name = f"damage {sc.key} {rel} {mode}"
                    if (self.quick and (sc, rel, mode) not in quick) or not self.wants(name):
                        continue
                    if self.reference(sc) is None or self.stopped_run(sc) is None:
                        continue
                    self.damage_case(sc, name, rel, mode)
        name = "damage lstm-mnist finished run without summary.json and model.bpk (as if killed after the last checkpoint)"
        if self.wants(name) and self.reference(lstm) is not None:
            root = self.fresh("finished-without-summary")
            shutil.copytree(self.refs[lstm.key]["root"], root, symlinks=True)
            for f in ("summary.json", "model.bpk"):
                (root / f).unlink()
            self.resume_damaged(lstm, name, root, None, "summary.json and model.bpk missing", redundant=True)

    def damage(self, path: Path, mode: str) -> str:
        size = path.stat().st_size
        if mode == "zero":
            os.truncate(path, 0)
            return f"truncated to 0 of {size} bytes"
        if mode == "half":
            os.truncate(path, size // 2)
            return f"truncated to {size // 2} of {size} bytes"
        junk = random.Random(size).randbytes(64)
        at = max(0, size // 2 - 32)
        with open(path, "r+b") as f:
            f.seek(at)
            f.write(junk[: max(0, min(64, size - at))] if size >= 64 else junk[:size])
        return f"64 junk bytes at {at} of {size}"

    def damage_case(self, sc: Scenario, name: str, rel: str, mode: str) -> None:
        root = self.fresh(name)
        shutil.copytree(self.stopped_run(sc), root, symlinks=True)
        target = root / rel
        if not target.exists():
            self.report(name, False, f"the stopped run has no {rel} (listing: {sorted(inventory(root))})")
            return
        how = self.damage(target, mode)
        redundant = Path(rel).name not in NO_REDUNDANCY
        self.resume_damaged(sc, name, root, rel, how, redundant)

    def resume_damaged(self, sc: Scenario, name: str, root: Path, rel: str | None, how: str, redundant: bool) -> None:
        before = inventory(root)
        resume = [self.bin(sc.binary), "--resume", root, "--plain"]
        r = self.run(resume, timeout=300)
        context = [f"command: {r.cmd()}", f"damage: {rel or ''} {how}".strip()]
        lost = lost_files(before, root, ignore={rel} if rel else set())
        torn = torn_text_files(root, ignore={rel} if rel else set())
        panic = r.panic()
        self.fault(panic is None and not lost, len(lost))
        problems = []
        if panic:
            problems.append(f"panicked (exit {r.rc}): {panic}")
        elif r.rc == 0:
            diffs = self.compare(sc, root)
            if diffs:
                problems.append("resumed with exit 0 but the result differs from the uninterrupted run"
                                + (" (silently)" if not r.warnings() else f" (warning: {r.warnings()[0][9:][:100]})")
                                + ": " + "; ".join(diffs[:3]))
            else:
                verdict = ("resumed from an earlier checkpoint with a warning" if r.warnings()
                           else "resumed")
                detail = f"{how}: {verdict}, result equal ({self.headline(sc, self.refs[sc.key]['outcome'])})"
                if r.warnings():
                    detail += f"; warning: {r.warnings()[0][9:][:140]}"
        else:
            errors = r.errors()
            named = rel is not None and Path(rel).name in r.stderr
            if not errors:
                problems.append(f"exit {r.rc} without an error: line")
            elif rel is not None and not named:
                problems.append(f"exit {r.rc} with an error that does not name {Path(rel).name}: {errors[0][:200]}")
            elif redundant:
                problems.append(f"exit {r.rc} although the run can go on without it "
                                f"({'an earlier checkpoint is there' if 'checkpoint/' in (rel or '') else 'it is rewritten or derivable'}): "
                                f"{errors[0][:200]}")
            else:
                detail = (f"{how}: refused with exit {r.rc} (acceptable: nothing else holds this file's content): "
                          f"{r.message(160)}")
        if lost:
            problems.append(f"files lost: {', '.join(lost)}")
        if torn:
            problems.append(f"torn: {', '.join(torn)}")
        if problems:
            self.report(name, False, f"{how}: " + "; ".join(problems), context + r.excerpt())
        else:
            self.report(name, True, detail)

    # --- 3. full disk ------------------------------------------------------------------------

    def disk_full_cases(self) -> None:
        lstm, elman, seq = self.scenarios["lstm"], self.scenarios["elman"], self.scenarios["seq"]
        cases = [(lstm, 0.15, True), (lstm, 0.6, False), (seq, 0.5, False), (elman, None, False),
                 (elman, 0.7, False)]
        for sc, fraction, quick in cases:
            room = "2 MiB tmpfs" if fraction is None else f"{int(fraction * 100)} % of what the run writes free"
            name = f"disk full {sc.key} ({room})"
            if (self.quick and not quick) or not self.wants(name):
                continue
            if self.reference(sc) is None:
                continue
            self.disk_full_case(sc, name, fraction)

    def mount_tmpfs(self, size: str) -> tuple[Path | None, str]:
        mnt = self.fresh("tmpfs")
        mnt.mkdir()
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mnt)],
                           capture_output=True, text=True)
        if p.returncode != 0:
            # Without the mount point's path, which differs per case, the same failure reads
            # the same in every case and the closing line counts it once.
            why = (p.stderr or p.stdout).strip().replace(str(mnt), "the mount point")
            return None, why or f"mount exited {p.returncode}"
        self.mounts.append(mnt)
        return mnt, ""

    def unmount(self, mnt: Path) -> None:
        subprocess.run(["umount", str(mnt)], capture_output=True)
        if os.path.ismount(mnt):
            subprocess.run(["umount", "-l", str(mnt)], capture_output=True)
        if mnt in self.mounts:
            self.mounts.remove(mnt)

    def disk_full_case(self, sc: Scenario, name: str, fraction: float | None) -> None:
        written = sum(p.stat().st_blocks * 512 for p in self.refs[sc.key]["root"].rglob("*") if p.is_file())
        # 2 MiB; with `fraction`, room for the whole run (then filled but for that fraction).
        size_mib = 2 if fraction is None else max(2, -(-written // (1 << 20)) + 1)
        mnt, why = self.mount_tmpfs(f"{size_mib}m")
        if mnt is None:
            self.skip("full-disk", name, f"cannot mount a tmpfs, which needs root ({why})")
            return
        try:
            if fraction is not None:
                free = int(written * fraction)
                filler = size_mib * 1024 * 1024 - free
                if filler > 0:
                    fd = os.open(mnt / "filler", os.O_CREAT | os.O_WRONLY)
                    try:
                        os.posix_fallocate(fd, 0, filler)
                    finally:
                        os.close(fd)
            free = shutil.disk_usage(mnt).free
            out = mnt / "run"
            argv = [self.bin(sc.binary), *sc.args, "--out", out, "--plain"]
            r = self.run(argv, timeout=300, roomy=False)
            context = [f"command: {r.cmd()}", f"{free // 1024} KiB free of a {size_mib} MiB tmpfs; the run writes "
                                              f"{written // 1024} KiB on a roomy disk"]
            problems, story = [], [f"{free // 1024} KiB free for {written // 1024} KiB"]
            panic = r.panic()
            files = inventory(out)
            torn = torn_text_files(out)
            config_ok = files.get("config.json", "missing") is None
            lost = [] if config_ok or "config.json" not in files else [f"config.json ({files['config.json']})"]
            self.fault(panic is None and not lost, len(lost))
            if panic:
                problems.append(f"panicked (exit {r.rc}): {panic}")
            elif r.rc == 0:
                problems.append("exited 0 although the disk was full" +
                                (f" (warning: {r.warnings()[0][9:][:120]})" if r.warnings() else " (without a word)"))
            else:
                errors = r.errors()
                if not errors:
                    problems.append(f"exit {r.rc} without an error: line")
                else:
                    e = errors[0]
                    # Either a write failed (the error names the file and ENOSPC), or the
                    # free-space check stopped the run first (it names the run's directory
                    # and the free space).
                    guard = re.search(re.escape(str(out)) + r" has \d+ KiB free", r.stderr)
                    if not guard and "No space left" not in r.stderr and "os error 28" not in r.stderr:
                        problems.append(f"the error does not give the cause (no space left): {e[:200]}")
                    if not guard and not re.search(re.escape(str(out)) + r"/\S+", r.stderr):
                        problems.append(f"the error does not name a file of the run: {e[:200]}")
                    story.append(f"exit {r.rc}: {r.message(170)}")
            if not config_ok:
                problems.append(f"config.json not intact: {files.get('config.json', 'missing')}")
            if torn:
                problems.append(f"torn: {', '.join(torn)}")
            # What was written must still resume on a disk with room.
            if not panic and r.rc != 0:
                copy = self.fresh(name + "-copy")
                shutil.copytree(out, copy, symlinks=True)
                done = complete_epochs(files, "checkpoint")
                rr = self.run([self.bin(sc.binary), "--resume", copy, "--plain"], timeout=300)
                if rr.panic():
                    problems.append(f"the resume on a roomy disk panicked: {rr.panic()}")
                    context += [f"resume: {rr.cmd()}", *rr.excerpt()]
                elif rr.rc == 0:
                    diffs = self.compare(sc, copy)
                    if diffs:
                        problems.append("resumed on a roomy disk, but the result differs: " + "; ".join(diffs[:3]))
                    else:
                        story.append(f"resumed on a roomy disk from checkpoint {max(done) if done else '?'}: result equal")
                elif not done and rr.errors():
                    story.append(f"no checkpoint was written; resume refused cleanly ({rr.message(90)})")
                else:
                    problems.append(f"the resume on a roomy disk exited {rr.rc}: {rr.first_error()}")
                    context += [f"resume: {rr.cmd()}", *rr.excerpt()]
            if lost:
                problems.append(f"files lost: {', '.join(lost)}")
            if problems:
                self.report(name, False, "; ".join(problems), context + r.excerpt())
            else:
                self.report(name, True, "; ".join(story))
        finally:
            self.unmount(mnt)

    # --- 4. bad input ------------------------------------------------------------------------

    def idx_header(self, magic: int, *dims: int) -> bytes:
        return struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims)

    def bomb(self, path: Path, header: bytes, gib: float) -> None:
        """`path`: gzip of `header` then `gib` GiB of zeros, streamed (about 1 MB per GiB)."""
        comp = zlib.compressobj(9, zlib.DEFLATED, 31)
        chunk = bytes(1 << 20)
        with open(path, "wb") as f:
            f.write(comp.compress(header))
            for _ in range(int(gib * 1024)):
                f.write(comp.compress(chunk))
            f.write(comp.flush())

    def mnist_files(self) -> dict[str, Path]:
        files = {}
        for base in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                     "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
            for cand in (self.mnist_dir / base, self.mnist_dir / f"{base}.gz"):
                if cand.is_file():
                    files[base] = cand
        return files

    def bad_input_binaries(self, label: str) -> list[str]:
        """The binaries a bad-input case is tried on: the train-image bomb on every MNIST
        experiment outside --quick, everything else on lstm-mnist."""
        if self.quick or "bomb as train" not in label:
            return ["lstm-mnist"]
        return ["lstm-mnist", "elman-mnist", "irnn-mnist"]

    def bad_input_cases(self) -> None:
        real = self.mnist_files()
        names = {
            "gzip bomb as train images (valid header, 1 GiB of zeros)":
                ("train-images-idx3-ubyte.gz", "bomb", self.idx_header(0x803, 60000, 28, 28), True),
            "gzip bomb as test images (valid header, 1 GiB of zeros)":
                ("t10k-images-idx3-ubyte.gz", "bomb", self.idx_header(0x803, 10000, 28, 28), False),
            "absurd header as train images (count 2^31, raw)":
                ("train-images-idx3-ubyte", "raw", self.idx_header(0x803, 2 ** 31, 28, 28), True),
            "absurd header as train images (count 2^31, gzip)":
                ("train-images-idx3-ubyte.gz", "gz", self.idx_header(0x803, 2 ** 31, 28, 28), False),
            "absurd header as train labels (count 2^31)":
                ("train-labels-idx1-ubyte", "raw", self.idx_header(0x801, 2 ** 31), False),
            "absurd header as train images (count 2^32-1, 2^32-1 x 2^32-1 pixels)":
                ("train-images-idx3-ubyte", "raw", self.idx_header(0x803, 2 ** 32 - 1, 2 ** 32 - 1, 2 ** 32 - 1), False),
        }
        todo = [(n, spec) for n, spec in names.items()
                if (not self.quick or spec[3]) and self.wants(f"bad input lstm-mnist {n}")]
        if not todo:
            return
        if len(real) < 4:
            why = (f"MNIST not found in {self.mnist_dir} (the bad files are served beside the real "
                   "labels and test set)")
            for label, _ in todo:
                for bin_name in self.bad_input_binaries(label):
                    if self.wants(f"bad input {bin_name} {label}"):
                        self.skip("bad-input", f"bad input {bin_name} {label}", why)
            return
        cache = self.fresh("cache")
        cache.mkdir()
        env = self.env(RNN_BURN_CACHE=str(cache))
        env.pop("MNIST_DIR", None)
        # Baseline: the real files from a copy, same flags (memory and time to compare with).
        tiny = ["--epochs", "1", "--limit-train", "100", "--limit-test", "100", "--offline", "--plain"]
        base = self.run([self.bin("lstm-mnist"), "--data-dir", self.mnist_dir, *tiny, "--out", self.fresh("baseline")],
                        env=env, timeout=120)
        baseline = f"real MNIST: {base.seconds:.1f} s, {base.rss_kb // 1024} MiB" if base.rc == 0 else "real MNIST run failed"
        for label, (file, kind, header, _) in todo:
            d = self.fresh("mnist")
            d.mkdir()
            for base_name, src in real.items():
                if not file.startswith(base_name):
                    shutil.copy(src, d / src.name)
            if kind == "bomb":
                self.bomb(d / file, header, 1.0)
            elif kind == "gz":
                (d / file).write_bytes(gzip_bytes(header + bytes(784 * 10)))
            else:
                (d / file).write_bytes(header + bytes(784 * 10))
            for bin_name in self.bad_input_binaries(label):
                name = f"bad input {bin_name} {label}"
                if not self.wants(name):
                    continue
                argv = [self.bin(bin_name), "--data-dir", d, *tiny, "--out", self.fresh("bad-input-run")]
                r = self.run(argv, env=env, timeout=60)
                problems = []
                panic = r.panic()
                self.fault(panic is None)
                if panic:
                    problems.append(f"panicked: {panic}")
                elif r.rc == 0:
                    problems.append("exited 0 on bad data")
                elif not r.errors():
                    problems.append(f"exit {r.rc} without an error: line")
                elif file.split(".")[0] not in r.stderr:
                    problems.append(f"the error does not name {file}: {r.first_error()}")
                if r.seconds > 2.5:
                    problems.append(f"took {r.seconds:.1f} s (expected ~2 s at most)")
                if r.rss_kb > 512 * 1024:
                    problems.append(f"peak memory {r.rss_kb // 1024} MiB (expected well under 512 MiB)")
                detail = f"exit {r.rc} in {r.seconds:.2f} s, peak {r.rss_kb // 1024} MiB ({baseline}): {r.message(150)}"
                if problems:
                    self.report(name, False, "; ".join(problems) + f" [{detail}]", [f"command: {r.cmd()}", *r.excerpt()])
                else:
                    self.report(name, True, detail)

    def help_flags(self, argv: list[str]) -> list[str]:
        p = subprocess.run([*argv, "--help"], capture_output=True, text=True, timeout=30)
        flags = []
        for line in p.stdout.splitlines():
            m = re.match(r"^\s+(?:-\w, )?(--[a-z0-9-]+)(?: <([A-Z0-9_]+)>)?", line)
            if m and m[2] and m[2] not in NON_NUMERIC and m[1] not in flags:
                flags.append(m[1])
        return flags

    def flag_cases(self) -> None:
        values = QUICK_BAD_VALUES if self.quick else BAD_VALUES
        targets = [(b, [self.bin(b)], TINY[b]) for b in
                   ("elman-mnist", "lstm-mnist", "irnn-mnist", "adding-problem", "simple-sequence")]
        # The subcommands read a finished run.
        subs = []
        if self.wants("flags lstm-mnist show") or self.wants("flags simple-sequence generate"):
            lstm_run, seq_run = self.fresh("tiny-lstm"), self.fresh("tiny-seq")
            a = self.run([self.bin("lstm-mnist"), *TINY["lstm-mnist"], "--out", lstm_run, "--plain"], timeout=120)
            b = self.run([self.bin("simple-sequence"), *TINY["simple-sequence"], "--out", seq_run, "--plain"], timeout=120)
            if a.rc == 0:
                subs.append(("lstm-mnist show", [self.bin("lstm-mnist"), "show", str(lstm_run)], ["--offline"]))
            if b.rc == 0:
                subs.append(("simple-sequence generate", [self.bin("simple-sequence"), "generate", str(seq_run)], []))
        for label, base, tiny in targets + subs:
            for flag in self.help_flags(base):
                name = f"flags {label} {flag}"
                if not self.wants(name):
                    continue
                self.flag_case(name, label, base, tiny, flag, values)

    def flag_case(self, name: str, label: str, base: list[str], tiny: list[str], flag: str, values: list[str]) -> None:
        extra = list(COMPANIONS.get(flag, []))
        i = 0
        while i < len(tiny):
            if tiny[i] == flag:
                i += 2
                continue
            extra.append(tiny[i])
            i += 1
        refused, accepted_ok, problems, context = [], [], [], []
        for value in values:
            argv = [*base, f"{flag}={value}", *extra]
            if "show" not in base and "generate" not in base:
                argv += ["--out", str(self.fresh("flag-run")), "--plain"]
            r = self.run(argv, timeout=20)
            panic = r.panic() if not r.timed_out else None
            self.fault(panic is None)
            if panic:
                problems.append(f"{value}: panicked ({panic})")
                context += [f"command: {r.cmd()}", *r.excerpt(4)]
            elif r.rc == EXIT_USAGE and r.errors():
                refused.append(value)
            elif r.rc == EXIT_USAGE:
                problems.append(f"{value}: exit {EXIT_USAGE} without an error: line")
                context += [f"command: {r.cmd()}", *r.excerpt(4)]
            elif r.rc != 0 and not r.timed_out and r.errors() and not trained(r):
                problems.append(f"{value}: refused with exit {r.rc}, expected {EXIT_USAGE}: {r.first_error()[:120]}")
                context += [f"command: {r.cmd()}"]
            else:
                outcome = ("still running after 20 s, killed" if r.timed_out
                           else f"exit {r.rc} after {r.seconds:.1f} s" + (f": {r.first_error()[:100]}" if r.rc else ""))
                why = LEGIT.get((flag, value))
                self.accepted.append(f"{label} {flag} {value} ({outcome}; {'legitimate: ' + why if why else 'not legitimate'})")
                if why:
                    accepted_ok.append(f"{value} ({why})")
                else:
                    problems.append(f"{value} accepted ({outcome})")
                    context += [f"command: {r.cmd()}"]
        detail = f"refused {' '.join(refused) or 'nothing'} with exit 2"
        if accepted_ok:
            detail += f"; accepted {', '.join(accepted_ok)}"
        if problems:
            self.report(name, False, "; ".join(problems) + f" [{detail}]", context[:6])
        else:
            self.report(name, True, detail)


def trained(r: Result) -> bool:
    """Whether the run got as far as training (printed an epoch line)."""
    return bool(re.search(r"^epoch\s+\d+/\d+", r.stdout, re.M))


def gzip_bytes(data: bytes) -> bytes:
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    return comp.compress(data) + comp.flush()


def skip_classes(text: str) -> list[str]:
    """`--allow-skip`'s value: skip classes, comma-separated."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in SKIP_CLASSES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown skip class {', '.join(unknown) or repr(text)}: expected {', '.join(SKIP_CLASSES)}")
    return names


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 epilog="skip classes (--allow-skip):\n" + "".join(
                                     f"  {cls:<11} {needs}\n" for cls, needs in SKIP_CLASSES.items())
                                 + "Outside --quick a skip is allowed and counted in the closing line; "
                                   "in --quick\nit fails the run unless --allow-skip names its class.",
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="a subset that runs in under two minutes (CI); a skipped case fails it "
                         "unless --allow-skip names its class")
    ap.add_argument("--only", metavar="REGEX", help="run only the cases whose name matches")
    ap.add_argument("--allow-skip", metavar="CLASS[,CLASS]", type=skip_classes, action="append",
                    default=[], help="with --quick: pass although cases of these classes were "
                                     f"skipped ({', '.join(SKIP_CLASSES)}); repeatable")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--verbose", "-v", action="store_true", help="print every command")
    opts = ap.parse_args()
    allowed = {c for group in opts.allow_skip for c in group}
    suite = Suite(opts)
    missing = [b for b in TINY if not (suite.bin_dir / b).is_file()]
    if missing:
        print(f"faults: binaries missing in {suite.bin_dir}: {', '.join(missing)} (build them: cargo build "
              "--release -p irnn-mnist -p elman-mnist -p lstm-mnist -p adding-problem -p simple-sequence)",
              file=sys.stderr)
        return 2
    if not suite.mnist_dir.is_dir():
        print(f"faults: MNIST not found in {suite.mnist_dir} (set MNIST_DIR to a folder holding the four "
              "MNIST files, or run `just lstm-mnist` once to download them into the cache)", file=sys.stderr)
        return 2

    def terminate(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    started = time.monotonic()
    print(f"faults: binaries {suite.bin_dir}, MNIST {suite.mnist_dir}, {'quick' if suite.quick else 'full'} suite",
          flush=True)
    try:
        suite.kill_cases()
        suite.damage_cases()
        suite.disk_full_cases()
        suite.bad_input_cases()
        suite.flag_cases()
        suite.write_warning_case()
    except KeyboardInterrupt:
        print("faults: interrupted", flush=True)
        suite.failed += 1
    finally:
        suite.cleanup()
    if suite.accepted:
        print("accepted flag values:", flush=True)
        for line in suite.accepted:
            print(f"    {line}", flush=True)
    # In --quick (CI) a skip the caller did not allow is a failure of the run: the cases CI
    # exists to run did not run.
    refused = [(cls, why, n) for cls, why, n in suite.skip_groups()
               if suite.quick and cls not in allowed]
    for cls, why, n in refused:
        print(f"error: faults --quick skipped {n} {cls} case{'s' if n > 1 else ''}: {why}; "
              f"the CI subset must run {'them' if n > 1 else 'it'} (or name the class: --allow-skip {cls})",
              file=sys.stderr, flush=True)
    print(f"time {time.monotonic() - started:.0f} s")
    print(f"cases tried {suite.tried}, survived {suite.survived}, files lost {suite.lost}")
    print(f"faults: {suite.passed} passed, {suite.failed} failed, {len(suite.skips)} skipped")
    print(suite.skip_line(), flush=True)
    return 1 if suite.failed or suite.lost or refused else 0


if __name__ == "__main__":
    sys.exit(main())
