#!/bin/sh
# Runs a tredegar command in the container. On the first `run` with an empty
# /data and GROUP_NAME set, the node is created first (`tredegar init`): its
# organiser token and login link are printed once, to the container's log.
# Without GROUP_NAME, create the node yourself:
#   docker compose run --rm node-a init --data /data --name "Our group"
set -eu

if [ "${1:-}" = "run" ] && [ ! -e "${TREDEGAR_DATA:-/data}/feed.key" ] \
    && [ -n "${GROUP_NAME:-}" ]; then
    tredegar init --data "${TREDEGAR_DATA:-/data}" --name "$GROUP_NAME" \
        ${GROUP_AREA:+--area "$GROUP_AREA"}
fi
exec tredegar "$@"
