#!/usr/bin/env bash
# A curl walk through the Version 1.1 register flows (docs/API.md): a JPY store with cash
# rounding, tips, approvals, held orders, refunds (readable and flexible), a return without a
# receipt, an exchange, a void, a late offline sale and a batch upload, and the books per
# currency.
# Against a server seeded with `manage.py seed_demo --demo-passwords` (DEBUG only), e.g. `make run`:
#   BASE=http://127.0.0.1:8000 bash docs/examples/register-flows.sh
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

say "a JPY store with cash rounding to 10 yen, a register, a product, stock"
STORE=$(post "$ADMIN" /api/v1/stores/ '{"code":"TKY'"$RANDOM"'","name":"Tokyo","currency":"JPY","timezone":"Asia/Tokyo","cash_rounding":"10","cashier_max_discount_percent":"5.000"}')
echo "$STORE" | jq -c '{id,currency,cash_rounding,cashier_max_discount_percent}'
SID=$(echo "$STORE" | jq .id)
REG=$(post "$ADMIN" /api/v1/registers/ "{\"store\":$SID,\"code\":\"T1\"}" | jq .id)
TAX=$(post "$ADMIN" /api/v1/tax-rates/ "{\"name\":\"JP 10 $RANDOM\",\"rate\":\"10.000\"}" | jq .id)
PROD=$(post "$ADMIN" /api/v1/products/ "{\"sku\":\"JP-TEA-$RANDOM\",\"name\":\"Matcha\",\"price\":\"333\",\"cost\":\"120\",\"tax_rate\":$TAX}" | jq .id)
for NAME in manager cashier; do
  UID_=$(get "$ADMIN" /api/v1/users/ | jq ".results[] | select(.username==\"$NAME\") | .id")
  STORES=$(get "$ADMIN" /api/v1/users/ | jq -c "[.results[] | select(.username==\"$NAME\") | .stores[]] + [$SID]")
  curl -s -X PATCH "$BASE/api/v1/users/$UID_/" -H "$J" -H "Authorization: Bearer $ADMIN" -d "{\"stores\":$STORES}" | jq -c '{username,stores}'
done
post "$MANAGER" /api/v1/stock/adjustments/ "{\"store\":$SID,\"product\":$PROD,\"quantity_delta\":\"20\",\"reason\":\"receive\"}" | jq -c '{quantity_after,unit_cost}'

say "refused: a yen amount with decimals"
post "$CASHIER" /api/v1/shifts/ "{\"register\":$REG,\"opening_float\":\"10000.50\"}" | jq -c '{status,code,errors}'
SHIFT=$(post "$CASHIER" /api/v1/shifts/ "{\"register\":$REG,\"opening_float\":\"10000\"}" | jq .id)

say "quote: 1.5 × 333 = 500 (half-up), tax 50; cash would round 550 → 550"
post "$CASHIER" /api/v1/orders/quote/ "{\"register\":$REG,\"lines\":[{\"product\":$PROD,\"quantity\":\"1.5\"}]}" | jq -c '{subtotal,tax_total,total,rounding,total_due}'

say "sale of 2: 666 + 67 tax = 733, cash rounds to 730 (rounding -3), a 100 yen tip, 1000 tendered"
SALE=$(post "$CASHIER" /api/v1/orders/ "{\"register\":$REG,\"lines\":[{\"product\":$PROD,\"quantity\":\"2\"}],\"payments\":[{\"method\":\"cash\",\"amount\":\"730\",\"tip\":\"100\",\"tendered\":\"1000\"}]}" -H "Idempotency-Key: $(key)")
echo "$SALE" | jq -c '{number,total,rounding,total_due,tips_total,change_due,late,payments}'
OID=$(echo "$SALE" | jq .id); LINE=$(echo "$SALE" | jq '.lines[0].id')

say "a cashier's 10 % discount is over the 5 % limit: approval_required; the manager approves with a PIN"
post "$CASHIER" /api/v1/orders/quote/ "{\"register\":$REG,\"lines\":[{\"product\":$PROD,\"quantity\":\"3\"}],\"discount\":\"100\"}" | jq -c '{status,code}'
post "$MANAGER" /api/v1/auth/pin/ '{"password":"back-office-ledger-2","pin":"2468"}' -o /dev/null -w 'PIN set: %{http_code}\n'
APPROVAL=$(post "$CASHIER" /api/v1/approvals/ "{\"username\":\"manager\",\"pin\":\"2468\",\"action\":\"discount\",\"register\":$REG}")
echo "$APPROVAL" | jq -c '{approved_by,action,expires_at}'
TOKEN=$(echo "$APPROVAL" | jq -r .token)
post "$CASHIER" /api/v1/orders/ "{\"register\":$REG,\"lines\":[{\"product\":$PROD,\"quantity\":\"3\"}],\"discount\":\"100\",\"payments\":[{\"method\":\"card\",\"amount\":\"989\"}]}" -H "Idempotency-Key: $(key)" -H "X-Approval: $TOKEN" | jq -c '{number,total,discount_total}'
post "$CASHIER" /api/v1/orders/ "{\"register\":$REG,\"lines\":[{\"product\":$PROD,\"quantity\":\"3\"}],\"discount\":\"100\",\"payments\":[{\"method\":\"card\",\"amount\":\"989\"}]}" -H "Idempotency-Key: $(key)" -H "X-Approval: $TOKEN" | jq -c '{status,code}'

