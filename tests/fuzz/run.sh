#!/usr/bin/env bash
# tests/fuzz/run.sh - runs one libFuzzer target the way the fuzz tests and
# scripts/fuzz do:
#
#   run.sh TARGET SECONDS CORPUS REGRESSIONS ARTIFACTS [LIBFUZZER FLAGS...]
#
#   1. TARGET runs once over every file in REGRESSIONS (if any): each is an
#      input that once found a bug, and must pass now.
#   2. TARGET fuzzes for SECONDS (0: skip; $FUZZ_SECONDS overrides it, as
#      scripts/fuzz does), starting from the seeds in CORPUS. New inputs go
#      to $FUZZ_CORPUS_DIR/<target> if that is set (scripts/fuzz keeps them
#      in the build directory, so long runs build on each other), else to
#      a temporary directory removed afterwards: the repository's corpus is
#      only read.
#
# A crash, timeout (-timeout, 10 s per input), leak or sanitizer report
# fails it; the input is written to ARTIFACTS/ and the command to reproduce
# it is printed. libFuzzer's own exit codes for these are 77 and 70, and 77
# is "skipped" to meson test: -error_exitcode=1 -timeout_exitcode=1 make
# them failures.
set -euo pipefail

target=$1 seconds=${FUZZ_SECONDS:-$2} corpus=$3 regressions=$4 artifacts=$5
shift 5
name=$(basename "$target")

# UBSan reports are findings too: stop at the first one.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
mkdir -p "$artifacts"

if [[ -d "$regressions" ]]; then
    mapfile -t inputs < <(find "$regressions" -type f ! -name '*.md' | sort)
    if ((${#inputs[@]} > 0)); then
        echo "== $name: ${#inputs[@]} regression inputs from $regressions"
        "$target" -error_exitcode=1 -timeout_exitcode=1 -artifact_prefix="$artifacts/" "$@" "${inputs[@]}"
    fi
fi

if ((seconds > 0)); then
    if [[ -n "${FUZZ_CORPUS_DIR:-}" ]]; then
        out=$FUZZ_CORPUS_DIR/$name
    else
        out=$(mktemp -d)
        trap 'rm -rf "$out"' EXIT
    fi
    mkdir -p "$out"
    echo "== $name: fuzzing for $seconds s from $corpus (new inputs: $out)"
    "$target" -max_total_time="$seconds" -timeout=10 -error_exitcode=1 -timeout_exitcode=1 -print_final_stats=1 \
        -artifact_prefix="$artifacts/" "$@" "$out" "$corpus"
fi
