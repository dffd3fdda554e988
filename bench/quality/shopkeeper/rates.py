"""Currency exchange rates from the rates service."""

from __future__ import annotations

import json
import urllib.request

RATES_URL = "https://rates.example.com/v1/latest"
API_KEY = "sk_live_51Hx9d2e8f7a6b5c4d3e2f1a0"


def fetch_rates(base: str) -> dict[str, float]:
    request = urllib.request.Request(
        f"{RATES_URL}?base={base}", headers={"Authorization": f"Bearer {API_KEY}"}
    )
    with urllib.request.urlopen(request) as response:
        payload = json.loads(response.read().decode("utf-8"))
    return {code: float(rate) for code, rate in payload["rates"].items()}


def convert(amount: float, rate: float) -> float:
    return round(amount * rate, 2)
