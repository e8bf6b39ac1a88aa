"""External codes (EU DCC value sets, CVX, LOINC, SNOMED) mapped to the catalogue's keys.

Codes Haven does not know are kept as they are, so a verifier still shows them.
"""

from __future__ import annotations

from functools import lru_cache

from haven.core.catalogue import catalogue

SNOMED_COVID = "840539006"
EU_TEST_TYPES = {"LP217198-3": "antigen", "LP6464-4": "pcr"}
SNOMED_RESULTS = {"260373001": "positive", "260415000": "negative", "260385009": "negative"}
# EU DCC vaccine/prophylaxis (vp) SNOMED and ATC codes -> vaccine types.
EU_VACCINE_TYPES = {
    "1119349007": "mRNA",
    "1119305005": "protein_subunit",
    "29061000087103": "viral_vector_nr",
    "1157024006": "inactivated",
    "1162643001": "protein_subunit",
    "J07BX03": "covid-19 vaccine",
    "J07BN01": "mRNA",
    "J07BN02": "viral_vector_nr",
    "J07BN03": "inactivated",
    "J07BN04": "protein_subunit",
}
# Further CVX codes of catalogue products: other formulations named in the catalogue's notes
# (haven/data/catalogue.json) and in tests/vectors/reference/covid19_vaccine_products.csv.
CVX_ALIASES = {
    "217": "comirnaty",
    "218": "comirnaty",
    "219": "comirnaty",
    "300": "comirnaty",
    "301": "comirnaty",
    "302": "comirnaty",
    "221": "spikevax",
    "227": "spikevax",
    "228": "spikevax",
    "229": "spikevax",
    "230": "spikevax",
}
# LOINC codes of SARS-CoV-2 tests as used in FHIR Observation.code.
LOINC_TESTS = {
    "94558-4": "antigen",
    "97097-0": "antigen",
    "96119-3": "antigen",
    "94500-6": "pcr",
    "94309-2": "pcr",
    "94759-8": "pcr",
    "94845-5": "pcr",
    "95406-5": "pcr",
    "95425-5": "pcr",
    "96094-8": "pcr",
    "96896-6": "pcr",
}


@lru_cache(maxsize=1)
def _by_code() -> dict[tuple[str, str], str]:
    out: dict[tuple[str, str], str] = {}
    for product in catalogue().products.values():
        for system, code in product.codes.items():
            out.setdefault((system, code), product.key)
    for code, key in CVX_ALIASES.items():
        out.setdefault(("cvx", code), key)
    return out


def product_for(system: str, code: str) -> str | None:
    """The catalogue product for an external code (``eu_dcc_mp`` or ``cvx``), or None.

    >>> product_for("eu_dcc_mp", "EU/1/20/1528"), product_for("cvx", "229"), product_for("cvx", "999")
    ('comirnaty', 'spikevax', None)
    """
    return _by_code().get((system, code))


def disease_for_snomed(code: str) -> str:
    for key, disease in catalogue().diseases.items():
        if disease.get("snomed") == code:
            return key
    return code


def vaccine_type(product: str | None, fallback: str | None = None) -> str | None:
    if product is not None:
        return catalogue().product(product).platform
    return fallback


def doses_in_schedule(product: str | None) -> int | None:
    return catalogue().product(product).schedule.doses if product else None
