#!/usr/bin/env bash
# callgrind instruction count of the server while it serves one directory-library file over
# plain HTTP (start-up and stop included; they cost ~3 M instructions).
#   benches/download-instructions.sh BINARY PORT [MiB]      (needs valgrind, curl, python3)
# Measured on 0450b14 (tokio::fs::File under a ReaderStream) and after the read-ahead change,
# 128 MiB: 139.6 M and 2.9 M instructions; 96 % of the former was one memcpy per byte.
set -u
BIN=$1; PORT=$2; MIB=${3:-128}
WORK=${WORK:-$(mktemp -d)}
mkdir -p $WORK/lib/bench
head -c $((MIB << 20)) /dev/urandom > $WORK/lib/bench/disk.vmdk
valgrind --tool=callgrind --callgrind-out-file=$WORK/cg.out $BIN serve --listen 127.0.0.1:$PORT \
  --library $WORK/lib --no-checksums > /dev/null 2>&1 & VP=$!
for i in $(seq 100); do curl -s -o /dev/null -X POST http://127.0.0.1:$PORT/api/session && break; sleep 0.2; done
B=http://127.0.0.1:$PORT/api
T=$(curl -s -X POST -u 'administrator@vsphere.local:VMware1!' $B/session | tr -d '"'); H="vmware-api-session-id: $T"
first() { python3 -c 'import json,sys; print(json.load(sys.stdin)[0])'; }
L=$(curl -s $B/content/library -H "$H" | first)
I=$(curl -s "$B/content/library/item?library_id=$L" -H "$H" | first)
S=$(curl -s -X POST $B/content/library/item/download-session -H "$H" -H 'Content-Type: application/json' \
      -d "{\"library_item_id\":\"$I\"}" | tr -d '"')
U=$(curl -s -X POST "$B/content/library/item/download-session/$S/file?action=prepare" -H "$H" \
      -H 'Content-Type: application/json' -d '{"file_name":"disk.vmdk","endpoint_type":"HTTPS"}' \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["download_endpoint"]["uri"])')
curl -s -o /dev/null $U
sleep 0.5; kill -INT $VP; sleep 0.5; kill -INT $VP 2>/dev/null; wait $VP
callgrind_annotate $WORK/cg.out 2>/dev/null | grep -E "PROGRAM TOTALS|memcpy" | head -2
