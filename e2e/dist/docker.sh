#!/usr/bin/env bash
# Builds the `ir serve` image from the context `make dist` made
# (dist/docker) and runs it:
#
#   e2e/dist/docker.sh [dist]
#
# Uses the Docker daemon that answers, or as root starts a private one (its
# own socket and data in a temporary folder, no iptables or bridge; the
# containers use the host's network). Without docker, or without a daemon
# that can run, it says so and skips. Checks: ir serve on IR_HOST=0.0.0.0
# without a key refuses to start; with IR_API_KEY /api/version answers
# without the key, /api/tags only with it, and a model imported into the
# /models volume generates.
set -euo pipefail
dist="$(realpath "${1:-dist}")"
ctx="$dist/docker"
fail() { echo "dist/docker: $*" >&2; exit 1; }
say() { echo "dist/docker: $*"; }
skip() { say "$*: skipping the image test (the Dockerfile is build/docker/Dockerfile)"; exit 0; }

[ -x "$ctx/ir" ] && [ -f "$ctx/Dockerfile" ] || fail "$ctx is not built (make dist-docker)"
file -b "$ctx/ir" | grep -q 'statically linked' || fail "$ctx/ir is not statically linked: $(file -b "$ctx/ir")"
command -v docker >/dev/null || skip "no docker command (Debian: docker.io)"

work="$(mktemp -d)"
dockerd_pid=""
container=""
image="inference-runtime-test:$$"
cleanup() {
  [ -n "$container" ] && docker rm -f "$container" >/dev/null 2>&1 || true
  docker rmi -f "$image" >/dev/null 2>&1 || true
  if [ -n "$dockerd_pid" ]; then
    kill "$dockerd_pid" 2>/dev/null || true
    wait "$dockerd_pid" 2>/dev/null || true
    # its overlay mounts, should any be left
    grep -o " $work/[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

if ! timeout 20 docker info >/dev/null 2>&1; then
  [ "$(id -u)" -eq 0 ] || skip "no Docker daemon answers and only root can start one"
  command -v dockerd >/dev/null || skip "no Docker daemon answers and there is no dockerd (Debian: docker.io)"
  mkdir -p "$work/dockerd"
  export DOCKER_HOST="unix://$work/dockerd/docker.sock"
  dockerd --data-root "$work/dockerd/data" --exec-root "$work/dockerd/exec" --pidfile "$work/dockerd/pid" \
    -H "$DOCKER_HOST" --iptables=false --ip6tables=false --bridge=none >"$work/dockerd.log" 2>&1 &
  dockerd_pid=$!
  for _ in $(seq 60); do
    docker info >/dev/null 2>&1 && break
    kill -0 "$dockerd_pid" 2>/dev/null || break
    sleep 0.5
  done
  if ! docker info >/dev/null 2>&1; then
    tail -5 "$work/dockerd.log" >&2
    skip "a private dockerd did not start here"
  fi
  say "started a private dockerd ($DOCKER_HOST)"
fi

# The legacy builder needs no buildx plugin; FROM scratch pulls nothing.
DOCKER_BUILDKIT=0 docker build -q -t "$image" "$ctx" >/dev/null 2>"$work/build.log" || { cat "$work/build.log" >&2; fail "docker build failed"; }
say "built $image ($(docker image inspect -f '{{.Size}}' "$image") bytes)"

# The static ir runs here; if it cannot run in a container, the machine
# cannot run containers (a daemon inside an unprivileged container, say).
"$ctx/ir" --version >/dev/null || fail "$ctx/ir --version failed"
if ! probe="$(docker run --rm --network host "$image" --version 2>&1)"; then
  echo "$probe" | tail -3 >&2
  skip "containers do not run here"
fi

port="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
key="docker-test-key"
mkdir -p "$work/models"
chown 10001:10001 "$work/models" 2>/dev/null || chmod 0777 "$work/models"
"$ctx/ir" synth tiny F32 "$work/tiny.gguf" >/dev/null
chmod 0644 "$work/tiny.gguf"
run=(docker run --rm --network host -v "$work/models:/models")

"${run[@]}" -v "$work/tiny.gguf:/in/tiny.gguf:ro" "$image" import /in/tiny.gguf --name tiny >/dev/null 2>&1 ||
  fail "ir import in the container failed"
if out="$("${run[@]}" -e IR_HOST="0.0.0.0:$port" "$image" serve --quiet 2>&1)"; then
  fail "ir serve on 0.0.0.0 without a key started"
fi
grep -q -- '--insecure-no-key' <<<"$out" || fail "ir serve on 0.0.0.0 without a key said: $out"

container="$(docker run -d --network host -v "$work/models:/models" -e IR_HOST="0.0.0.0:$port" -e IR_API_KEY="$key" "$image")"
url="http://127.0.0.1:$port"
for _ in $(seq 100); do
  curl -fs "$url/api/version" >/dev/null && break
  sleep 0.1
done
curl -fs "$url/api/version" | grep -q '"version"' || fail "/api/version: $(docker logs "$container" 2>&1 | tail -5)"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$url/api/tags")" = 401 ] || fail "/api/tags without the key was not refused"
curl -fs -H "Authorization: Bearer $key" "$url/api/tags" | grep -q '"name":"tiny"' || fail "the volume's model is not listed"
r="$(curl -fs -H "Authorization: Bearer $key" "$url/api/generate" -d '{"model":"tiny","prompt":"Once","stream":false,"options":{"num_predict":8}}')"
grep -q '"done":true' <<<"$r" || fail "generation in the container: $r"
say "the container served /api/version, refused a request without the key, and generated with the mounted model"
