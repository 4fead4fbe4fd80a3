#!/usr/bin/env bash
# Docker test: builds the gossipd image, runs the 5-node compose testnet
# (docker/docker-compose.yml) under a project name of its own, and checks that
#   1. every container's healthcheck (gossip-cli getblockcount) turns healthy,
#   2. every node has a peer,
#   3. a tx sent with gossip-cli through `docker-compose exec` reaches every node's
#      mempool (each node logs tx_accepted for it),
#   4. a block mined after that reaches every node (same hash at its height),
#   5. `tools/testnet status --docker` shows every node's height and peers, and
#      `tools/testnet report --docker` reads the block from `docker-compose logs`,
#   6. `down -v` removes the project's containers, network and volumes.
# Without a Docker engine (or docker-compose) it prints SKIP and exits 0.
# Node traffic stays inside the project's own network; node1's RPC is published
# on 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/../.."

DEADLINE_S=${DOCKER_TEST_TIMEOUT_S:-900}   # whole test, build included
STEP_S=120                                 # each wait below
start=$SECONDS
skip() { echo "SKIP: docker test: $*"; echo "docker: 0 passed, 0 failed, 1 skipped"; exit 0; }

command -v docker >/dev/null 2>&1 || skip "no docker client (../shared/tools/docker-ready installs one)"
docker info >/dev/null 2>&1 || skip "no Docker engine answers (../shared/tools/docker-ready starts one)"
if command -v docker-compose >/dev/null 2>&1; then COMPOSE=(docker-compose)
elif docker compose version >/dev/null 2>&1; then COMPOSE=(docker compose)
else skip "neither docker-compose nor 'docker compose' is installed"; fi
docker image inspect debian:bookworm-slim >/dev/null 2>&1 \
  || docker pull -q debian:bookworm-slim >/dev/null 2>&1 \
  || skip "base image debian:bookworm-slim is not available (../shared/tools/docker-ready builds it)"

PROJECT="gossipdtest$$$RANDOM"
export GOSSIPD_IMAGE="gossipd:test"
export GOSSIPD_RPC_HOST_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
dc() { "${COMPOSE[@]}" -p "$PROJECT" -f docker/docker-compose.yml "$@"; }
NODES=(node1 node2 node3 node4 node5)
passed=0; failed=0

cleanup() {
    echo "== docker-compose down -v ($PROJECT)"
    dc down -v --remove-orphans >/dev/null 2>&1 || true
}
trap cleanup EXIT

ok()   { echo "ok: $*"; passed=$((passed + 1)); }
fail() {
    echo "FAIL: $*"; failed=$((failed + 1))
    echo "---- last log lines of every node"; dc logs --no-color --tail=15 || true
    echo "docker: $passed passed, $failed failed"; exit 1
}
left() { echo $((DEADLINE_S - (SECONDS - start))); }
# wait_for SECONDS DESCRIPTION COMMAND...: retries the command once a second.
wait_for() {
    local t=$1 what=$2; shift 2
    [ "$t" -gt "$(left)" ] && t=$(left)
    local end=$((SECONDS + t))
    until "$@"; do
        [ $SECONDS -ge $end ] && return 1
        sleep 1
    done
}
cli() { dc exec -T "$1" gossip-cli "${@:2}"; }

echo "== docker build --network host -t $GOSSIPD_IMAGE"
timeout "$(left)" docker build --network host -q -t "$GOSSIPD_IMAGE" -f docker/Dockerfile . >/dev/null \
  || fail "docker build"
ok "image built ($(docker image inspect -f '{{.Size}}' "$GOSSIPD_IMAGE" | awk '{printf "%.0f MB", $1/1e6}'))"

echo "== up: project $PROJECT"
dc up -d --no-build >/dev/null 2>&1 || fail "docker-compose up"

healthy() {
    local s id
    for s in "${NODES[@]}"; do
        id=$(dc ps -q "$s") || return 1
        [ "$(docker inspect -f '{{.State.Health.Status}}' "$id" 2>/dev/null)" = healthy ] || return 1
    done
}
wait_for $STEP_S "healthy" healthy || fail "healthchecks did not all turn healthy"
ok "all 5 healthchecks healthy"

have_peers() {
    local s n
    for s in "${NODES[@]}"; do
        n=$(cli "$s" getconnectioncount 2>/dev/null | tr -dc 0-9)
        [ "${n:-0}" -ge 1 ] || return 1
    done
}
wait_for $STEP_S "peers" have_peers || fail "a node has no peer"
ok "every node has a peer"

