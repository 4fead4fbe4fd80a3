#!/bin/sh
# Container entry point: runs gossipd configured by the GOSSIPD_* environment (see
# gossipd --help). Arguments are passed on, so `docker run IMAGE --debug=net` works;
# an argument that is not an option runs that command instead (`docker run IMAGE sh`).
set -eu
case "${1:-}" in
    ""|-*) ;;
    *) exec "$@" ;;
esac
# The node's name in the logs: the compose service name, else the container's hostname.
: "${GOSSIPD_NAME:=$(hostname)}"
export GOSSIPD_NAME
exec /usr/local/bin/gossipd "$@"
