#!/usr/bin/env bash
# callgrind instruction counts of a server that answered N get-session requests in one form
# (api, rest or rpc), counted up to the last answer (a dump is taken before the stop, so the
# verification at stop is left out). Per-request cost: (count at N - count at 0) / N.
#
#   benches/api-instructions.sh BINARY PORT N [api|rest|rpc] [serve flags]
set -u
WORK=${WORK:-$(mktemp -d)}
BIN=$1; PORT=$2; N=$3; FORM=${4:-api}; shift 3; [ $# -gt 0 ] && shift
valgrind --tool=callgrind --callgrind-out-file=$WORK/cg-$PORT-$N.out $BIN serve --listen 127.0.0.1:$PORT --seed 1 "$@" > /dev/null 2>&1 & PID=$!
for _ in $(seq 100); do curl -s -o /dev/null -X POST http://127.0.0.1:$PORT/api/session && break; sleep 0.2; done
python3 - $PORT $N $FORM <<'PY'
import base64, http.client, json, sys
port, n, form = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
c = http.client.HTTPConnection("127.0.0.1", port)
auth = base64.b64encode(b"administrator@vsphere.local:VMware1!").decode()
c.request("POST", "/api/session", headers={"Authorization": "Basic " + auth}); t = json.loads(c.getresponse().read())
c.request("POST", "/api/content/library/item/download-session", body='{"library_item_id":"b1e2c3d4-5f60-4718-8a9b-0c1d2e3f4a5b"}', headers={"vmware-api-session-id": t, "Content-Type": "application/json"}); s = json.loads(c.getresponse().read())
rpc = json.dumps({"jsonrpc": "2.0", "method": "invoke", "id": "1", "params": {"serviceId": "com.vmware.content.library.item.download_session", "operationId": "get", "input": {"STRUCTURE": {"operation-input": {"download_session_id": s}}}, "ctx": {"securityCtx": {"schemeId": "com.vmware.vapi.std.security.session_id", "sessionId": t}}}})
for _ in range(n):
    if form == "rpc":
        c.request("POST", "/api", body=rpc, headers={"Content-Type": "application/json"})
    elif form == "rest":
        c.request("GET", "/rest/com/vmware/content/library/item/download-session/id:" + s, headers={"vmware-api-session-id": t})
    else:
        c.request("GET", "/api/content/library/item/download-session/" + s, headers={"vmware-api-session-id": t})
    c.getresponse().read()
PY
callgrind_control -d $PID > /dev/null 2>&1
kill -INT $PID; wait $PID 2> /dev/null
DUMP=$(ls $WORK/cg-$PORT-$N.out.* | head -1)
callgrind_annotate $DUMP 2> /dev/null | grep "PROGRAM TOTALS" | awk '{gsub(",","",$1); print $1}'
