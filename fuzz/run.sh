#!/usr/bin/env bash
# Runs strata's fuzz targets with libFuzzer: `fuzz/run.sh [SECONDS] [TARGET...]` (default:
# 60 seconds each, every target). Needs the nightly toolchain; installs cargo-fuzz if missing.
# New corpus entries go to fuzz/corpus/<target>/ (only seed-* and min-* files are committed),
# crashes to fuzz/artifacts/<target>/.
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
cargo +nightly fuzz build -O
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t"
  echo "== $t: ${seconds}s"
  cargo +nightly fuzz run -O "$t" "corpus/$t" -- -max_total_time="$seconds" -max_len=8192 \
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 2>&1 | grep -E "^(stat::|==|SUMMARY|Done)|panicked|ERROR" || true
done
