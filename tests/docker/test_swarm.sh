#!/usr/bin/env bash
# Docker Swarm test: on a one-node swarm (`docker swarm init --advertise-addr
# 127.0.0.1`, left again at the end unless the engine was already in a swarm) the
# stack docker/gossipd-stack.yml runs 8 replicas of the gossipd image plus a miner
# and a tx load, peers found through the service DNS (tasks.gossip). Checks that
#   1. every task runs (8/8, 1/1, 1/1) and every replica has a peer,
#   2. a block mined by the miner reaches all 8 replicas (same hash at its height),
#   3. a tx sent by the load reaches all 8 replicas (each logs tx_accepted for it),
#   4. `tools/testnet report --swarm` reads `docker service logs` and shows that
#      block reaching all 10 nodes,
#   5. `docker stack rm` leaves no container and no network of the stack.
# Without a Docker engine it prints SKIP and exits 0; the last line is
# "docker: N passed, 0 failed" (tools/test counts it).
set -euo pipefail
cd "$(dirname "$0")/../.."

DEADLINE_S=${SWARM_TEST_TIMEOUT_S:-600}   # whole test, image build included
STEP_S=150                                # each wait below
REPLICAS=8
start=$SECONDS
skip() { echo "SKIP: swarm test: $*"; echo "docker: 0 passed, 0 failed, 1 skipped"; exit 0; }

command -v docker >/dev/null 2>&1 || skip "no docker client"
docker info >/dev/null 2>&1 || skip "no Docker engine answers"
docker image inspect debian:bookworm-slim >/dev/null 2>&1 \
  || docker pull -q debian:bookworm-slim >/dev/null 2>&1 \
  || skip "base image debian:bookworm-slim is not available"

STACK="gossipdswarm$$"
export GOSSIPD_IMAGE="gossipd:swarmtest"
passed=0; failed=0
we_init=0

cleanup() {
    echo "== docker stack rm $STACK"
    docker stack rm "$STACK" >/dev/null 2>&1 || true
    if [ "$we_init" = 1 ]; then
        # the stack's network goes away asynchronously; leaving the swarm ends it
        for _ in $(seq 30); do
            [ -z "$(docker network ls -q --filter "label=com.docker.stack.namespace=$STACK")" ] && break
            sleep 1
        done
        echo "== docker swarm leave --force"
        docker swarm leave --force >/dev/null 2>&1 || true
    fi
}
trap cleanup EXIT

ok()   { echo "ok: $*"; passed=$((passed + 1)); }
fail() {
    echo "FAIL: $*"; failed=$((failed + 1))
    echo "---- services"; docker stack ps --no-trunc "$STACK" 2>&1 | head -30 || true
    echo "---- last log lines"; docker service logs --raw --tail 8 "${STACK}_gossip" 2>&1 | tail -40 || true
    echo "docker: $passed passed, $failed failed"; exit 1
}
left() { echo $((DEADLINE_S - (SECONDS - start))); }
wait_for() {
    local t=$1; shift
    [ "$t" -gt "$(left)" ] && t=$(left)
    local end=$((SECONDS + t))
    until "$@"; do
        [ $SECONDS -ge $end ] && return 1
        sleep 2
    done
}

state=$(docker info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null || echo unknown)
case "$state" in
    inactive)
        docker swarm init --advertise-addr 127.0.0.1 >/dev/null 2>&1 \
          || skip "docker swarm init --advertise-addr 127.0.0.1 failed"
        we_init=1 ;;
    active) echo "   (the engine is already in a swarm: using it, not leaving it)" ;;
    *) skip "swarm state '$state'" ;;
esac
ok "one-node swarm ($( [ $we_init = 1 ] && echo "initialised on 127.0.0.1" || echo "already active"))"

echo "== docker build --network host -t $GOSSIPD_IMAGE"
timeout "$(left)" docker build --network host -q -t "$GOSSIPD_IMAGE" -f docker/Dockerfile . >/dev/null \
  || fail "docker build"

echo "== docker stack deploy $STACK"
docker stack deploy --resolve-image never -c docker/gossipd-stack.yml "$STACK" >/dev/null \
  || fail "docker stack deploy"

