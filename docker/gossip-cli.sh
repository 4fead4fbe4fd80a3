#!/bin/sh
# gossip-cli inside a gossipd container: talks to this container's node (its datadir
# and RPC port from the GOSSIPD_* environment, and its credentials when set), so
#   docker-compose exec node1 gossip-cli getblockchaininfo
# works with no flags. Flags given on the command line come later and win.
set -eu
set -- "-datadir=${GOSSIPD_DATADIR:-/data}" "-rpcport=${GOSSIPD_RPC_PORT:-29443}" "$@"
if [ -n "${GOSSIPD_RPC_USER:-}" ] && [ -n "${GOSSIPD_RPC_PASSWORD:-}" ]; then
    set -- "-rpcuser=$GOSSIPD_RPC_USER" "-rpcpassword=$GOSSIPD_RPC_PASSWORD" "$@"
fi
exec /usr/local/lib/gossipd/gossip-cli "$@"
