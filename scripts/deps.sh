#!/usr/bin/env bash
# deps.sh makes this machine ready to build, run and test Berth:
#   - Docker Engine (Debian's docker.io) installed and its daemon answering;
#   - the aws CLI v2 (Debian's awscli) at /usr/bin/aws;
#   - skopeo (Debian's), a second registry client for the end-to-end tests;
#   - the aws CLI v1 (pip's awscli; Debian packages only v2) when pip can
#     install it, for the end-to-end tests that run both CLIs.
# It is idempotent and quiet when there is nothing to do. It needs root (or
# sudo) only when something must be installed or dockerd must be started.
set -euo pipefail

log() { printf 'deps: %s\n' "$*" >&2; }
die() { printf 'deps: ERROR: %s\n' "$*" >&2; exit 1; }

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO=(sudo)
	fi
fi

missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
[ -x /usr/bin/aws ] || missing+=(awscli)
command -v skopeo >/dev/null 2>&1 || missing+=(skopeo)

if [ "${#missing[@]}" -gt 0 ]; then
	command -v apt-get >/dev/null 2>&1 || die "missing ${missing[*]} and apt-get is not available; install them by hand"
	log "installing ${missing[*]} with apt-get"
	export DEBIAN_FRONTEND=noninteractive
	aptlog=$(mktemp)
	if ! { "${SUDO[@]}" apt-get update -q && "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"; } >"$aptlog" 2>&1; then
		cat "$aptlog" >&2
		rm -f "$aptlog"
		die "apt-get install ${missing[*]} failed"
	fi
	rm -f "$aptlog"
	command -v dockerd >/dev/null 2>&1 || die "dockerd still not found after installing docker.io"
	[ -x /usr/bin/aws ] || die "/usr/bin/aws still not found after installing awscli"
	command -v skopeo >/dev/null 2>&1 || die "skopeo still not found after installing skopeo"
fi

# The aws CLI v1 is a pip package. The end-to-end tests look for it on PATH
# and in pyenv's shims; install it when neither has one and pip can reach a
# package index, else say that its tests will be skipped.
has_cli_v1() {
	local p
	for p in "$(command -v aws 2>/dev/null)" "$HOME/.pyenv/shims/aws"; do
		[ -n "$p" ] && [ -x "$p" ] && "$p" --version 2>&1 | grep -q '^aws-cli/1\.' && return 0
	done
	return 1
}
if ! has_cli_v1; then
	if command -v python3 >/dev/null 2>&1 && python3 -m pip --version >/dev/null 2>&1 &&
		python3 -m pip install -q --user awscli >/dev/null 2>&1 && PATH="$HOME/.local/bin:$PATH" has_cli_v1; then
		log "installed the aws CLI v1 with pip (in ~/.local/bin)"
	else
		log "the aws CLI v1 is not installed and pip cannot install it here: the tests that run it will be skipped"
	fi
fi

# A docker CLI is needed by humans and by the end-to-end harness; docker.io
# brings one when none was there.
command -v docker >/dev/null 2>&1 || die "no docker CLI on PATH"

if ! docker info >/dev/null 2>&1; then
	if [ -n "${DOCKER_HOST:-}" ]; then
		die "DOCKER_HOST=$DOCKER_HOST is set but 'docker info' fails; start that daemon or unset DOCKER_HOST"
	fi
	log "starting dockerd (log: /var/log/dockerd.log)"
	# Start it detached from this script's process group and stdio, so that
	# make and CI do not wait on it and it outlives this script.
	"${SUDO[@]}" setsid dockerd >>/var/log/dockerd.log 2>&1 </dev/null &
	for _ in $(seq 1 60); do
		if docker info >/dev/null 2>&1; then
			break
		fi
		sleep 1
	done
	if ! docker info >/dev/null 2>&1; then
		tail -n 30 /var/log/dockerd.log >&2 || true
		docker info >&2 || true
		die "dockerd did not answer within 60s"
	fi
fi
