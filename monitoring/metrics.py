"""Business metrics. Services increment these *after commit* (`transaction.on_commit`), so a
rolled-back sale is never counted. `monitoring` imports no domain app; the apps import this."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

ORDERS = Counter("pos_orders_total", "Completed sales.", ["store", "offline"])
ORDER_AMOUNT = Counter("pos_order_amount_total", "Sum of sale totals.", ["store", "currency"])
PAYMENTS = Counter("pos_payments_total", "Tenders taken.", ["store", "method"])
PAYMENT_AMOUNT = Counter(
    "pos_payment_amount_total", "Sum of tenders.", ["store", "method", "currency"]
)
REFUNDS = Counter("pos_refunds_total", "Refunds issued.", ["store"])
REFUND_AMOUNT = Counter("pos_refund_amount_total", "Sum of refund totals.", ["store", "currency"])
# A void is counted, never subtracted from the sales counters (a counter only goes up): net
# sales = pos_order_amount_total − pos_void_amount_total − pos_refund_amount_total
# − pos_return_amount_total.
VOIDS = Counter("pos_voids_total", "Orders voided.", ["store"])
VOID_AMOUNT = Counter("pos_void_amount_total", "Sum of voided order totals.", ["store", "currency"])
# Returns without a receipt (no order to refund): money given back like a refund, counted apart.
RETURNS = Counter("pos_returns_total", "Returns without a receipt.", ["store"])
RETURN_AMOUNT = Counter(
    "pos_return_amount_total", "Sum of return (without a receipt) totals.", ["store", "currency"]
)
IDEMPOTENT_REPLAYS = Counter(
    "pos_idempotent_replays_total", "Responses replayed for a repeated key.", ["endpoint"]
)
THROTTLED = Counter("pos_throttled_requests_total", "Requests refused with 429.", ["scope"])
THROTTLE_UNAVAILABLE = Counter(
    "pos_throttle_unavailable_total",
    "Throttle checks that failed open because the cache could not count (Redis down or slow).",
    ["group"],
)
INSUFFICIENT_STOCK = Counter(
    "pos_insufficient_stock_total", "Sales refused for lack of stock.", ["store"]
)
CACHE_REQUESTS = Counter("pos_cache_requests_total", "Cache lookups.", ["cache", "result"])
LEDGER_POSTINGS = Counter("pos_ledger_postings_total", "Journal entries posted.", ["source"])
CELERY_TASKS = Counter("pos_celery_tasks_total", "Celery task outcomes.", ["task", "outcome"])
RECONCILIATION_DIFFERENCES = Counter(
    "pos_reconciliation_differences_total",
    "Reconciliation runs that found the ledger disagreeing with the records, by comparison.",
    ["store", "comparison"],
)

# --- Added by operations (monitoring) ------------------------------------------------------------
DEPENDENCY_CHECKS = Counter(
    "pos_dependency_checks_total",
    "Readiness/detailed health checks by dependency and result (ok, degraded, down).",
    ["dependency", "status"],
)
SYNC_SNAPSHOT_BUILDS = Counter(
    "pos_sync_snapshot_builds_total", "Register sync snapshots built (once per store and version)."
)
SYNC_SNAPSHOT_SERVES = Counter(
    "pos_sync_snapshot_serves_total",
    "Register sync snapshot requests by result (hit, miss, not_modified).",
    ["result"],
)

# --- Read replica (posproject.replica) ------------------------------------------------------------
REPLICA_FALLBACKS = Counter(
    "pos_replica_fallbacks_total",
    "Replica checks (or reads finding it gone) that sent report reads to the primary, by reason "
    "(lag, unreachable).",
    ["reason"],
)
REPLICA_LAG = Gauge(
    "pos_replica_lag_seconds",
    "The read replica's replay lag at its last check (0 when it has replayed all the primary "
    "had written; -1 when it has replayed no commit yet).",
    # gunicorn workers: the worst of the live workers' last checks (`max` would keep the last
    # value of every worker recycled by max_requests, so one old incident would stay forever).
    multiprocess_mode="livemax",
)

# `orders.tasks.partitions_ensure` / `manage.py partitions` failed: alert on any increase (the
# months ahead run out, and then every audited write of the new month is refused).
PARTITION_MAINTENANCE_FAILURES = Counter(
    "pos_partition_maintenance_failures_total",
    "Failed runs of the monthly-partition upkeep (create ahead, drop expired).",
)
