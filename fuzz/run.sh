#!/usr/bin/env bash
# Runs strata's fuzz targets with libFuzzer: `fuzz/run.sh [SECONDS] [TARGET...]` (default:
# 60 seconds each, every target, one after another). Needs the nightly toolchain; installs
# cargo-fuzz if it is missing. The decoder, expression, request and number targets run under
# AddressSanitizer; the two model targets (engine_model, table_model), which spend their time
# in safe Rust and run 10-50x faster without it, run uninstrumented.
# New corpus entries go to fuzz/corpus/<target>/ (only seed-* and min-* files are committed),
# crashes to fuzz/artifacts/<target>/, each run's log to fuzz/logs/<target>.log.
set -euo pipefail
cd "$(dirname "$0")"
if ! rustup toolchain list | grep -q '^nightly'; then
  echo "fuzz/run.sh: the nightly toolchain is missing; install it with: rustup toolchain install nightly" >&2
  exit 2
fi
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz
seconds="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo +nightly fuzz list)
fi
mkdir -p logs
# Known, bounded allocations LeakSanitizer would report at exit (see lsan.supp).
export LSAN_OPTIONS="suppressions=$PWD/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
for t in "${targets[@]}"; do
  case "$t" in
    engine_model|table_model) sanitizer=none; dir=target/uninstrumented ;;
    *) sanitizer=address; dir=target ;;
  esac
  mkdir -p "corpus/$t" "artifacts/$t"
  echo "== $t: ${seconds}s (sanitizer: $sanitizer)"
  cargo +nightly fuzz run -O -s "$sanitizer" --target-dir "$dir" "$t" "corpus/$t" -- -max_total_time="$seconds" \
    -max_len=8192 -timeout=20 -rss_limit_mb=3072 -print_final_stats=1 >"logs/$t.log" 2>&1 || true
  grep -E "^Done|^stat::number_of_executed_units|SUMMARY|panicked at|Test unit written" "logs/$t.log" || true
done
