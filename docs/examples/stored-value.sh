#!/usr/bin/env bash
# A curl walk through Version 1.1 "Customers, stored value and loyalty" (docs/API.md): a customer,
# a tax-exempt sale, a gift card from issue to a refund back onto it, its throttled lookup,
# loyalty points earned and spent, a refund to store credit and a sale paid with it, and what
# the store owes on its books.
# Against a server seeded with `manage.py seed_demo --demo-passwords` (DEBUG only), e.g. `make run`:
#   BASE=http://127.0.0.1:8000 bash docs/examples/stored-value.sh
set -euo pipefail
BASE=${BASE:-http://127.0.0.1:8000}
J='Content-Type: application/json'
say() { printf '\n### %s\n' "$*"; }
post() { # token path body [extra curl args]
  local t=$1 p=$2 b=$3; shift 3
  curl -s -X POST "$BASE$p" -H "$J" -H "Authorization: Bearer $t" -d "$b" "$@"
}
get() { curl -s "$BASE$2" -H "Authorization: Bearer $1"; }
token() { curl -s -X POST "$BASE/api/v1/auth/token/" -H "$J" -d "{\"username\":\"$1\",\"password\":\"$2\"}" | jq -r .access; }
key() { python3 -c 'import uuid; print(uuid.uuid4())'; }

ADMIN=$(token admin keys-to-the-shop-1)
MANAGER=$(token manager back-office-ledger-2)
CASHIER=$(token cashier front-till-receipt-3)
REG=$(get "$CASHIER" /api/v1/registers/ | jq '.results[0].id')
SID=$(get "$CASHIER" /api/v1/registers/ | jq '.results[0].store')
PROD=$(get "$CASHIER" "/api/v1/products/?page_size=50" | jq '[.results[] | select(.is_active and (.price | tonumber) > 3)][0].id')
SHIFT=$(get "$CASHIER" "/api/v1/shifts/?register=$REG&status=open" | jq '.results[0].id // empty')
if [ -z "$SHIFT" ]; then
  SHIFT=$(post "$CASHIER" /api/v1/shifts/ "{\"register\":$REG,\"opening_float\":\"100.00\"}" | jq .id)
fi

say "a customer (tax exempt), found again by a search on the phone's digits"
CUST=$(post "$CASHIER" /api/v1/customers/ '{"name":"Ada Lovelace","email":"ada@example.com","phone":"+44 20 7946 0018","tax_exempt":true,"tax_exempt_id":"EX-1815"}')
echo "$CUST" | jq -c '{id,code,tax_exempt,tax_exempt_id,store_credit,loyalty_points}'
CID=$(echo "$CUST" | jq .id)
get "$CASHIER" "/api/v1/customers/?search=79460018" | jq -c '[.results[] | {code,name}]'

say "a sale to the tax-exempt customer: no tax, the exemption id kept on the order"
QUOTE=$(post "$CASHIER" /api/v1/orders/quote/ "{\"register\":$REG,\"customer\":$CID,\"lines\":[{\"product\":$PROD,\"quantity\":\"1\"}]}")
echo "$QUOTE" | jq -c '{total,tax_total,customer,tax_exempt_id}'
TOTAL=$(echo "$QUOTE" | jq -r .total)
post "$CASHIER" /api/v1/orders/ "{\"register\":$REG,\"customer\":$CID,\"lines\":[{\"product\":$PROD,\"quantity\":\"1\"}],\"payments\":[{\"method\":\"card\",\"amount\":\"$TOTAL\"}]}" -H "Idempotency-Key: $(key)" | jq -c '{number,total,tax_total,customer,tax_exempt_id}'

say "issue a 50.00 gift card for cash: the code is shown once (and in a replay), then only last4"
GK=$(key)
CARD=$(post "$CASHIER" /api/v1/gift-cards/ "{\"register\":$REG,\"amount\":\"50.00\",\"payments\":[{\"method\":\"cash\",\"amount\":\"50.00\"}]}" -H "Idempotency-Key: $GK")
echo "$CARD" | jq -c '{id,last4,balance,currency,expires_at, code_length: (.code | length)}'
CODE=$(echo "$CARD" | jq -r .code); GID=$(echo "$CARD" | jq .id)
post "$CASHIER" /api/v1/gift-cards/ "{\"register\":$REG,\"amount\":\"50.00\",\"payments\":[{\"method\":\"cash\",\"amount\":\"50.00\"}]}" -H "Idempotency-Key: $GK" | jq -c '{replayed_same_code: (.code == "'"$CODE"'")}'
get "$CASHIER" "/api/v1/gift-cards/$GID/" | jq -c '{last4,balance,has_code: has("code")}'
get "$CASHIER" "/api/v1/gift-cards/lookup/?code=$CODE" | jq -c '{last4,balance,status}'

say "spend it: a sale of two paid with the card"
QUOTE=$(post "$CASHIER" /api/v1/orders/quote/ "{\"register\":$REG,\"lines\":[{\"product\":$PROD,\"quantity\":\"2\"}]}")
TOTAL=$(echo "$QUOTE" | jq -r .total)
SALE=$(post "$CASHIER" /api/v1/orders/ "{\"register\":$REG,\"lines\":[{\"product\":$PROD,\"quantity\":\"2\"}],\"payments\":[{\"method\":\"gift_card\",\"code\":\"$CODE\",\"amount\":\"$TOTAL\"}]}" -H "Idempotency-Key: $(key)")
echo "$SALE" | jq -c '{number,total,payments: [.payments[] | {method,amount,reference}]}'
OID=$(echo "$SALE" | jq .id); LINE=$(echo "$SALE" | jq '.lines[0].id')
get "$CASHIER" "/api/v1/gift-cards/lookup/?code=$CODE" | jq -c '{balance}'

say "more than the card holds: 409 insufficient_balance"
BIG=$(post "$CASHIER" /api/v1/orders/quote/ "{\"register\":$REG,\"lines\":[{\"product\":$PROD,\"quantity\":\"20\"}]}" | jq -r .total)
post "$CASHIER" /api/v1/orders/ "{\"register\":$REG,\"lines\":[{\"product\":$PROD,\"quantity\":\"20\"}],\"payments\":[{\"method\":\"gift_card\",\"code\":\"$CODE\",\"amount\":\"$BIG\"}]}" -H "Idempotency-Key: $(key)" | jq -c '{status,code,detail}'

say "refund one of the two (manager): the money goes back onto the card"
post "$MANAGER" "/api/v1/orders/$OID/refunds/" "{\"lines\":[{\"line\":$LINE,\"quantity\":\"1\"}],\"reason\":\"changed mind\"}" -H "Idempotency-Key: $(key)" | jq -c '{number,total,payments}'
get "$CASHIER" "/api/v1/gift-cards/lookup/?code=$CODE" | jq -c '{balance}'

say "guessing codes is throttled: unknown codes answer 400, then 429"
for i in $(seq 1 11); do
  curl -s -o /dev/null -w '%{http_code} ' "$BASE/api/v1/gift-cards/lookup/?code=AAAABBBBCCCCDDDD" -H "Authorization: Bearer $MANAGER"
done; echo

say "loyalty: the store gives a point per unit paid, a point is worth 0.01"
curl -s -X PATCH "$BASE/api/v1/stores/$SID/" -H "$J" -H "Authorization: Bearer $ADMIN" -d '{"loyalty_points_per_unit":"1","loyalty_point_value":"0.01"}' | jq -c '{loyalty_points_per_unit,loyalty_point_value}'
GRACE=$(post "$CASHIER" /api/v1/customers/ '{"name":"Grace Hopper"}' | jq .id)
QUOTE=$(post "$CASHIER" /api/v1/orders/quote/ "{\"register\":$REG,\"customer\":$GRACE,\"lines\":[{\"product\":$PROD,\"quantity\":\"10\"}]}")
TOTAL=$(echo "$QUOTE" | jq -r .total)
EARN=$(post "$CASHIER" /api/v1/orders/ "{\"register\":$REG,\"customer\":$GRACE,\"lines\":[{\"product\":$PROD,\"quantity\":\"10\"}],\"payments\":[{\"method\":\"card\",\"amount\":\"$TOTAL\"}]}" -H "Idempotency-Key: $(key)")
echo "$EARN" | jq -c '{number,total,customer,points_earned}'
get "$CASHIER" "/api/v1/customers/$GRACE/" | jq -c '{loyalty_points,store_credit}'

say "pay with 20 points (0.20) and the rest by card"
QUOTE=$(post "$CASHIER" /api/v1/orders/quote/ "{\"register\":$REG,\"customer\":$GRACE,\"lines\":[{\"product\":$PROD,\"quantity\":\"1\"}]}")
REST=$(echo "$QUOTE" | jq -r '(.total | tonumber) - 0.20 | . * 100 | round / 100 | tostring')
post "$CASHIER" /api/v1/orders/ "{\"register\":$REG,\"customer\":$GRACE,\"lines\":[{\"product\":$PROD,\"quantity\":\"1\"}],\"payments\":[{\"method\":\"points\",\"points\":20},{\"method\":\"card\",\"amount\":\"$REST\"}]}" -H "Idempotency-Key: $(key)" | jq -c '{number,total,points_earned,payments: [.payments[] | {method,amount,points}]}'
get "$CASHIER" "/api/v1/customers/$GRACE/" | jq -c '{loyalty_points,store_credit}'

say "refund 2 of the 10 to store credit (manager): the points they earned go back too"
EID=$(echo "$EARN" | jq .id); ELINE=$(echo "$EARN" | jq '.lines[0].id')
TWO=$(echo "$EARN" | jq -r '.lines[0].total | tonumber / 5 | . * 100 | round / 100 | tostring')
post "$MANAGER" "/api/v1/orders/$EID/refunds/" "{\"lines\":[{\"line\":$ELINE,\"quantity\":\"2\"}],\"tenders\":[{\"method\":\"store_credit\",\"amount\":\"$TWO\"}]}" -H "Idempotency-Key: $(key)" | jq -c '{number,total,payments: [.payments[] | {method,amount}]}'
get "$CASHIER" "/api/v1/customers/$GRACE/" | jq -c '{loyalty_points,store_credit}'

say "spend the store credit on a sale; asking for more than it holds is 409"
QUOTE=$(post "$CASHIER" /api/v1/orders/quote/ "{\"register\":$REG,\"customer\":$GRACE,\"lines\":[{\"product\":$PROD,\"quantity\":\"1\"}]}")
ONE=$(echo "$QUOTE" | jq -r .total)
post "$CASHIER" /api/v1/orders/ "{\"register\":$REG,\"customer\":$GRACE,\"lines\":[{\"product\":$PROD,\"quantity\":\"1\"}],\"payments\":[{\"method\":\"store_credit\",\"amount\":\"$ONE\"}]}" -H "Idempotency-Key: $(key)" | jq -c '{number,total,points_earned,payments: [.payments[] | {method,amount}]}'
QUOTE=$(post "$CASHIER" /api/v1/orders/quote/ "{\"register\":$REG,\"customer\":$GRACE,\"lines\":[{\"product\":$PROD,\"quantity\":\"5\"}]}")
FIVE=$(echo "$QUOTE" | jq -r .total)
post "$CASHIER" /api/v1/orders/ "{\"register\":$REG,\"customer\":$GRACE,\"lines\":[{\"product\":$PROD,\"quantity\":\"5\"}],\"payments\":[{\"method\":\"store_credit\",\"amount\":\"$FIVE\"}]}" -H "Idempotency-Key: $(key)" | jq -c '{status,code}'
get "$CASHIER" "/api/v1/customers/$GRACE/" | jq -c '{loyalty_points,store_credit}'

say "what the store owes: 2300, 2310 and 2320 in its trial balance"
get "$MANAGER" "/api/v1/ledger/trial-balance/?store=$SID" | jq -c '{total_debit,total_credit, owed: [.accounts[] | select(.code == "2300" or .code == "2310" or .code == "2320") | {code,balance}]}'
