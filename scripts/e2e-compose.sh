#!/usr/bin/env bash
# End-to-end check of the docker compose stack (docker-compose.yml, docs/RISINGWAVE.md,
# "The docker compose stack"): one ride
# through every part, with the example services writing every event.
#
#   POST /rides on the Ride service   -> RideRequested in MySQL ride.outbox (one transaction)
#     -> RisingWave CDC -> events.RideRequested (append-only sink)
#     -> Driver service: DriverAssigned in driver.outbox; Payment service: FareCalculated in payment.outbox
#     -> RisingWave CDC of those outboxes -> materialized view trip_history (over their UNION ALL)
#     -> the gateway (risingwave engine): the GraphQL query sees ASSIGNED with the driver and a fare
#   POST /rides/:id/start, /complete  -> ... -> COMPLETED, PaymentCaptured -> paidAmount
#     -> a GraphQL subscription opened before the first write received every status up to COMPLETED
#
# NOT RUN YET: written without a Docker engine (none on the development machine or in CI), so it
# has never been executed.
#
# Usage: scripts/e2e-compose.sh            (exit 0 = every step passed)
# Environment (all optional):
#   E2E_PROJECT        compose project name             @default wavegate-e2e-<pid>
#   E2E_KEEP=1         leave the stack running afterwards (default: `down -v`)
#   E2E_TIMEOUT        seconds per waiting step          @default 120
#   E2E_GATEWAY        compose service of the gateway   @default wavegate-rw
# Needs: docker with the compose plugin (v2.23+), bash, openssl. Everything else runs in containers.
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
    "${compose[@]}" logs --no-color --tail=80 risingwave wavegate-migrate "$gateway" ride driver payment notification >&2 || true
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
"${compose[@]}" build wavegate-migrate "$gateway" ride driver payment notification
"${compose[@]}" up -d --wait mysql kafka
"${compose[@]}" up -d risingwave

log "create the Kafka topics, check the upstream, apply the RisingWave migrations"
"${compose[@]}" run --rm kafka-topics
# The migrate job runs `wavegate doctor` first (binlog settings, CDC grants, the four outbox tables),
# then retries `migrate apply` while RisingWave is still starting (exit 69), and fails on anything else.
"${compose[@]}" run --rm wavegate-migrate || fail "wavegate-migrate failed (doctor or migrate apply)"
"${compose[@]}" run --rm wavegate-migrate node bin/wavegate.js migrate status || fail "migrate status is not clean after apply"

log "start the services and the gateway on the risingwave engine, wait for /readyz and the Ride API"
"${compose[@]}" up -d --no-deps ride driver payment notification
"${compose[@]}" up -d "$gateway"
retry "$gateway /readyz" in_gateway "$gateway" node -e \
  "fetch('http://127.0.0.1:4000/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
# GET of an unknown ride answers 404 once the Ride service listens.
retry "the Ride service" in_gateway "$gateway" node -e \
  "fetch('http://ride:8080/rides/none').then((r) => process.exit(r.status === 404 ? 0 : 1), () => process.exit(1))"

token=$(in_gateway "$gateway" node bin/wavegate.js token --sub ops-e2e --role ops)
ride="e2e-$(date +%s)-$RANDOM"

