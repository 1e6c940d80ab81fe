#!/usr/bin/env bash
# End-to-end check of the docker compose RisingWave stack (docs/RISINGWAVE.md, "Compose services"):
#
#   an outbox row written in MySQL (by src/outbox/mysql.ts, as a service would)
#     -> RisingWave CDC -> materialized view trip_history
#     -> a GraphQL query on the gateway (risingwave engine) sees the trip
#     -> a GraphQL subscription opened before the write receives the change (via the Kafka sink)
#
# NOT RUN YET: written without a Docker engine (none on the development machine or in CI), so it
# has never been executed. It needs the compose services of docs/RISINGWAVE.md merged into
# docker-compose.yml, and `wavegate doctor` wired into the CLI.
#
# Usage: scripts/e2e-compose.sh            (exit 0 = every step passed)
# Environment (all optional):
#   E2E_PROJECT        compose project name             @default wavegate-e2e-<pid>
#   E2E_KEEP=1         leave the stack running afterwards (default: `down -v`)
#   E2E_TIMEOUT        seconds per waiting step          @default 120
#   E2E_GATEWAY        compose service of the gateway   @default wavegate-rw
# Needs: docker with the compose plugin (v2.20+), bash, openssl. Everything else runs in containers.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
project=${E2E_PROJECT:-wavegate-e2e-$$}
timeout=${E2E_TIMEOUT:-120}
gateway=${E2E_GATEWAY:-wavegate-rw}
compose=(docker compose -p "$project")
work=$(mktemp -d)
sub_pid=''

export WAVEGATE_JWT_SECRET=${WAVEGATE_JWT_SECRET:-$(openssl rand -hex 32)}

log() { printf '\n== %s\n' "$*" >&2; }
fail() { printf 'E2E FAILED: %s\n' "$*" >&2; exit 1; }

