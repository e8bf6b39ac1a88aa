"""``haven report`` counts adverse events following immunization by product and WHO category."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from haven.reports.suppression import grid_of, suppress

ROOT = Path(__file__).resolve().parents[2]
GIVEN, ONSET = "2026-11-03", "2026-11-04"  # ISO week 2026-W45


def _aefi(category: str | None, serious: bool = False) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "type": "aefi",
        "date": ONSET,
        "product": "penta",
        "dose": 1,
        "vaccination_date": GIVEN,
        "serious": serious,
    }
    return entry | ({"category": category} if category else {})


def _site(run, aefis: list[dict[str, Any]]) -> Any:  # type: ignore[no-untyped-def]
    assert run("init", "--admin", "Ana").code == 0
    for chunk in (aefis[:7], aefis[7:]):  # two holders
        if not chunk:
            continue
        qr = run("card", "new", "--json", "--no-show-qr").json()["qr"]
        visit = {"holder": {"age_band": "0-4"}, "entries": chunk}
        added = run(
            "visit", "add", "--card", "-", "--first-visit", "--entries", "-", stdin=f"{qr}\n{json.dumps(visit)}"
        )
        assert added.code == 0, added.err
    return run


AEFIS = [_aefi(None)] * 2 + [_aefi("product-related")] * 6 + [_aefi("coincidental", serious=True)] * 6


def test_aefi_are_counted_by_product_and_category_with_small_counts_hidden(run_cli) -> None:  # type: ignore[no-untyped-def]
    run = _site(run_cli, AEFIS)
    result = run("report", "--from", "2026-11-02", "--to", "2026-11-08", "--json")
    assert result.code == 0, result.err
    (table,) = [t for t in result.json()["tables"] if t["section"] == "aefi"]
    assert table["rows"] == [["penta", "unclassified"], ["penta", "product-related"], ["penta", "coincidental"]]
    assert table["columns"] == ["0-4"] and table["total"] == 14
    counts = [[2], [6], [6]]
    hidden = suppress(counts, 5)
    grid = grid_of(counts)
    expected = [[None if (i, j) in hidden else v for j, v in enumerate(row)] for i, row in enumerate(grid)]
    assert [[*cells, total] for cells, total in zip(table["cells"], table["row_totals"], strict=True)] == expected[:-1]
    assert table["cells"][0] == [None]  # the two unclassified events are not shown


def test_aefi_go_to_dhis2_through_the_mapping(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run = _site(run_cli, [_aefi("product-related")] * 7 + [_aefi(None)] * 6)
    out = tmp_path / "dhis2.json"
    mapping = str(ROOT / "docs" / "dhis2-mapping.json")
    args = ("--from", "2026-11-02", "--to", "2026-11-08", "--format", "dhis2", "--dhis2-mapping", mapping)
    result = run("report", *args, "--out", str(out))
    assert result.code == 0, result.err
    values = {
        (v["dataElement"], v["categoryOptionCombo"]): v["value"] for v in json.loads(out.read_text())["dataValues"]
    }
    assert values[("Zr8sT2vWq4K", "Kp3mW9xTq2L")] == "7"  # penta/product-related, 0-4
    assert values[("Mv7bQ1nRt5S", "Kp3mW9xTq2L")] == "6"  # penta/unclassified, 0-4


def test_a_mapping_key_for_aefi_names_a_product_and_a_category(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run = _site(run_cli, [_aefi("product-related")] * 7)
    mapping = tmp_path / "map.json"
    target = {"dataElement": "Zr8sT2vWq4K", "categoryOptionCombos": {"0-4": "Kp3mW9xTq2L"}}
    mapping.write_text(json.dumps({"orgUnit": "DiszpKrYNg8", "aefi": {"penta/mild": target}}), "utf-8")
    result = run(
        "report", "--from", "2026-11-02", "--to", "2026-11-08", "--format", "dhis2", "--dhis2-mapping", str(mapping)
    )
    assert result.code != 0
    assert "an AEFI key is <product>/<category>" in result.err
