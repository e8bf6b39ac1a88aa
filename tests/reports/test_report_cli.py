"""``haven report``: coordinators only, one audit entry, suppressed tables, CSV and DHIS2 dataValueSets."""

from __future__ import annotations

import csv
import io
import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest

from haven.reports.suppression import grid_of, suppress
from tests.reports.test_suppression import another_value_fits

ROOT = Path(__file__).resolve().parents[2]
REGISTRAR = "velvet orbit cannon drastic lumber"
WEEK_45 = "2026-11-04"  # a Wednesday of ISO week 2026-W45
# Comirnaty dose 1 for six 18-29 year olds (who also test negative), seven 30-39 and two 60-69 year olds.
PEOPLE = [2000] * 6 + [1990] * 7 + [1960] * 2


@pytest.fixture
def site(run_cli) -> Any:  # type: ignore[no-untyped-def]
    assert run_cli("init", "--admin", "Ana").code == 0
    for n, born in enumerate(PEOPLE):
        qr = run_cli("card", "new", "--json", "--no-show-qr").json()["qr"]
        entries = [{"type": "vaccination", "product": "comirnaty", "dose": 1, "date": WEEK_45}]
        if n < 6:
            entries.append({"type": "test", "test": "antigen", "result": "negative", "date": WEEK_45})
        visit = {"holder": {"birth_year": born}, "entries": entries}
        added = run_cli(
            "visit", "add", "--card", "-", "--first-visit", "--entries", "-", stdin=f"{qr}\n{json.dumps(visit)}"
        )
        assert added.code == 0, added.err
    return run_cli


def _report(run, *args: str) -> Any:  # type: ignore[no-untyped-def]
    result = run("report", "--from", "2026-11-01", "--to", "2026-11-14", *args)
    assert result.code == 0, result.err
    return result


def test_the_table_hides_small_counts_and_what_would_give_them_back(site) -> None:  # type: ignore[no-untyped-def]
    doc = _report(site, "--json").json()
    assert [p["period"] for p in doc["periods"]] == ["2026-W45", "2026-W46"]
    vaccinations = next(t for t in doc["tables"] if t["section"] == "vaccinations")
    assert (vaccinations["period"], vaccinations["rows"], vaccinations["columns"]) == (
        "2026-W45",
        [["comirnaty", "1"]],
        ["18-29", "30-39", "60-69"],
    )
    assert vaccinations["cells"] == [[None, 7, None]]  # the two 60-69 year olds, and the six that would give them
    assert vaccinations["total"] == 15  # totals stay exact
    # What is shown does not give the two back: the same check as the property test.
    grid = grid_of([[6, 7, 2]])
    hidden = suppress([[6, 7, 2]], 5)
    shown = [*vaccinations["cells"][0], vaccinations["row_totals"][0]], [*vaccinations["column_totals"], 15]
    assert [[None if (i, j) in hidden else v for j, v in enumerate(row)] for i, row in enumerate(grid)] == list(shown)
    assert all(another_value_fits(grid, hidden, e) for e in hidden)
    tests = next(t for t in doc["tables"] if t["section"] == "tests")
    assert (tests["rows"], tests["cells"], tests["total"]) == ([["antigen", "negative"]], [[6]], 6)


def test_the_terminal_table_has_a_bar_and_marks_hidden_counts(site) -> None:  # type: ignore[no-untyped-def]
    out = _report(site).out
    assert "vaccinations, 2026-W45 (2026-11-02 to 2026-11-08)" in out
    assert "█" in out and " x " in out


def test_a_month_report_counts_each_week_once_in_the_month_of_its_thursday(site) -> None:  # type: ignore[no-untyped-def]
    result = site("report", "--from", "2026-10-01", "--to", "2026-11-30", "--by", "month", "--json")
    doc = result.json()
    assert [(p["period"], p["start"], p["end"]) for p in doc["periods"]] == [
        ("2026-10", "2026-09-28", "2026-11-01"),
        ("2026-11", "2026-11-02", "2026-11-29"),
    ]
    assert [(t["period"], t["section"], t["total"]) for t in doc["tables"]] == [
        ("2026-11", "vaccinations", 15),
        ("2026-11", "tests", 6),
    ]