cleanup() {
  local rc=$?
  if [ -n "$sub_pid" ]; then kill "$sub_pid" 2>/dev/null || true; fi
  if [ "$rc" -ne 0 ]; then
    "${compose[@]}" logs --no-color --tail=80 risingwave wavegate-migrate "$gateway" >&2 || true
  fi
  if [ "${E2E_KEEP:-0}" != 1 ]; then "${compose[@]}" down -v --remove-orphans >/dev/null 2>&1 || true; fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT

# Runs JavaScript with node inside the gateway container (it has node, mysql2, graphql-ws and ws).
in_gateway() { "${compose[@]}" exec -T "$@"; }

# Retries "$@" every 2 s until it succeeds or $timeout seconds pass.
retry() {
  local what=$1; shift
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || fail "timed out after ${timeout}s waiting for: $what"
    sleep 2
  done
}

log "build and start MySQL, Kafka and RisingWave"
"${compose[@]}" build wavegate-migrate "$gateway"
"${compose[@]}" up -d --wait mysql kafka
"${compose[@]}" up -d risingwave

log "create the Kafka topics, check the upstream, apply the RisingWave migrations"
"${compose[@]}" run --rm kafka-topics
# The migrate job runs `wavegate doctor` first (binlog settings and CDC grants), then retries
# `migrate apply` while RisingWave is still starting (exit 69), and fails on anything else.
"${compose[@]}" run --rm wavegate-migrate || fail "wavegate-migrate failed (doctor or migrate apply)"
"${compose[@]}" run --rm wavegate-migrate node bin/wavegate.js migrate status || fail "migrate status is not clean after apply"

log "start the gateway on the risingwave engine and wait for /readyz"
"${compose[@]}" up -d "$gateway"
retry "$gateway /readyz" in_gateway "$gateway" node -e \
  "fetch('http://127.0.0.1:4000/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"

token=$(in_gateway "$gateway" node bin/wavegate.js token --sub ops-e2e --role ops)
ride="e2e-$(date +%s)-$RANDOM"

log "open a subscription to trip $ride"
cat >"$work/subscribe.js" <<'JS'
// Subscribes to tripUpdated for one trip; prints "connected", then exits 0 on the first change
// for that trip (its JSON on stdout), 2 on error, 3 after the timeout.
(async () => {
  const { createClient } = await import('graphql-ws');
  const { default: WebSocket } = await import('ws');
  const client = createClient({
    url: 'ws://127.0.0.1:4000/graphql',
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${process.env.TOKEN}` },
    on: { connected: () => console.log('connected') },
  });
  setTimeout(() => { console.error('no change within the timeout'); process.exit(3); }, Number(process.env.WAIT_MS));
  client.subscribe(
    { query: 'subscription ($id: ID!) { tripUpdated(tripId: $id) { kind tripId trip { id status riderId } } }', variables: { id: process.env.RIDE } },
    {
      next: (msg) => {
        if (msg.errors) { console.error(JSON.stringify(msg.errors)); process.exit(2); }
        if (msg.data?.tripUpdated?.tripId === process.env.RIDE) { console.log(JSON.stringify(msg.data)); process.exit(0); }
      },
      error: (err) => { console.error(String(err?.message ?? JSON.stringify(err))); process.exit(2); },
      complete: () => { console.error('subscription completed without a change'); process.exit(2); },
    },
  );
})();
JS
in_gateway -e TOKEN="$token" -e RIDE="$ride" -e WAIT_MS="$((timeout * 1000))" "$gateway" \
  node -e "$(cat "$work/subscribe.js")" >"$work/sub.out" 2>"$work/sub.err" &
sub_pid=$!
retry "the subscription to connect" grep -q '^connected' "$work/sub.out"

log "write a RideRequested event to the MySQL outbox (src/outbox/mysql.ts, as a service would)"
# A service account would do in production; the e2e uses MySQL's root (compose: MYSQL_ROOT_PASSWORD).
mysql_url="mysql://root:${MYSQL_ROOT_PASSWORD:-wavegate}@mysql:3306/rides"
in_gateway -e RIDE="$ride" -e E2E_MYSQL_URL="$mysql_url" "$gateway" node -e "
const { createMysqlPool, writeEvents } = require('./dist/src/outbox/mysql.js');
(async () => {
  const pool = createMysqlPool({ url: process.env.E2E_MYSQL_URL });
  const conn = await pool.getConnection();
  await conn.beginTransaction();
  await writeEvents(conn, [{ type: 'RideRequested', aggregateId: process.env.RIDE,
    payload: { rider_id: 'rider-e2e', pickup: { lat: 52.52, lng: 13.405 }, dropoff: { lat: 52.5, lng: 13.3 } } }]);
  await conn.commit();
  conn.release();
  await pool.end();
})().catch((e) => { console.error(e.message); process.exit(1); });
" || fail "writing the outbox event failed"

log "the GraphQL query sees the trip"
query_trip() {
  in_gateway -e TOKEN="$token" -e RIDE="$ride" "$gateway" node -e "
fetch('http://127.0.0.1:4000/graphql', {
  method: 'POST',
  headers: { 'content-type': 'application/json', authorization: 'Bearer ' + process.env.TOKEN },
  body: JSON.stringify({ query: 'query (\$id: ID!) { trip(id: \$id) { id status riderId } }', variables: { id: process.env.RIDE } }),
}).then((r) => r.json()).then((b) => process.exit(b.data?.trip?.status === 'REQUESTED' && b.data.trip.riderId === 'rider-e2e' ? 0 : 1), () => process.exit(1));
"
}
retry "trip $ride in the GraphQL query" query_trip

log "the subscription received the change"
if ! wait "$sub_pid"; then
  sub_pid=''
  fail "subscription: $(cat "$work/sub.err")"
fi
sub_pid=''
grep -q "\"tripId\":\"$ride\"" "$work/sub.out" || fail "subscription printed no change for $ride: $(cat "$work/sub.out")"

printf '\nE2E PASSED: outbox insert in MySQL -> GraphQL query -> subscription (trip %s)\n' "$ride"
