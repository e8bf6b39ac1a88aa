"""The shipped catalogue of vaccines, tests and results (``haven/data/catalogue.json``).

Products carry their codes (ICD-11, CVX, ATC, EU DCC value sets), their
schedule and their names in English, Korean and Chinese. A test names the
disease it looks for and the results it can give. Each product, test type and
result has a stable small ``id`` used in the counters (sealed tallies), so no
catalogue string is stored there. docs/catalogue.md gives the sources.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class Interval:
    """Days between one dose and the next: the minimum and the recommended window."""

    min_days: int
    recommended_days: tuple[int, int]
    max_days: int | None = None


@dataclass(frozen=True)
class Booster:
    min_days: int
    recommended_days: tuple[int, int]
    applies_to: str


@dataclass(frozen=True)
class AgeWindow:
    """The ages (in days) at which the series may start: WHO's earliest age and, where it sets one, the latest."""

    min_days: int
    max_days: int | None


@dataclass(frozen=True)
class Schedule:
    doses: int
    intervals: tuple[Interval, ...]
    booster: Booster | None
    confidence: str
    notes: str
    age_window: AgeWindow | None = None


@dataclass(frozen=True)
class Product:
    key: str
    id: int
    name: str
    series: str
    diseases: tuple[str, ...]
    platform: str
    live: bool
    codes: dict[str, str] = field(hash=False)
    schedule: Schedule = field(hash=False)
    names: dict[str, str] = field(hash=False, default_factory=dict)  # "en", "ko", "zh"


@dataclass(frozen=True)
class Coded:
    """A test type or a result: key, stable id, display name and standard codes.

    A test type also names its ``disease`` and the ``results`` it can give.
    """

    key: str
    id: int
    name: str
    codes: dict[str, str] = field(hash=False)
    names: dict[str, str] = field(hash=False, default_factory=dict)
    disease: str | None = None
    results: tuple[str, ...] = ()


@dataclass(frozen=True)
class Catalogue:
    version: int
    products: dict[str, Product]
    diseases: dict[str, dict[str, str]]
    tests: dict[str, Coded]
    results: dict[str, Coded]

    def product(self, key: str) -> Product:
        return self.products[key]

    def product_by_id(self, number: int) -> Product:
        for product in self.products.values():
            if product.id == number:
                return product
        raise KeyError(number)


def _interval(doc: dict[str, Any]) -> Interval:
    low, high = doc["recommended_days"]
    return Interval(doc["min_days"], (low, high), doc.get("max_days"))


def _product(doc: dict[str, Any]) -> Product:
    sched = doc["schedule"]
    booster = sched.get("booster")
    window = sched.get("age_window")
    return Product(
        key=doc["key"],
        id=doc["id"],
        name=doc["name"],
        series=doc["series"],
        diseases=tuple(doc["diseases"]),
        platform=doc["platform"],
        live=doc["live"],
        codes=dict(doc["codes"]),
        schedule=Schedule(
            doses=sched["doses"],
            intervals=tuple(_interval(i) for i in sched["intervals"]),
            booster=(
                Booster(booster["min_days"], tuple(booster["recommended_days"]), booster["for"]) if booster else None
            ),
            confidence=sched["confidence"],
            notes=sched["notes"],
            age_window=AgeWindow(window["min_days"], window["max_days"]) if window else None,
        ),
        names=dict(doc["names"]),
    )


def _coded(key: str, doc: dict[str, Any]) -> Coded:
    codes = {k: v for k, v in doc.items() if k not in {"id", "name", "names", "disease", "results"}}
    results = tuple(doc.get("results", ()))
    return Coded(key, doc["id"], doc["name"], codes, dict(doc["names"]), doc.get("disease"), results)


@lru_cache(maxsize=1)
def catalogue() -> Catalogue:
    """The shipped catalogue (read once)."""
    doc = json.loads(resources.files("haven.data").joinpath("catalogue.json").read_text("utf-8"))
    return Catalogue(
        version=doc["version"],
        products={p["key"]: _product(p) for p in doc["products"]},
        diseases=doc["diseases"],
        tests={k: _coded(k, v) for k, v in doc["tests"].items()},
        results={k: _coded(k, v) for k, v in doc["results"].items()},
    )