running() {
    local want svc got
    for svc in gossip:$REPLICAS miner:1 load:1; do
        want=${svc#*:}
        got=$(docker service ls --filter "name=${STACK}_${svc%%:*}" --format '{{.Replicas}}' | head -1)
        [ "$got" = "$want/$want" ] || return 1
    done
}
wait_for $STEP_S running || fail "not every task runs: $(docker service ls --filter "name=$STACK" --format '{{.Name}} {{.Replicas}}' | tr '\n' ' ')"
ok "stack runs: $REPLICAS replicas, a miner and a load"

containers() { docker ps -q --filter "label=com.docker.swarm.service.name=${STACK}_gossip"; }
cli() { docker exec "$1" gossip-cli "${@:2}"; }
peers_everywhere() {
    local c n k=0
    for c in $(containers); do
        n=$(cli "$c" getconnectioncount 2>/dev/null | tr -dc 0-9)
        [ "${n:-0}" -ge 1 ] || return 1
        k=$((k + 1))
    done
    [ "$k" -eq "$REPLICAS" ]
}
wait_for $STEP_S peers_everywhere || fail "a replica has no peer (tasks.gossip did not connect them)"
ok "every replica has a peer through tasks.gossip"

miner=$(docker ps -q --filter "label=com.docker.swarm.service.name=${STACK}_miner" | head -1)
h0=$(cli "$miner" getblockcount | tr -dc 0-9)
higher() { local h; h=$(cli "$miner" getblockcount | tr -dc 0-9); [ "${h:-0}" -gt "$h0" ]; }
wait_for $STEP_S higher || fail "the miner mined no block"
h=$(cli "$miner" getblockcount | tr -dc 0-9)
hash=$(cli "$miner" getblockhash "$h" | tr -dc 0-9a-f)
block_everywhere() {
    local c got
    for c in $(containers); do
        got=$(cli "$c" getblockhash "$h" 2>/dev/null | tr -dc 0-9a-f) || return 1
        [ "$got" = "$hash" ] || return 1
    done
}
wait_for $STEP_S block_everywhere || fail "block $hash (height $h) did not reach every replica"
ok "block $h ($hash) reached all $REPLICAS replicas"

# A tx the load sends from now on (every node is connected by now; an earlier one
# may have gone into a block before some node heard of it).
load=$(docker ps -q --filter "label=com.docker.swarm.service.name=${STACK}_load" | head -1)
sent() { docker logs "$load" 2>&1 | grep '"tx_accepted"' | grep '"source":"rpc"' || true; }
n0=$(sent | wc -l)
new_tx() {
    txid=$(sent | sed -n "$((n0 + 1))p" | grep -oE '"txid":"[0-9a-f]{64}"' | grep -oE '[0-9a-f]{64}')
    [ -n "$txid" ]
}
wait_for $STEP_S new_tx || fail "the load sent no tx"
tx_everywhere() {
    local c
    for c in $(containers); do
        docker logs "$c" 2>&1 | grep '"tx_accepted"' | grep -q "$txid" || return 1
    done
}
wait_for $STEP_S tx_everywhere || fail "tx $txid did not reach every replica"
ok "tx $txid reached all $REPLICAS replicas"

report=$(python3 tools/testnet report --swarm --stack "$STACK" --json --svg "$(mktemp -d)/r.svg" 2>/dev/null) \
  || fail "tools/testnet report --swarm"
echo "$report" | python3 -c '
import json, sys
rep = json.load(sys.stdin)
n = int(sys.argv[2])
assert rep["node_count"] == n, rep["node_count"]
b = [x for x in rep["blocks"] if x["hash"] == sys.argv[1]]
assert b and b[0]["reached"] == n, b
' "$hash" $((REPLICAS + 2)) || fail "report --swarm does not show block $hash reaching $((REPLICAS + 2)) nodes"
ok "report --swarm reads docker service logs (block $h at $((REPLICAS + 2))/$((REPLICAS + 2)))"

echo "== docker stack rm $STACK"
docker stack rm "$STACK" >/dev/null || fail "docker stack rm"
gone() {
    [ -z "$(docker ps -aq --filter "label=com.docker.stack.namespace=$STACK")" ] &&
    [ -z "$(docker network ls -q --filter "label=com.docker.stack.namespace=$STACK")" ]
}
wait_for 90 gone || fail "containers or networks of $STACK left after docker stack rm"
ok "docker stack rm removed every container and network"
trap - EXIT
cleanup >/dev/null
echo "docker: $passed passed, $failed failed"