say "hold a ticket, then complete it"
HELD=$(post "$CASHIER" /api/v1/held-orders/ "{\"register\":$REG,\"lines\":[{\"product\":$PROD,\"quantity\":\"1\"}],\"note\":\"back in 5\"}")
echo "$HELD" | jq -c '{id,total,note}'
HID=$(echo "$HELD" | jq .id)
post "$CASHIER" /api/v1/orders/ "{\"register\":$REG,\"held_order\":$HID,\"payments\":[{\"method\":\"card\",\"amount\":\"366\"}]}" -H "Idempotency-Key: $(key)" | jq -c '{number,total}'
post "$CASHIER" /api/v1/orders/ "{\"register\":$REG,\"held_order\":$HID,\"payments\":[{\"method\":\"card\",\"amount\":\"366\"}]}" -H "Idempotency-Key: $(key)" | jq -c '{status,code}'

say "refund 1 of the first sale (manager), then read it back"
post "$MANAGER" "/api/v1/orders/$OID/refunds/" "{\"lines\":[{\"line\":$LINE,\"quantity\":\"1\"}],\"reason\":\"damaged\"}" -H "Idempotency-Key: $(key)" | jq -c '{number,total,payments}'
get "$CASHIER" "/api/v1/orders/$OID/refunds/" | jq -c '[.[] | {number,total}]'
get "$CASHIER" "/api/v1/orders/$OID/" | jq -c '{refunded_total, lines: [.lines[] | {refunded_quantity,refunded_total}]}'
RID=$(get "$CASHIER" "/api/v1/orders/$OID/refunds/" | jq '.[0].id')
get "$CASHIER" "/api/v1/refunds/$RID/receipt/"

say "a refund may choose its tenders: card never paid this cash order"
post "$MANAGER" "/api/v1/orders/$OID/refunds/" "{\"lines\":[{\"line\":$LINE,\"quantity\":\"1\"}],\"tenders\":[{\"method\":\"card\",\"amount\":\"367\"}]}" -H "Idempotency-Key: $(key)" | jq -c '{status,code,errors}'

say "a return without a receipt (manager), restocked, paid back in cash from this register's drawer"
post "$MANAGER" /api/v1/returns/ "{\"register\":$REG,\"lines\":[{\"product\":$PROD,\"quantity\":\"1\",\"unit_price\":\"300\"}],\"restock\":true,\"reason\":\"no receipt\"}" -H "Idempotency-Key: $(key)" | jq -c '{number,total,tenders,lines: [.lines[] | {unit_price,net,tax,total}]}'

say "an exchange: the first sale's last Matcha back (366), two taken (733); 367 due, cash rounds to 370"
EX=$(post "$MANAGER" /api/v1/orders/ "{\"register\":$REG,\"lines\":[{\"product\":$PROD,\"quantity\":\"2\"}],\"returns\":[{\"line\":$LINE,\"quantity\":\"1\"}],\"payments\":[{\"method\":\"cash\",\"amount\":\"370\"}]}" -H "Idempotency-Key: $(key)")
echo "$EX" | jq -c '{number,total,returned_total,rounding,total_due,payments: [.payments[] | {method,amount}]}'
get "$MANAGER" "/api/v1/refunds/?exchange_order=$(echo "$EX" | jq .id)" | jq -c '[.results[] | {number,order,exchange_order,total,payments: [.payments[] | {method,amount}]}]'

say "void the held-order sale (manager)"
post "$MANAGER" "/api/v1/orders/$(get "$CASHIER" "/api/v1/orders/?register=$REG" | jq '.results[] | select(.number | endswith("000003")) | .id')/void/" '{"reason":"rang up twice"}' -H "Idempotency-Key: $(key)" | jq -c '{number,status,voided_by,void_reason}'

say "close the shift, then an offline sale arrives late, and a batch of two"
post "$CASHIER" "/api/v1/shifts/$SHIFT/close/" '{"counted_cash":"10500"}' -H "Idempotency-Key: $(key)" | jq -c '{status,expected_cash,counted_cash,difference}'
post "$CASHIER" /api/v1/sync/sales/ "{\"register\":$REG,\"sales\":[{\"idempotency_key\":\"late-1-$RANDOM\",\"order\":{\"offline\":true,\"lines\":[{\"product\":$PROD,\"quantity\":\"1\"}],\"payments\":[{\"method\":\"cash\",\"amount\":\"370\"}]}},{\"idempotency_key\":\"late-2-$RANDOM\",\"order\":{\"offline\":true,\"lines\":[{\"product\":$PROD,\"quantity\":\"1\"}],\"payments\":[{\"method\":\"cash\",\"amount\":\"1\"}]}}]}" | jq -c '[.results[] | {idempotency_key,status, late: .order.late, code: .problem.code}]'
get "$MANAGER" "/api/v1/shifts/$SHIFT/report/" | jq -c '{type,tips_total,tips_by_cashier,rounding_total,late_sales: [.late_sales[] | {number,total}]}'

say "the books: the JPY trial balance, and all stores per currency"
get "$MANAGER" "/api/v1/ledger/trial-balance/?store=$SID" | jq -c '{total_debit,total_credit, accounts: [.accounts[] | select(.debit != "0" or .credit != "0") | {code,balance}]}'
get "$ADMIN" "/api/v1/ledger/trial-balance/" | jq -c '.currencies | to_entries | map({currency: .key, total_debit: .value.total_debit, total_credit: .value.total_credit})'
