#!/usr/bin/env bash
# callgrind instruction counts of a server that answered N get-session requests, counted up to
# the last answer (a dump is taken before the stop, so the verification at stop is left out).
# Per-request cost: (count at N - count at 0) / N.
WORK=${WORK:-$(mktemp -d)}
BIN=$1; PORT=$2; N=$3; shift 3
valgrind --tool=callgrind --callgrind-out-file=$WORK/cg-$PORT-$N.out $BIN serve --listen 127.0.0.1:$PORT --seed 1 "$@" > /dev/null 2>&1 & PID=$!
for i in $(seq 100); do curl -s -o /dev/null -X POST http://127.0.0.1:$PORT/api/session && break; sleep 0.2; done
python3 - $PORT $N <<'PY'
import http.client, sys, base64, json
port, n = int(sys.argv[1]), int(sys.argv[2])
c = http.client.HTTPConnection("127.0.0.1", port)
auth = base64.b64encode(b"administrator@vsphere.local:VMware1!").decode()
c.request("POST", "/api/session", headers={"Authorization": "Basic " + auth}); t = json.loads(c.getresponse().read())
c.request("POST", "/api/content/library/item/download-session", body='{"library_item_id":"b1e2c3d4-5f60-4718-8a9b-0c1d2e3f4a5b"}', headers={"vmware-api-session-id": t, "Content-Type": "application/json"}); s = json.loads(c.getresponse().read())
for _ in range(n):
    c.request("GET", "/api/content/library/item/download-session/" + s, headers={"vmware-api-session-id": t}); c.getresponse().read()
PY
callgrind_control -d $PID >/dev/null
kill -INT $PID; wait $PID 2>/dev/null
DUMP=$(ls $WORK/cg-$PORT-$N.out.* | head -1)
callgrind_annotate $DUMP 2>/dev/null | grep "PROGRAM TOTALS" | awk '{gsub(",","",$1); print $1}'
