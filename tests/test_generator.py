"""The generator: deterministic, contract-conformant, with valid check digits where it means them."""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl

from generator import generate_landing
from landing.files import decode, sniff_delimiter
from landing.mapping import match_header


def _fingerprint(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*.csv"))}


def test_same_seed_same_bytes(tmp_path):
    generate_landing(tmp_path / "a", tmp_path / "a_truth", 3, 300, seed=11)
    generate_landing(tmp_path / "b", tmp_path / "b_truth", 3, 300, seed=11)
    assert _fingerprint(tmp_path / "a") == _fingerprint(tmp_path / "b")


def test_every_file_maps_to_the_contract_but_the_one_meant_to_fail(tmp_path):
    generate_landing(tmp_path / "l", tmp_path / "t", 6, 600, seed=3)
    missing = {}
    for path in (tmp_path / "l").glob("*/*/*.csv"):
        text, _ = decode(path.read_bytes())
        header = text.split("\n", 1)[0].rstrip("\r")
        match = match_header(path.parent.name, header.split(sniff_delimiter(header)))
        if match.missing_required:
            missing[path.relative_to(tmp_path / "l").as_posix()] = match.missing_required
    assert missing == {"CD004/service/service_2022.csv": ["open_date"]}


def test_generated_vins_and_ids_pass_their_check_digits(tmp_path, con):
    generate_landing(tmp_path / "l", tmp_path / "t", 2, 500, seed=5)
    persons = pl.read_csv(tmp_path / "t" / "persons.csv", infer_schema=False)
    ownership = pl.read_csv(tmp_path / "t" / "ownership.csv", infer_schema=False)
    con.register("persons", persons.to_arrow())
    con.register("ownership", ownership.to_arrow())
    assert con.execute("select bool_and(id_is_valid(id_number)) from persons").fetchone()[0]
    assert con.execute("select bool_and(vin_is_valid(vin)) from ownership").fetchone()[0]


def test_families_share_a_mobile_and_common_names_repeat(tmp_path):
    generate_landing(tmp_path / "l", tmp_path / "t", 2, 2000, seed=5)
    persons = pl.read_csv(tmp_path / "t" / "persons.csv", infer_schema=False)
    shared = persons.group_by("mobile").agg(pl.col("person_id").n_unique().alias("people"))
    assert shared.filter(pl.col("people") > 1).height > 50
    assert persons.filter(pl.col("name") == "张伟")["id_number"].n_unique() > 3
