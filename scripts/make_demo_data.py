"""Regenerate the demo CSVs in registry/demo/ (deterministic; run once, output committed)."""

import csv
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent.parent / "registry" / "demo"


def churn(rng: np.random.Generator, n: int = 600) -> list[list[object]]:
    contracts = np.array(["month-to-month", "one-year", "two-year"])
    internet = np.array(["fiber", "dsl", "none"])
    rows = []
    for _ in range(n):
        contract = rng.choice(contracts, p=[0.55, 0.25, 0.2])
        net = rng.choice(internet, p=[0.45, 0.4, 0.15])
        tenure = int(rng.integers(1, 72))
        charges = round(float(rng.normal({"fiber": 85, "dsl": 55, "none": 25}[net], 12)), 2)
        calls = int(rng.poisson(1.5))
        score = (
            -1.2
            + 1.6 * (contract == "month-to-month")
            - 0.035 * tenure
            + 0.02 * (charges - 60)
            + 0.45 * calls
            + 0.5 * (net == "fiber")
        )
        churned = "yes" if rng.random() < 1 / (1 + np.exp(-score)) else "no"
        row: list[object] = [tenure, charges, contract, net, calls, churned]
        if rng.random() < 0.05:
            row[1] = ""  # missing monthly charge
        if rng.random() < 0.04:
            row[3] = ""  # missing internet type
        rows.append(row)
    return [
        ["tenure_months", "monthly_charges", "contract", "internet", "support_calls", "churned"],
        *rows,
    ]


def houses(rng: np.random.Generator, n: int = 500) -> list[list[object]]:
    areas = {"centre": 1.35, "suburb": 1.0, "rural": 0.75}
    rows = []
    for _ in range(n):
        area = str(rng.choice(list(areas), p=[0.3, 0.5, 0.2]))
        size = round(float(rng.gamma(9, 12)), 1)
        bedrooms = int(max(1, round(size / 35 + rng.normal(0, 0.6))))
        age = int(rng.integers(0, 90))
        price = areas[area] * (1800 * size + 9000 * bedrooms - 600 * age + 40000)
        price = round(float(price * rng.lognormal(0, 0.08)), -2)
        rows.append([size, bedrooms, age, area, price])
    return [["size_m2", "bedrooms", "age_years", "area", "price"], *rows]


def shoppers(rng: np.random.Generator, n: int = 450) -> list[list[object]]:
    centres = np.array([[25, 20, 2], [45, 70, 8], [65, 35, 4]], dtype=float)
    spread = np.array([4, 8, 1.5])
    rows = []
    for i in range(n):
        c = centres[i % 3]
        age, spend, visits = rng.normal(c, spread)
        row = [int(max(18, age)), round(float(max(1, spend)), 2), round(float(max(0, visits)), 1)]
        rows.append(row)
    return [["age", "monthly_spend", "visits_per_month"], *rows]


def main() -> None:
    rng = np.random.default_rng(2024)
    OUT.mkdir(parents=True, exist_ok=True)
    for name, rows in (
        ("churn.csv", churn(rng)),
        ("houses.csv", houses(rng)),
        ("shoppers.csv", shoppers(rng)),
    ):
        with (OUT / name).open("w", newline="") as handle:
            csv.writer(handle, lineterminator="\n").writerows(rows)


if __name__ == "__main__":
    main()
