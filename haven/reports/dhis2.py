"""A report as a DHIS2 ``dataValueSets`` document, through a mapping file (docs/reports.md#dhis2).

DHIS2's Web API takes ``POST /api/dataValueSets`` with ``{"dataSet", "orgUnit", "attributeOptionCombo",
"dataValues": [{"dataElement", "categoryOptionCombo", "period", "orgUnit", "value"}]}``: ids are
DHIS2 UIDs (11 characters, a letter then letters and digits), values strings, periods DHIS2's ids
(``2026W48``, ``202611``). The mapping file says which data element and category option combo
each of Haven's cells goes to (a sample: docs/dhis2-mapping.json):

- ``vaccinations``: product key -> ``{"dataElement", "categoryOptionCombos": {"<dose>/<age band>": uid}}``
- ``tests``: ``"<test>/<result>"`` -> ``{"dataElement", "categoryOptionCombos": {"<age band>": uid}}``
- ``care``: ``"<treatment|consultation>/<severity>"`` -> the same as tests

Only cells go (DHIS2 sums them itself), and only shown ones: a suppressed cell is left out, never
sent as a number. Cells the mapping does not name are left out and listed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from haven.core.aggregates import UNCLASSIFIED
from haven.core.catalogue import catalogue
from haven.core.entries import AEFI_CATEGORIES, SEVERITIES
from haven.errors import InputError
from haven.reports.tables import BANDS, Report

UID = re.compile(r"^[A-Za-z][A-Za-z0-9]{10}$")
SECTIONS = ("vaccinations", "tests", "care", "aefi")
CellKey = tuple[str, str, str, str]  # section, item, detail, age band


@dataclass(frozen=True)
class Mapping:
    org_unit: str
    data_set: str | None
    attribute_option_combo: str | None
    cells: dict[CellKey, tuple[str, str]]  # -> (dataElement, categoryOptionCombo)

    @classmethod
    def parse(cls, doc: Any) -> Mapping:
        """The mapping file's JSON; a typed error naming the first thing wrong in it."""
        if not isinstance(doc, dict):
            raise _bad("", "The DHIS2 mapping must be a JSON object.")
        unknown = set(doc) - {"orgUnit", "dataSet", "attributeOptionCombo", *SECTIONS}
        if unknown:
            raise _bad(sorted(unknown)[0], f"The DHIS2 mapping has an unknown key {sorted(unknown)[0]!r}.")
        cells: dict[CellKey, tuple[str, str]] = {}
        for section in SECTIONS:
            items = doc.get(section, {})
            if not isinstance(items, dict):
                raise _bad(section, f"The mapping's {section!r} must be an object.")
            for name, target in items.items():
                where = f"{section}.{name}"
                item, detail = _item(section, name, where)
                if not isinstance(target, dict) or set(target) != {"dataElement", "categoryOptionCombos"}:
                    raise _bad(where, f"{where} must hold exactly dataElement and categoryOptionCombos.")
                element = _uid(target["dataElement"], f"{where}.dataElement")
                combos = target["categoryOptionCombos"]
                if not isinstance(combos, dict) or not combos:
                    raise _bad(where, f"{where}.categoryOptionCombos must be a non-empty object.")
                for combo_key, combo in combos.items():
                    combo_where = f"{where}.categoryOptionCombos.{combo_key}"
                    if section == "vaccinations":
                        dose, _, band = str(combo_key).partition("/")
                        if not dose.isdigit() or int(dose) < 1:
                            raise _bad(combo_where, f"{combo_where}: a key is <dose>/<age band>, like 1/18-29.")
                        detail = str(int(dose))
                    else:
                        band = str(combo_key)
                    if band not in BANDS:
                        raise _bad(
                            combo_where, f"{combo_where}: unknown age band {band!r} (one of {', '.join(BANDS)})."
                        )
                    cells[(section, item, detail, band)] = (element, _uid(combo, combo_where))
        data_set, combo = doc.get("dataSet"), doc.get("attributeOptionCombo")
        return cls(
            org_unit=_uid(doc.get("orgUnit"), "orgUnit"),
            data_set=None if data_set is None else _uid(data_set, "dataSet"),
            attribute_option_combo=None if combo is None else _uid(combo, "attributeOptionCombo"),
            cells=cells,
        )


def data_value_set(report: Report, mapping: Mapping) -> tuple[dict[str, Any], list[CellKey]]:
    """The ``dataValueSets`` document, and the shown cells the mapping does not name (period-free)."""
    values: list[dict[str, str]] = []
    unmapped: set[CellKey] = set()
    for table in report.tables:
        for (item, detail), row in zip(table.rows, table.cells, strict=True):
            for band, value in zip(table.columns, row, strict=True):
                if value is None or value == 0:
                    continue  # suppressed, or nothing to report
                key = (table.section, item, detail, band)
                target = mapping.cells.get(key)
                if target is None:
                    unmapped.add(key)
                    continue
                values.append(
                    {
                        "dataElement": target[0],
                        "categoryOptionCombo": target[1],
                        "period": table.period.dhis2,
                        "orgUnit": mapping.org_unit,
                        "value": str(value),
                    }
                )
    doc: dict[str, Any] = {}
    if mapping.data_set is not None:
        doc["dataSet"] = mapping.data_set
    doc["orgUnit"] = mapping.org_unit
    if mapping.attribute_option_combo is not None:
        doc["attributeOptionCombo"] = mapping.attribute_option_combo
    doc["dataValues"] = values
    return doc, sorted(unmapped)


def _item(section: str, name: Any, where: str) -> tuple[str, str]:
    """A mapping key as the report's (item, detail); the dose comes from the combo key for vaccinations."""
    cat = catalogue()
    name = str(name)
    if section == "vaccinations":
        if name not in cat.products:
            raise _bad(where, f"{where}: {name!r} is not a product in the catalogue.")
        return name, ""
    item, _, detail = name.partition("/")
    if section == "tests":
        if item not in cat.tests or detail not in cat.results:
            raise _bad(where, f"{where}: a test key is <test>/<result>, like antigen/positive.")
    elif section == "aefi":
        if item not in cat.products or detail not in (UNCLASSIFIED, *AEFI_CATEGORIES):
            raise _bad(where, f"{where}: an AEFI key is <product>/<category>, like penta/product-related.")
    elif item not in ("treatment", "consultation") or detail not in (*SEVERITIES, "unknown"):
        raise _bad(where, f"{where}: a care key is <treatment|consultation>/<severity>, like treatment/mild.")
    return item, detail


def _uid(value: Any, where: str) -> str:
    if not isinstance(value, str) or not UID.match(value):
        raise _bad(where, f"{where}: {value!r} is not a DHIS2 UID (11 letters and digits, a letter first).")
    return value


def _bad(where: str, message: str) -> InputError:
    return InputError(message, field=f"dhis2-mapping.{where}".rstrip("."))