log "open a subscription to trip $ride (it exits when the trip is COMPLETED)"
cat >"$work/subscribe.js" <<'JS'
// Subscribes to tripUpdated for one trip; prints "connected", then one line per change for that
// trip ("<kind> <status>"), and exits 0 once the status is COMPLETED, 2 on error, 3 after the timeout.
(async () => {
  const { createClient } = await import('graphql-ws');
  const { default: WebSocket } = await import('ws');
  const client = createClient({
    url: 'ws://127.0.0.1:4000/graphql',
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${process.env.TOKEN}` },
    on: { connected: () => console.log('connected') },
  });
  setTimeout(() => { console.error('not COMPLETED within the timeout'); process.exit(3); }, Number(process.env.WAIT_MS));
  client.subscribe(
    { query: 'subscription ($id: ID!) { tripUpdated(tripId: $id) { kind tripId trip { id status riderId } } }', variables: { id: process.env.RIDE } },
    {
      next: (msg) => {
        if (msg.errors) { console.error(JSON.stringify(msg.errors)); process.exit(2); }
        const u = msg.data?.tripUpdated;
        if (u?.tripId !== process.env.RIDE) return;
        console.log(`${u.kind} ${u.trip?.status ?? '-'}`);
        if (u.trip?.status === 'COMPLETED') process.exit(0);
      },
      error: (err) => { console.error(String(err?.message ?? JSON.stringify(err))); process.exit(2); },
      complete: () => { console.error('subscription completed before the trip did'); process.exit(2); },
    },
  );
})();
JS
in_gateway -e TOKEN="$token" -e RIDE="$ride" -e WAIT_MS="$((timeout * 1000))" "$gateway" \
  node -e "$(cat "$work/subscribe.js")" >"$work/sub.out" 2>"$work/sub.err" &
sub_pid=$!
retry "the subscription to connect" grep -q '^connected' "$work/sub.out"

# Calls the Ride service's HTTP API from the gateway container: ride_api METHOD PATH [JSON body].
ride_api() {
  in_gateway -e METHOD="$1" -e API_PATH="$2" -e BODY="${3:-}" "$gateway" node -e "
fetch('http://ride:8080' + process.env.API_PATH, { method: process.env.METHOD,
  headers: { 'content-type': 'application/json' }, body: process.env.BODY || undefined })
  .then(async (r) => { const t = await r.text(); console.log(r.status, t); process.exit(r.ok ? 0 : 1); }, (e) => { console.error(e.message); process.exit(1); });
"
}

# Prints the trip as JSON from a GraphQL query; exits 0 when the jq-like check in CHECK (a JS
# expression over t) holds.
query_trip() {
  in_gateway -e TOKEN="$token" -e RIDE="$ride" -e CHECK="$1" "$gateway" node -e "
fetch('http://127.0.0.1:4000/graphql', {
  method: 'POST',
  headers: { 'content-type': 'application/json', authorization: 'Bearer ' + process.env.TOKEN },
  body: JSON.stringify({ query: 'query (\$id: ID!) { trip(id: \$id) { id status riderId driverId fare { amount currency } paidAmount } }', variables: { id: process.env.RIDE } }),
}).then((r) => r.json()).then((b) => { const t = b.data?.trip; console.log(JSON.stringify(t)); process.exit(t && eval(process.env.CHECK) ? 0 : 1); }, () => process.exit(1));
"
}

log "request ride $ride on the Ride service (business row + RideRequested in one transaction)"
ride_api POST /rides "{\"ride_id\":\"$ride\",\"rider_id\":\"rider-e2e\",\"pickup\":{\"lat\":52.52,\"lng\":13.405},\"dropoff\":{\"lat\":52.5,\"lng\":13.3}}" \
  || fail "POST /rides failed"

log "the Driver and Payment services react through RisingWave and Kafka: the query sees a driver and a fare"
retry "trip $ride ASSIGNED with a driver and a fare" query_trip "t.status === 'ASSIGNED' && t.riderId === 'rider-e2e' && t.driverId && t.fare"

log "start and complete the ride"
# The Ride service learns of the driver by consuming DriverAssigned itself; until then start is 409.
retry "POST /rides/$ride/start accepted" ride_api POST "/rides/$ride/start"
retry "trip $ride IN_PROGRESS" query_trip "t.status === 'IN_PROGRESS'"
ride_api POST "/rides/$ride/complete" '{"distance_km":"5.30"}' || fail "POST /rides/$ride/complete failed"
retry "trip $ride COMPLETED and paid" query_trip "t.status === 'COMPLETED' && t.paidAmount"
query_trip true

log "the subscription received every change up to COMPLETED"
if ! wait "$sub_pid"; then
  sub_pid=''
  fail "subscription: $(cat "$work/sub.err") (seen: $(tr '\n' ' ' <"$work/sub.out"))"
fi
sub_pid=''
cat "$work/sub.out"
grep -q ' ASSIGNED$' "$work/sub.out" || fail "the subscription never saw ASSIGNED"

printf '\nE2E PASSED: Ride API -> outbox -> RisingWave -> Kafka -> Driver/Payment services -> their outboxes -> views -> GraphQL query and subscription (trip %s)\n' "$ride"