def test_csv_marks_suppressed_entries_and_keeps_totals(site, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "report.csv"
    assert _report(site, "--format", "csv", "--out", str(out), "--json").json()["tables"] == 2
    rows = list(csv.DictReader(io.StringIO(out.read_text("utf-8"))))
    hidden = [r for r in rows if r["suppressed"] == "true"]
    assert hidden and all(r["count"] == "" for r in hidden)
    assert {
        "period": "2026-W45",
        "section": "vaccinations",
        "item": "total",
        "age_band": "total",
        "count": "15",
    }.items() <= next(
        r for r in rows if r["section"] == "vaccinations" and r["item"] == "total" and r["age_band"] == "total"
    ).items()
    assert out.stat().st_mode & 0o777 == 0o600


# The shape DHIS2's Web API documents for POST /api/dataValueSets (Developer manual, "Data values":
# "Sending data values"): a data value set with dataSet, completeDate, period, orgUnit and
# attributeOptionCombo, and dataValues each with dataElement, categoryOptionCombo, value (a string)
# and optionally its own period and orgUnit, comment and followup.
SET_KEYS = {"dataSet", "completeDate", "period", "orgUnit", "attributeOptionCombo", "dataValues"}
VALUE_KEYS = {
    "dataElement", "categoryOptionCombo", "attributeOptionCombo", "period", "orgUnit", "value", "comment", "followup"
}  # fmt: skip
UID = re.compile(r"^[A-Za-z][A-Za-z0-9]{10}$")
WEEKLY, MONTHLY = re.compile(r"^\d{4}W([1-9]|[1-4]\d|5[0-3])$"), re.compile(r"^\d{4}(0[1-9]|1[0-2])$")


def check_data_value_set(doc: dict[str, Any]) -> None:
    assert set(doc) <= SET_KEYS and isinstance(doc["dataValues"], list)
    for name in ("dataSet", "orgUnit", "attributeOptionCombo"):
        assert name not in doc or UID.match(doc[name]), name
    for value in doc["dataValues"]:
        assert set(value) <= VALUE_KEYS and {"dataElement", "value"} <= set(value)
        assert "period" in value or "period" in doc
        assert "orgUnit" in value or "orgUnit" in doc
        period = value.get("period", doc.get("period"))
        assert WEEKLY.match(period) or MONTHLY.match(period), period
        for name in ("dataElement", "categoryOptionCombo", "orgUnit"):
            assert name not in value or UID.match(value[name]), name
        assert isinstance(value["value"], str) and value["value"].isdigit()


def test_dhis2_payload_has_the_documented_shape_and_no_suppressed_value(site, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "dhis2.json"
    mapping = str(ROOT / "docs" / "dhis2-mapping.json")
    result = _report(site, "--format", "dhis2", "--dhis2-mapping", mapping, "--out", str(out))
    doc = json.loads(out.read_text("utf-8"))
    check_data_value_set(doc)
    values = {(v["dataElement"], v["categoryOptionCombo"], v["period"]): v["value"] for v in doc["dataValues"]}
    assert values[("s46m5MS0hxu", "psbwp3CQEhs", "2026W45")] == "7"  # comirnaty dose 1, 30-39
    assert ("s46m5MS0hxu", "V6L425pT3A0", "2026W45") not in values  # the hidden two are not sent
    assert ("s46m5MS0hxu", "Prlt0C1RF0s", "2026W45") not in values  # hidden to protect them
    assert values[("pikOziyCXbM", "Prlt0C1RF0s", "2026W45")] == "6"
    assert "warning" not in result.err


def test_dhis2_by_month_uses_dhis2_month_ids(site) -> None:  # type: ignore[no-untyped-def]
    mapping = str(ROOT / "docs" / "dhis2-mapping.json")
    result = site("report", "--from", "2026-11-01", "--to", "2026-11-30", "--by", "month", "--format", "dhis2",
                  "--dhis2-mapping", mapping)  # fmt: skip
    doc = json.loads(result.out)
    check_data_value_set(doc)
    assert {v["period"] for v in doc["dataValues"]} == {"202611"}


def test_cells_the_mapping_does_not_name_are_left_out_and_said(site, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({"orgUnit": "DiszpKrYNg8", "tests": {}}), "utf-8")
    result = _report(site, "--format", "dhis2", "--dhis2-mapping", str(mapping), "--suppress-below", "1")
    assert json.loads(result.out)["dataValues"] == []
    assert "4 shown cell(s) are not in the DHIS2 mapping" in result.err


@pytest.mark.parametrize(
    ("mapping", "field"),
    [
        ({"orgUnit": "short"}, "dhis2-mapping.orgUnit"),
        ({"orgUnit": "DiszpKrYNg8", "vaccinations": {"nosuch": {}}}, "dhis2-mapping.vaccinations.nosuch"),
        ({"orgUnit": "DiszpKrYNg8", "tests": {"antigen/maybe": {}}}, "dhis2-mapping.tests.antigen/maybe"),
        ({"orgUnit": "DiszpKrYNg8", "extra": 1}, "dhis2-mapping.extra"),
    ],
)
def test_a_bad_mapping_is_one_typed_line_and_nothing_is_audited(site, tmp_path: Path, mapping, field) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "map.json"
    path.write_text(json.dumps(mapping), "utf-8")
    result = site("report", "--from", "2026-11-01", "--to", "2026-11-14", "--format", "dhis2",
                  "--dhis2-mapping", str(path), "--json")  # fmt: skip
    assert result.code == 2
    assert json.loads(result.out)["error"]["details"]["field"] == field
    assert len(result.err.strip().splitlines()) == 1
    assert "report.view" not in [e["action"] for e in site("audit", "show", "--json").json()["entries"]]


@pytest.mark.parametrize(
    "args",
    [
        ["--from", "2026-11-14", "--to", "2026-11-01"],
        ["--from", "14/11/2026", "--to", "2026-11-30"],
        ["--from", "2026-11-01", "--to", "2026-11-30", "--suppress-below", "0"],
        ["--from", "2026-11-01", "--to", "2026-11-30", "--format", "dhis2"],
    ],
)
def test_bad_options_are_one_line_each(site, args: list[str]) -> None:  # type: ignore[no-untyped-def]
    result = site("report", *args)
    assert result.code == 2 and len(result.err.strip().splitlines()) == 1 and result.err.startswith("haven: ")


def test_one_audit_entry_that_says_only_that_a_report_was_viewed(site) -> None:  # type: ignore[no-untyped-def]
    _report(site, "--format", "csv")
    entries = site("audit", "show", "--json").json()["entries"]
    assert [(e["staff"], e["action"], e["count"]) for e in entries][-1] == ("Ana", "report.view", 1)
    assert [e["action"] for e in entries].count("report.view") == 1


def test_only_coordinators_may_report(site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    secret = tmp_path / "registrar"
    secret.write_text(REGISTRAR + "\n", "utf-8")
    assert site("staff", "add", "Reza", "--role", "registrar", "--passphrase-file", str(secret)).code == 0
    monkeypatch.setenv("HAVEN_PASSPHRASE", REGISTRAR)
    result = site("report", "--from", "2026-11-01", "--to", "2026-11-14", "--json")
    assert result.code == 10
    assert json.loads(result.out)["error"]["code"] == "permission-denied"


def _documented_report_commands() -> list[str]:
    lines = []
    for name in ("reports.md", "cli.md"):
        text = (ROOT / "docs" / name).read_text("utf-8")
        for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
            lines += [line for line in block.splitlines() if line.startswith("haven report")]
    return lines


def test_every_report_command_in_the_docs_runs_as_written(
    site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    commands = _documented_report_commands()
    assert len(commands) >= 4
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "dhis2-mapping.json").write_bytes((ROOT / "docs" / "dhis2-mapping.json").read_bytes())
    monkeypatch.chdir(tmp_path)
    for command in commands:
        result = site(*shlex.split(command)[1:])
        assert result.code == 0, (command, result.err)


def test_the_csv_example_in_the_docs_is_what_haven_writes(site) -> None:  # type: ignore[no-untyped-def]
    text = (ROOT / "docs" / "reports.md").read_text("utf-8")
    example = re.search(r"## CSV\n.*?```\n(.*?)```", text, flags=re.S)
    assert example
    written = _report(site, "--format", "csv").out.splitlines()
    assert set(example.group(1).splitlines()) <= set(written)


def test_a_bad_range_is_refused_before_the_site_is_unlocked(site, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HAVEN_PASSPHRASE", "not the passphrase of anyone here")
    result = site("report", "--from", "2026-11-14", "--to", "2026-11-01")
    assert (result.code, result.err.strip()) == (2, "haven: The report's end date is before its start date.")
