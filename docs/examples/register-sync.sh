#!/usr/bin/env bash
# A curl walk through Version 1.1 "Register sync" (docs/API.md): a register bootstraps from the
# store's snapshot (gzip NDJSON, ETag, 304), then follows the change feed from its version while a
# manager changes the catalog — a price, a new price list, a deleted product (tombstone).
# Against a server seeded with `manage.py seed_demo --demo-passwords` (DEBUG only), e.g. `make run`:
#   BASE=http://127.0.0.1:8000 bash docs/examples/register-sync.sh
set -euo pipefail
BASE=${BASE:-http://127.0.0.1:8000}
J='Content-Type: application/json'
say() { printf '\n### %s\n' "$*"; }
send() { local m=$1 t=$2 p=$3 b=$4; shift 4; curl -s -X "$m" "$BASE$p" -H "$J" -H "Authorization: Bearer $t" -d "$b" "$@"; }
get() { curl -s "$BASE$2" -H "Authorization: Bearer $1"; }
token() { curl -s -X POST "$BASE/api/v1/auth/token/" -H "$J" -d "{\"username\":\"$1\",\"password\":\"$2\"}" | jq -r .access; }
RUN=$(date +%s)
WORK=$(mktemp -d)

MANAGER=$(token manager back-office-ledger-2)
CASHIER=$(token cashier front-till-receipt-3)
SID=$(get "$CASHIER" /api/v1/registers/ | jq '.results[0].store')
TAX=$(get "$MANAGER" /api/v1/tax-rates/ | jq '.results[0].id')

say "bootstrap: the store's snapshot (headers, then what the NDJSON holds)"
curl -s -D "$WORK/h1" -o "$WORK/snap.gz" "$BASE/api/v1/sync/snapshot/?store=$SID" -H "Authorization: Bearer $CASHIER"
grep -iE '^(HTTP|content-type|content-encoding|etag|x-catalog-version)' "$WORK/h1" | tr -d '\r'
gunzip -c "$WORK/snap.gz" | head -1
gunzip -c "$WORK/snap.gz" | tail -n +2 | jq -s -c 'group_by(.type) | map({(.[0].type): length}) | add'
ETAG=$(grep -i '^etag' "$WORK/h1" | cut -d' ' -f2- | tr -d '\r')
V=$(grep -i '^x-catalog-version' "$WORK/h1" | cut -d' ' -f2 | tr -d '\r')

say "asking again with If-None-Match: 304, nothing built or sent"
curl -s -o /dev/null -w '%{http_code} %{size_download} bytes\n' "$BASE/api/v1/sync/snapshot/?store=$SID" -H "Authorization: Bearer $CASHIER" -H "If-None-Match: $ETAG"

say "the manager changes things: a new product, its price, a price list for the store, a product deleted before it was ever sold"
P=$(send POST "$MANAGER" /api/v1/products/ "{\"sku\":\"SYNC-$RUN\",\"name\":\"Sync demo\",\"price\":\"3.00\",\"tax_rate\":$TAX,\"track_stock\":false}" | jq .id)
send PATCH "$MANAGER" "/api/v1/products/$P/" '{"price":"3.25"}' > /dev/null
send POST "$MANAGER" /api/v1/price-lists/ "{\"name\":\"Sync $RUN\",\"stores\":[$SID],\"items\":[{\"product\":$P,\"price\":\"2.95\"}]}" | jq -c '{id,name}'
GONE=$(send POST "$MANAGER" /api/v1/products/ "{\"sku\":\"GONE-$RUN\",\"name\":\"Never sold\",\"price\":\"1.00\",\"tax_rate\":$TAX,\"track_stock\":false}" | jq .id)
curl -s -o /dev/null -w 'DELETE product: %{http_code}\n' -X DELETE "$BASE/api/v1/products/$GONE/" -H "Authorization: Bearer $MANAGER"

say "the register follows the feed from the snapshot's version $V"
get "$CASHIER" "/api/v1/sync/changes/?store=$SID&since=$V&limit=500" | jq -c '{next_since, has_more, changes: [.changes[] | {type, id, version, deleted, price: .data.price?}]}'

say "a new snapshot version: the old ETag no longer matches"
curl -s -o /dev/null -D "$WORK/h2" -w '%{http_code}\n' "$BASE/api/v1/sync/snapshot/?store=$SID" -H "Authorization: Bearer $CASHIER" -H "If-None-Match: $ETAG"
grep -iE '^(etag|x-catalog-version)' "$WORK/h2" | tr -d '\r'

say "refusals: another store, a bad limit"
get "$CASHIER" "/api/v1/sync/changes/?store=999999" | jq -c '{status,code}'
get "$CASHIER" "/api/v1/sync/changes/?store=$SID&limit=5000" | jq -c '{status,code,errors}'
rm -rf "$WORK"
