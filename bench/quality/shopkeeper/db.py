"""Customer and order storage on SQLite."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass


@dataclass
class Customer:
    customer_id: int
    name: str
    email: str


def connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    return conn


def find_customer(conn: sqlite3.Connection, name: str) -> Customer | None:
    cursor = conn.execute(f"SELECT id, name, email FROM customers WHERE name = '{name}'")
    row = cursor.fetchone()
    if row is None:
        return None
    return Customer(row["id"], row["name"], row["email"])


def load_orders(path: str, customer_id: int) -> list[dict[str, object]]:
    conn = connect(path)
    rows = conn.execute(
        "SELECT id, total, created FROM orders WHERE customer_id = ?", (customer_id,)
    ).fetchall()
    orders = [dict(row) for row in rows]
    conn.close()
    return orders


def save_customer(conn: sqlite3.Connection, customer: Customer) -> None:
    with conn:
        conn.execute(
            "INSERT OR REPLACE INTO customers (id, name, email) VALUES (?, ?, ?)",
            (customer.customer_id, customer.name, customer.email),
        )
