-- The raw SQL of one 3-line checkout, in one transaction: the database's own limit for a sale
-- on this schema (`make bench` runs it with pgbench, 8 clients, against the seeded pos_bench).
--
-- Each pgbench client sells on its own register (P1…P8, each with an open shift), like the 8
-- HTTP clients of the sale scenario, and picks 3 distinct products among the same 1,000
-- (in product-id order, as the app locks them), so stock rows are contended the same way.
-- Statements, as the app issues them: the register's number counter (the app's
-- `UPSERT … RETURNING`; needed anyway for a unique order number), the order, its 3 lines in one
-- multi-row INSERT, 3 guarded stock updates, the payment, the journal entry and its lines in one
-- multi-row INSERT (the 5 lines the app posts: tender, revenue, tax, cost of goods, inventory;
-- the deferred balance trigger checks them at commit, as for the app).
-- What the app does on top, and this does not: JWT/user lookup, idempotency key insert and
-- update, shift lock, product read, stock movements, audit chain (lock, insert, move).
--
-- Variables (pgbench -D): store, cashier, reg0 (register id of client 0; contiguous), shift0
-- (shift id of client 0; contiguous), pmin (lowest sellable product id; 1,000 contiguous ids),
-- a_cash, a_revenue, a_tax, a_cogs, a_inventory (ledger account ids).

\set reg :reg0 + :client_id
\set shift :shift0 + :client_id
\set p1 :pmin + random(0, 332)
\set p2 :pmin + random(333, 665)
\set p3 :pmin + random(666, 999)
\set q1 random(1, 3)
\set q2 random(1, 3)
\set q3 random(1, 3)

BEGIN;
UPDATE orders_registersequence SET last_order_number = last_order_number + 1
 WHERE register_id = :reg RETURNING last_order_number AS seq \gset
INSERT INTO orders_order (number, sequence, status, created_at, client_created_at, offline,
    currency, prices_include_tax, order_discount, subtotal, discount_total, tax_total, total,
    paid_total, change_due, refunded_total, cashier_id, register_id, store_id, shift_id)
VALUES ('P' || (:client_id + 1) || '-' || lpad(:seq::text, 6, '0'), :seq, 'completed', now(),
    NULL, false, 'USD', false, 0, 30.00, 0, 2.48, 32.48, 32.48, 0, 0, :cashier, :reg, :store,
    :shift)
RETURNING id AS order_id \gset
INSERT INTO orders_orderline (position, sku, name, quantity, unit_price, unit_cost, gross,
    line_discount, discount, net, tax_rate, tax, total, refunded_quantity, refunded_net,
    refunded_tax, refunded_total, order_id, product_id)
VALUES (1, 'SELL-1', 'Sell product 1', :q1, 10.00, 6.00, 10.00, 0, 0, 10.00, 8.250, 0.83, 10.83,
        0, 0, 0, 0, :order_id, :p1),
       (2, 'SELL-2', 'Sell product 2', :q2, 10.00, 6.00, 10.00, 0, 0, 10.00, 8.250, 0.83, 10.83,
        0, 0, 0, 0, :order_id, :p2),
       (3, 'SELL-3', 'Sell product 3', :q3, 10.00, 6.00, 10.00, 0, 0, 10.00, 8.250, 0.82, 10.82,
        0, 0, 0, 0, :order_id, :p3);
UPDATE catalog_stocklevel SET quantity = quantity - :q1, updated_at = now()
 WHERE store_id = :store AND product_id = :p1 AND quantity >= :q1;
UPDATE catalog_stocklevel SET quantity = quantity - :q2, updated_at = now()
 WHERE store_id = :store AND product_id = :p2 AND quantity >= :q2;
UPDATE catalog_stocklevel SET quantity = quantity - :q3, updated_at = now()
 WHERE store_id = :store AND product_id = :p3 AND quantity >= :q3;
INSERT INTO orders_payment (method, amount, tendered, change, reference, card_last4,
    refunded_amount, order_id)
VALUES ('cash', 32.48, 40.00, 7.52, '', '', 0, :order_id);
INSERT INTO ledger_journalentry (date, memo, source, source_id, created_at, created_by_id,
    store_id)
VALUES (current_date, 'Sale, order ' || :order_id, 'sale', :order_id, now(), :cashier, :store)
RETURNING id AS entry_id \gset
INSERT INTO ledger_journalline (debit, credit, account_id, entry_id)
VALUES (32.48, 0, :a_cash, :entry_id), (0, 30.00, :a_revenue, :entry_id),
       (0, 2.48, :a_tax, :entry_id), (18.00, 0, :a_cogs, :entry_id),
       (0, 18.00, :a_inventory, :entry_id);
END;
