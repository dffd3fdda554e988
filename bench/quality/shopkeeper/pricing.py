"""Prices, discounts and taxes."""

from __future__ import annotations

TAX_RATES = {"standard": 0.2, "reduced": 0.05, "zero": 0.0}


def apply_discount(price: float, percent: float) -> float:
    return round(price * (1 - percent / 100), 2)


def with_tax(price: float, band: str) -> float:
    rate = TAX_RATES.get(band)
    if rate is None:
        raise ValueError(f"unknown tax band: {band}")
    return round(price * (1 + rate), 2)


def legacy_discount(price: float, loyalty_years: int) -> float:
    if loyalty_years > 10:
        return price * 0.8
    if loyalty_years > 5:
        return price * 0.9
    return price


def basket_total(prices: list[float], band: str, percent: float = 0.0) -> float:
    subtotal = sum(apply_discount(price, percent) for price in prices)
    return with_tax(subtotal, band)
