#!/usr/bin/env bash
# Get-session throughput, one load generator (wrk -t2 -c16), alternating rounds:
WORK=${WORK:-$(mktemp -d)}
# before (6986dea) /api, after /api no faults, after /api 1000 non-matching rules,
# after /api journal off, after /rest, after JSON-RPC.
set -u
OLD=$1; NEW=$2; ROUNDS=${3:-3}; DUR=${4:-8}
start() { local port=$1; shift; local bin=$1; shift
  $bin serve --listen 127.0.0.1:$port --seed 1 "$@" >$WORK/srv-$port.log 2>&1 &
  echo $! > $WORK/pid-$port
  for i in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:$port/api/session -X POST -u 'administrator@vsphere.local:VMware1!' && break; sleep 0.1; done; }
session() { local B=http://127.0.0.1:$1/api
  local T=$(curl -s -X POST -u 'administrator@vsphere.local:VMware1!' $B/session | tr -d '"')
  local S=$(curl -s -X POST $B/content/library/item/download-session -H "vmware-api-session-id: $T" -H 'Content-Type: application/json' -d '{"library_item_id":"b1e2c3d4-5f60-4718-8a9b-0c1d2e3f4a5b"}' | tr -d '"')
  echo "$T $S"; }
start 18081 $OLD; start 18082 $NEW; start 18083 $NEW; start 18084 $NEW --journal-cap 0
python3 - <<'PY'
import json, urllib.request
rules=[{"when":{"op":"download_session.get","user":f"nobody-{i}@vsphere.local"},"what":{"kind":"http_error","status":500}} for i in range(1000)]
req=urllib.request.Request("http://127.0.0.1:18083/dlsim/faults", data=json.dumps(rules).encode(), method="POST")
print(len(json.load(urllib.request.urlopen(req))["ids"]), "rules loaded")
PY
for port in 18081 18082 18083 18084; do session $port > $WORK/sess-$port; done
read T S < $WORK/sess-18082
cat > $WORK/rpc.lua <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"jsonrpc":"2.0","method":"invoke","id":"1","params":{"serviceId":"com.vmware.content.library.item.download_session","operationId":"get","input":{"STRUCTURE":{"operation-input":{"download_session_id":"$S"}}},"ctx":{"securityCtx":{"schemeId":"com.vmware.vapi.std.security.session_id","sessionId":"$T"}}}}'
LUA
run() { # label url token [lua]
  local out; if [ -n "${4:-}" ]; then out=$(wrk -t2 -c16 -d${DUR}s --latency -s $4 $2); else out=$(wrk -t2 -c16 -d${DUR}s --latency -H "vmware-api-session-id: $3" $2); fi
  echo "round $r | $1 | $(echo "$out" | awk '/Requests\/sec/ {print $2}') req/s | p99 $(echo "$out" | awk '$1=="99%" {print $2}') | non-2xx $(echo "$out" | awk '/Non-2xx/ {print $4}')"; }
for r in $(seq $ROUNDS); do
  for port in 18081 18082 18083 18084; do
    read T1 S1 < $WORK/sess-$port
    case $port in 18081) L="before, /api";; 18082) L="after, /api, no faults";; 18083) L="after, /api, 1000 non-matching rules";; 18084) L="after, /api, journal off";; esac
    run "$L" http://127.0.0.1:$port/api/content/library/item/download-session/$S1 $T1
  done
  run "after, /rest" "http://127.0.0.1:18082/rest/com/vmware/content/library/item/download-session/id:$S" $T
  run "after, JSON-RPC" http://127.0.0.1:18082/api $T $WORK/rpc.lua
done
for port in 18081 18082 18083 18084; do kill $(cat $WORK/pid-$port); done
