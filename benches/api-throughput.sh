#!/usr/bin/env bash
# Get-session throughput of several servers with one load generator (wrk -t2 -c16), in
# alternating rounds, with each server's CPU time per request (read from /proc around each
# round: steadier than req/s on a busy machine).
#
#   benches/api-throughput.sh ROUNDS SECONDS "label|binary|form|serve flags" ...
#
# form is api, rest or rpc (JSON-RPC). Example, before/after with the journal on and off:
#   benches/api-throughput.sh 3 6 "before|/tmp/dlsim-old|api|" "now|target/release/dlsim|api|" \
#     "now, journal off|target/release/dlsim|api|--journal-cap 0" "now, JSON-RPC|target/release/dlsim|rpc|"
set -u
ROUNDS=$1; DUR=$2; shift 2
WORK=$(mktemp -d); i=0
for spec in "$@"; do
  IFS='|' read -r label bin form flags <<< "$spec"; port=$((18600 + i)); i=$((i + 1))
  # shellcheck disable=SC2086
  $bin serve --listen 127.0.0.1:$port --seed 1 $flags > /dev/null 2>&1 &
  echo $! >> $WORK/pids
  for _ in $(seq 50); do curl -s -o /dev/null -X POST http://127.0.0.1:$port/api/session && break; sleep 0.1; done
  B=http://127.0.0.1:$port/api
  T=$(curl -s -X POST -u 'administrator@vsphere.local:VMware1!' $B/session | tr -d '"')
  S=$(curl -s -X POST $B/content/library/item/download-session -H "vmware-api-session-id: $T" \
    -H 'Content-Type: application/json' -d '{"library_item_id":"b1e2c3d4-5f60-4718-8a9b-0c1d2e3f4a5b"}' | tr -d '"')
  cat > $WORK/rpc-$port.lua <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"jsonrpc":"2.0","method":"invoke","id":"1","params":{"serviceId":"com.vmware.content.library.item.download_session","operationId":"get","input":{"STRUCTURE":{"operation-input":{"download_session_id":"$S"}}},"ctx":{"securityCtx":{"schemeId":"com.vmware.vapi.std.security.session_id","sessionId":"$T"}}}}'
LUA
  echo "$port|$label|$form|$T|$S|$(tail -1 $WORK/pids)" >> $WORK/targets
done
cpu() { awk '{print $14 + $15}' /proc/$1/stat; }
for r in $(seq $ROUNDS); do
  while IFS='|' read -r port label form T S pid; do
    c0=$(cpu $pid)
    case $form in
      api) out=$(wrk -t2 -c16 -d${DUR}s --latency -H "vmware-api-session-id: $T" http://127.0.0.1:$port/api/content/library/item/download-session/$S) ;;
      rest) out=$(wrk -t2 -c16 -d${DUR}s --latency -H "vmware-api-session-id: $T" "http://127.0.0.1:$port/rest/com/vmware/content/library/item/download-session/id:$S") ;;
      rpc) out=$(wrk -t2 -c16 -d${DUR}s --latency -s $WORK/rpc-$port.lua http://127.0.0.1:$port/api) ;;
    esac
    c1=$(cpu $pid); n=$(echo "$out" | awk '/requests in/ {print $1}')
    echo "round $r | $label | $(echo "$out" | awk '/Requests\/sec/ {print $2}') req/s | server CPU $(( (c1 - c0) * 10000000 / n )) ns/request | p99 $(echo "$out" | awk '$1=="99%" {print $2}') | non-2xx $(echo "$out" | awk '/Non-2xx/ {print $4}')"
  done < $WORK/targets
done
kill $(cat $WORK/pids)
rm -rf $WORK
