#!/usr/bin/env bash
# A curl walk through Version 1.1 "Catalog depth" (docs/API.md): a T-shirt in sizes (variants), a
# latte with milk and extras (modifier groups), a store price list, a happy-hour promotion and a
# 3-for-2 on a category (automatic promotions), a weighed cheese's scale label, and where they
# show: quote, sale, receipt, lookup, delta sync and the daily report.
# Against a server seeded with `manage.py seed_demo --demo-passwords` (DEBUG only), e.g. `make run`:
#   BASE=http://127.0.0.1:8000 bash docs/examples/catalog-depth.sh
set -euo pipefail
BASE=${BASE:-http://127.0.0.1:8000}
J='Content-Type: application/json'
say() { printf '\n### %s\n' "$*"; }
send() { # method token path body [extra curl args]
  local m=$1 t=$2 p=$3 b=$4; shift 4
  curl -s -X "$m" "$BASE$p" -H "$J" -H "Authorization: Bearer $t" -d "$b" "$@"
}
post() { send POST "$@"; }
patch() { send PATCH "$@"; }
get() { curl -s "$BASE$2" -H "Authorization: Bearer $1"; }
token() { curl -s -X POST "$BASE/api/v1/auth/token/" -H "$J" -d "{\"username\":\"$1\",\"password\":\"$2\"}" | jq -r .access; }
key() { python3 -c 'import uuid; print(uuid.uuid4())'; }
RUN=$(date +%s)  # makes skus unique, so the walk can run twice

ADMIN=$(token admin keys-to-the-shop-1)
MANAGER=$(token manager back-office-ledger-2)
CASHIER=$(token cashier front-till-receipt-3)
REG=$(get "$CASHIER" /api/v1/registers/ | jq '.results[0].id')
SID=$(get "$CASHIER" /api/v1/registers/ | jq '.results[0].store')
TAX=$(get "$MANAGER" /api/v1/tax-rates/ | jq '[.results[] | select((.rate | tonumber) > 0)][0].id')
SHIFT=$(get "$CASHIER" "/api/v1/shifts/?register=$REG&status=open" | jq '.results[0].id // empty')
if [ -z "$SHIFT" ]; then
  SHIFT=$(post "$CASHIER" /api/v1/shifts/ "{\"register\":$REG,\"opening_float\":\"100.00\"}" | jq .id)
fi
echo "store $SID, register $REG, shift $SHIFT"

say "variants: a T-shirt template and two sizes, each its own sku, price and stock"
SHIRT=$(post "$MANAGER" /api/v1/products/ "{\"sku\":\"TEE-$RUN\",\"name\":\"T-shirt\",\"price\":\"15.00\",\"tax_rate\":$TAX,\"track_stock\":false}" | jq .id)
for size in S M; do
  post "$MANAGER" /api/v1/products/ "{\"sku\":\"TEE-$RUN-$size\",\"name\":\"T-shirt $size\",\"price\":\"16.00\",\"tax_rate\":$TAX,\"track_stock\":false,\"variant_of\":$SHIRT,\"options\":{\"size\":\"$size\"}}" | jq -c '{id,sku,variant_of,options}'
done
get "$CASHIER" "/api/v1/products/$SHIRT/variants/" | jq -c '{count, skus: [.results[].sku]}'
get "$CASHIER" "/api/v1/products/$SHIRT/" | jq -c '{sku,is_template}'
echo "selling the template itself:"
post "$CASHIER" /api/v1/orders/quote/ "{\"register\":$REG,\"lines\":[{\"product\":$SHIRT,\"quantity\":\"1\"}]}" | jq -c '{status,code,errors}'

say "modifier groups: milk (exactly one) and extras (up to two) on a latte"
MILK=$(post "$MANAGER" /api/v1/modifier-groups/ '{"name":"Milk","min_choices":1,"max_choices":1,"modifiers":[{"name":"Whole milk","price_delta":"0.00"},{"name":"Oat milk","price_delta":"0.60"}]}')
EXTRAS=$(post "$MANAGER" /api/v1/modifier-groups/ '{"name":"Extras","min_choices":0,"max_choices":2,"modifiers":[{"name":"Extra shot","price_delta":"0.90"},{"name":"Vanilla syrup","price_delta":"0.50"}]}')
echo "$MILK" | jq -c '{id,name,min_choices,max_choices,modifiers: [.modifiers[] | {id,name,price_delta}]}'
OAT=$(echo "$MILK" | jq '.modifiers[1].id'); WHOLE=$(echo "$MILK" | jq '.modifiers[0].id')
SHOT=$(echo "$EXTRAS" | jq '.modifiers[0].id')
LATTE=$(post "$MANAGER" /api/v1/products/ "{\"sku\":\"LATTE-$RUN\",\"name\":\"Latte\",\"price\":\"5.00\",\"tax_rate\":$TAX,\"track_stock\":false,\"modifier_groups\":[$(echo "$MILK" | jq .id),$(echo "$EXTRAS" | jq .id)]}" | jq .id)
echo "no milk chosen, then two milks:"
post "$CASHIER" /api/v1/orders/quote/ "{\"register\":$REG,\"lines\":[{\"product\":$LATTE,\"quantity\":\"1\"}]}" | jq -c '{status,errors}'
post "$CASHIER" /api/v1/orders/quote/ "{\"register\":$REG,\"lines\":[{\"product\":$LATTE,\"quantity\":\"1\",\"modifiers\":[$OAT,$WHOLE]}]}" | jq -c '{status,errors}'

say "a price list for this store (latte 4.50 instead of 5.00) and a happy hour (20 % off lattes, every day)"
post "$MANAGER" /api/v1/price-lists/ "{\"name\":\"Downtown $RUN\",\"stores\":[$SID],\"priority\":10,\"items\":[{\"product\":$LATTE,\"price\":\"4.50\"}]}" | jq -c '{id,name,stores,priority,items}'
HAPPY=$(post "$MANAGER" /api/v1/promotions/ "{\"name\":\"Happy hour\",\"stores\":[$SID],\"kind\":\"percent_off\",\"value\":\"20\",\"products\":[$LATTE],\"days_of_week\":[1,2,3,4,5,6,7]}")
echo "$HAPPY" | jq -c '{id,name,kind,value,products,days_of_week}'

say "a quote where the price list, two modifiers and the promotion meet on one line"
LINES="[{\"product\":$LATTE,\"quantity\":\"2\",\"modifiers\":[$OAT,$SHOT]}]"
QUOTE=$(post "$CASHIER" /api/v1/orders/quote/ "{\"register\":$REG,\"lines\":$LINES}")
echo "$QUOTE" | jq '{lines: [.lines[] | {name,quantity,unit_price,modifiers,gross,promotion,promotion_name,promotion_discount,discount,net,tax,total}], subtotal, promotion_total, discount_total, tax_total, total, promotions}'

say "the sale prices it the same way and snapshots it; the receipt prints it"
TOTAL=$(echo "$QUOTE" | jq -r .total)
SALE=$(post "$CASHIER" /api/v1/orders/ "{\"register\":$REG,\"lines\":$LINES,\"payments\":[{\"method\":\"card\",\"amount\":\"$TOTAL\",\"card_last4\":\"4242\"}]}" -H "Idempotency-Key: $(key)")
echo "$SALE" | jq -c '{number,total,promotion_total,line: (.lines[0] | {unit_price,modifiers,promotion_discount,total})}'
OID=$(echo "$SALE" | jq .id)
get "$CASHIER" "/api/v1/orders/$OID/receipt/"

say "3 for 2 on a category (and its subcategories): the cheapest of each three is free"
CAT=$(post "$MANAGER" /api/v1/categories/ "{\"name\":\"Pastries $RUN\"}" | jq .id)
SUB=$(post "$MANAGER" /api/v1/categories/ "{\"name\":\"Croissants $RUN\",\"parent\":$CAT}" | jq .id)
CROISSANT=$(post "$MANAGER" /api/v1/products/ "{\"sku\":\"CRO-$RUN\",\"name\":\"Croissant\",\"price\":\"3.00\",\"tax_rate\":$TAX,\"track_stock\":false,\"category\":$SUB}" | jq .id)
MUFFIN=$(post "$MANAGER" /api/v1/products/ "{\"sku\":\"MUF-$RUN\",\"name\":\"Muffin\",\"price\":\"2.00\",\"tax_rate\":$TAX,\"track_stock\":false,\"category\":$CAT}" | jq .id)
post "$MANAGER" /api/v1/promotions/ "{\"name\":\"3 for 2\",\"stores\":[$SID],\"kind\":\"buy_x_get_y\",\"x\":2,\"y\":1,\"value\":\"100\",\"categories\":[$CAT]}" | jq -c '{id,name,kind,x,y,value,categories}'
LINES="[{\"product\":$CROISSANT,\"quantity\":\"2\"},{\"product\":$MUFFIN,\"quantity\":\"1\"}]"
QUOTE=$(post "$CASHIER" /api/v1/orders/quote/ "{\"register\":$REG,\"lines\":$LINES}")
echo "$QUOTE" | jq -c '{lines: [.lines[] | {name,quantity,gross,promotion_name,promotion_discount}], promotion_total, total}'
post "$CASHIER" /api/v1/orders/ "{\"register\":$REG,\"lines\":$LINES,\"payments\":[{\"method\":\"cash\",\"amount\":\"$(echo "$QUOTE" | jq -r .total)\"}]}" -H "Idempotency-Key: $(key)" | jq -c '{number,promotion_total,total}'

say "a scale label: the store reads 20IIIIIPPPPPC (item code, then the price in cents); a cheese's label for 7.35"
patch "$ADMIN" "/api/v1/stores/$SID/" '{"scale_barcode_layout":"20IIIIIPPPPPC"}' | jq -c '{code,scale_barcode_layout}'
ITEM=$(printf '%05d' $((RUN % 100000)))
post "$MANAGER" /api/v1/products/ "{\"sku\":\"CHEESE-$RUN\",\"name\":\"Comte (per kg)\",\"price\":\"24.50\",\"tax_rate\":$TAX,\"track_stock\":false,\"scale_code\":\"$ITEM\"}" | jq -c '{sku,scale_code,price}'
LABEL=$(python3 -c "
d='20$ITEM'+'00735'
s=sum(int(c)*(3 if i%2 else 1) for i,c in enumerate(d))
print(d+str((10-s%10)%10))")
get "$CASHIER" "/api/v1/products/?barcode=$LABEL&store=$SID" | jq -c '{count, results: [.results[] | {sku,price,embedded_price}]}'
echo "selling the label itself: one unit at the printed price"
post "$CASHIER" /api/v1/orders/ "{\"register\":$REG,\"lines\":[{\"barcode\":\"$LABEL\"}],\"payments\":[{\"method\":\"card\",\"amount\":\"$(post "$CASHIER" /api/v1/orders/quote/ "{\"register\":$REG,\"lines\":[{\"barcode\":\"$LABEL\"}]}" | jq -r .total)\"}]}" -H "Idempotency-Key: $(key)" | jq -c '{number,total,line: (.lines[0] | {name,quantity,unit_price,gross})}'
BAD=${LABEL:0:12}$(( (${LABEL:12:1} + 1) % 10 ))
echo "the same label with a wrong check digit:"
get "$CASHIER" "/api/v1/products/?barcode=$BAD&store=$SID" | jq -c '{status,code,errors}'

say "the store's price in delta sync (?store=) and without it"
get "$CASHIER" "/api/v1/products/?since_version=0&store=$SID&page_size=500" | jq -c "[.results[] | select(.id == $LATTE) | {sku,price}]"
get "$CASHIER" "/api/v1/products/?since_version=0&page_size=500" | jq -c "[.results[] | select(.id == $LATTE) | {sku,price}]"

say "the daily report: discount by promotion"
ZONE=$(get "$MANAGER" "/api/v1/stores/$SID/" | jq -r .timezone)
TODAY=$(python3 -c "import datetime, zoneinfo; print(datetime.datetime.now(zoneinfo.ZoneInfo('$ZONE')).date())")
get "$MANAGER" "/api/v1/reports/daily/?store=$SID&date=$TODAY" | jq -c '{promotion_total, by_promotion}'
