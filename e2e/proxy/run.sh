#!/usr/bin/env bash
# Two `ir serve` behind Debian's nginx, configured with the example in
# build/nginx/inference-runtime.conf (only the ports and paths changed):
#
#   e2e/proxy/run.sh [path/to/ir]
#
# Checks: /healthz and /api/version answer without the key, other paths need
# it and nginx passes it on; concurrent streams are spread over both
# backends and arrive in pieces; after one backend is killed every request
# still succeeds. Skips (and says so) when nginx is not installed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
ir="$(realpath "${1:-$root/bin/ir}")"
fail() { echo "proxy: $*" >&2; exit 1; }
say() { echo "proxy: $*"; }

nginx="$(command -v nginx || echo /usr/sbin/nginx)"
[ -x "$nginx" ] || { say "nginx is not installed (Debian: nginx-light): skipping"; exit 0; }
[ -x "$ir" ] || fail "$ir is not built"

work="$(mktemp -d)"
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

model="$root/../shared/models/stories260K-Q8_0.gguf"
if [ ! -f "$model" ]; then
  model="$work/tiny.gguf"
  "$ir" synth tiny F32 "$model" >/dev/null
fi
key="proxy-test-key"
host="ir.example.test"
ports=()
for b in a b; do
  "$ir" --home "$work/$b" import "$model" --name m --in-place >/dev/null
  port="$(free_port)"
  ports+=("$port")
  "$ir" --home "$work/$b" serve --port "$port" --api-key "$key" --allow-host "$host" --parallel 4 --quiet >"$work/$b.out" 2>&1 &
  pids+=($!)
done
for i in 0 1; do
  for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:${ports[$i]}/api/version" >/dev/null && break
    sleep 0.1
  done
done

# The example configuration with this test's ports, inside a complete
# nginx.conf that also logs which backend served each request.
listen="$(free_port)"
sed -e "s/127.0.0.1:11435/127.0.0.1:${ports[0]}/; s/127.0.0.1:11436/127.0.0.1:${ports[1]}/" \
  -e "s/listen 8080;/listen 127.0.0.1:$listen;/; s/server_name ir.example.com;/server_name $host;/" \
  "$root/build/nginx/inference-runtime.conf" >"$work/inference-runtime.conf"
cat >"$work/nginx.conf" <<CONF
$( [ "$(id -u)" -eq 0 ] && echo "user root;" )
worker_processes 1;
pid $work/nginx.pid;
error_log $work/error.log;
events { worker_connections 256; }
http {
    access_log $work/access.log upstream;
    log_format upstream '\$upstream_addr \$status \$request_method \$uri';
    client_body_temp_path $work/client_body;
    proxy_temp_path $work/proxy;
    fastcgi_temp_path $work/fastcgi;
    uwsgi_temp_path $work/uwsgi;
    scgi_temp_path $work/scgi;
    include $work/inference-runtime.conf;
}
CONF
# log_format must come before its use.
sed -i '/access_log/{h;d}; /log_format/{p;x}' "$work/nginx.conf"
"$nginx" -t -q -p "$work" -c "$work/nginx.conf" || fail "nginx -t rejected the configuration"
"$nginx" -p "$work" -c "$work/nginx.conf" -g 'daemon off;' &
pids+=($!)
url="http://127.0.0.1:$listen"
for _ in $(seq 100); do
  curl -fs -H "Host: $host" "$url/healthz" >/dev/null && break
  sleep 0.1
done
say "nginx on $url in front of :${ports[0]} and :${ports[1]}"

status() { curl -s -o /dev/null -w '%{http_code}' -H "Host: $host" "$@"; }
[ "$(status "$url/healthz")" = 200 ] || fail "/healthz: $(status "$url/healthz")"
[ "$(status "$url/api/version")" = 200 ] || fail "/api/version without the key"
[ "$(status "$url/api/tags")" = 401 ] || fail "/api/tags without the key: $(status "$url/api/tags")"
[ "$(status -H "Authorization: Bearer $key" "$url/api/tags")" = 200 ] || fail "the key was not passed on"
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Host: evil.example" -H "Authorization: Bearer $key" "$url/api/tags")" = 403 ] ||
  fail "a Host the backends were not told about got through"

# Concurrent streams.
node "$here/streams.mjs" "$url" "$host" "$key" 8 >"$work/streams.json" || fail "streams: $(cat "$work/streams.json")"
served() { grep -c "^127.0.0.1:$1 200 POST /api/generate" "$work/access.log" || true; }
na="$(served "${ports[0]}")"
nb="$(served "${ports[1]}")"
[ "$na" -ge 2 ] && [ "$nb" -ge 2 ] || fail "8 concurrent streams went $na / $nb to the two backends"
say "8 concurrent streams: $na on one backend, $nb on the other; $(cat "$work/streams.json")"

# One backend goes down: every request still succeeds.
kill -9 "${pids[0]}"
wait "${pids[0]}" 2>/dev/null || true
for i in $(seq 6); do
  s="$(curl -s -o "$work/r$i" -w '%{http_code}' -H "Host: $host" -H "Authorization: Bearer $key" \
    "$url/api/generate" -d '{"model":"m","prompt":"Once","stream":false,"options":{"num_predict":8}}')"
  [ "$s" = 200 ] && grep -q '"done":true' "$work/r$i" || fail "request $i after a backend went down: $s $(cat "$work/r$i")"
done
[ "$(status "$url/healthz")" = 200 ] || fail "/healthz with one backend down"
node "$here/streams.mjs" "$url" "$host" "$key" 4 >/dev/null || fail "streams with one backend down"
say "one backend down: 6 requests, 4 streams and /healthz all answered"
