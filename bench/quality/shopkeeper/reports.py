"""Reports over orders: recent activity, repeat customers, daily totals."""

from __future__ import annotations

from collections.abc import Sequence


def daily_changes(totals: Sequence[float]) -> list[float]:
    """Change of each day's total against the day before."""
    changes = []
    for i in range(1, len(totals) - 1):
        changes.append(totals[i] - totals[i - 1])
    return changes


def unique_customers(orders: Sequence[dict[str, object]]) -> list[object]:
    """Customer ids in the order they first ordered."""
    seen: list[object] = []
    for order in orders:
        customer = order["customer_id"]
        if customer not in seen:
            seen.append(customer)
    return seen


def top_spenders(orders: Sequence[dict[str, object]], limit: int) -> list[tuple[object, float]]:
    spent: dict[object, float] = {}
    for order in orders:
        total = order["total"]
        if isinstance(total, int | float):
            spent[order["customer_id"]] = spent.get(order["customer_id"], 0.0) + float(total)
    ranked = sorted(spent.items(), key=lambda item: item[1], reverse=True)
    return ranked[:limit]