# A tx from the development key (pre-funded by genesis) to node5's key, sent at node1.
to=$(cli node5 getnewaddress | tr -dc 0-9a-f)
[ ${#to} -eq 64 ] || fail "getnewaddress on node5 returned '$to'"
cli node1 devkey /tmp/dev.key >/dev/null || fail "gossip-cli devkey"
out=$(cli node1 send /tmp/dev.key "$to" 1000000 2>&1) || fail "gossip-cli send: $out"
txid=$(printf '%s\n' "$out" | grep -oE '[0-9a-f]{64}' | head -1)
[ -n "$txid" ] || fail "no txid in gossip-cli send output: $out"
echo "   sent tx $txid"
tx_everywhere() {
    local s
    for s in "${NODES[@]}"; do
        # in its mempool now, or logged as accepted into it (a block may have taken it since)
        cli "$s" getrawmempool 2>/dev/null | grep -q "$txid" && continue
        dc logs --no-color "$s" 2>/dev/null | grep '"tx_accepted"' | grep -q "$txid" || return 1
    done
}
wait_for $STEP_S "tx" tx_everywhere || fail "tx $txid did not reach every node's mempool"
ok "tx reached all 5 mempools"

# A block mined from now on reaches every node: node4 mines; take its tip once it is
# past the height seen now, and wait for that hash at that height on every node.
h0=$(cli node4 getblockcount | tr -dc 0-9)
higher() { local h; h=$(cli node4 getblockcount | tr -dc 0-9); [ "${h:-0}" -gt "$h0" ]; }
wait_for $STEP_S "a block" higher || fail "node4 mined no block"
h=$(cli node4 getblockcount | tr -dc 0-9)
hash=$(cli node4 getblockhash "$h" | tr -dc 0-9a-f)
block_everywhere() {
    local s got
    for s in "${NODES[@]}"; do
        got=$(cli "$s" getblockhash "$h" 2>/dev/null | tr -dc 0-9a-f) || return 1
        [ "$got" = "$hash" ] || return 1
    done
}
wait_for $STEP_S "block" block_everywhere || fail "block $hash (height $h) did not reach every node"
ok "block $h ($hash) reached all 5 nodes"

# tools/testnet on the same project: status with height and peers per node, and the
# propagation report read from `docker-compose logs`.
export GOSSIPD_COMPOSE_PROJECT="$PROJECT"
status=$(python3 tools/testnet status --docker 2>&1) || fail "tools/testnet status --docker: $status"
echo "$status" | sed 's/^/   /'
rows=$(echo "$status" | awk -v h="$h" '$1 ~ /^node[0-9]$/ && $2 ~ /^running/ && $3+0 >= h && $5+0 >= 1' | wc -l)
[ "$rows" -eq 5 ] || fail "status --docker: $rows of 5 nodes running at height >= $h with a peer"
ok "status --docker shows height and peers of all 5 nodes"
report=$(python3 tools/testnet report --docker --json --svg "$(mktemp -d)/r.svg" 2>/dev/null) \
  || fail "tools/testnet report --docker"
echo "$report" | python3 -c '
import json, sys
rep = json.load(sys.stdin)
h = sys.argv[1]
assert rep["node_count"] == 5, rep["node_count"]
b = [x for x in rep["blocks"] if x["hash"] == h]
assert b and b[0]["reached"] == 5, b
' "$hash" || fail "report --docker does not show block $hash reaching 5 nodes"
ok "report --docker reads the compose logs (block $h at 5/5)"

# node1's RPC is published on 127.0.0.1 only.
published=$(dc port node1 29443)
case "$published" in 127.0.0.1:*) ok "node1 RPC published on $published only" ;;
    *) fail "node1 RPC published on '$published'" ;; esac

echo "== down -v"
dc down -v --remove-orphans >/dev/null 2>&1 || fail "docker-compose down -v"
left_over=$( (docker ps -aq --filter "label=com.docker.compose.project=$PROJECT";
              docker volume ls -q --filter "label=com.docker.compose.project=$PROJECT";
              docker network ls -q --filter "label=com.docker.compose.project=$PROJECT") | wc -l)
[ "$left_over" -eq 0 ] || fail "$left_over containers/volumes/networks left after down -v"
ok "down -v removed containers, volumes and network"
trap - EXIT
echo "docker: $passed passed, $failed failed"
