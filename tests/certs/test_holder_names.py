"""The name and birth date a foreign certificate states, read only for the holder to confirm it is theirs."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import ec

from haven.certs.holder_names import MAX_SHOWN, NamedHolder, named_holder
from tests.certkit import SHC
from tests.web.foreign_cases import make_dsc, signed_hc1

KEY = ec.derive_private_key(0x1D, ec.SECP256R1())
DSC = make_dsc(KEY)
VACCINATION = {"v": [{"tg": "840539006", "mp": "EU/1/20/1528", "dn": 1, "sd": 2, "dt": "2026-05-01"}]}


def dcc(hcert: dict[str, object]) -> str:
    return signed_hc1(KEY, DSC, {1: "XK", 4: 2_000_000_000, 6: 1_700_000_000, -260: {1: hcert}})


def test_an_eu_dcc_and_a_smart_health_card_name_their_holder() -> None:
    named = dcc({"ver": "1.3.0", "nam": {"fn": "Muster", "gn": "Erika"}, "dob": "1990-01-01", **VACCINATION})
    assert named_holder(named) == NamedHolder("Erika Muster", "1990-01-01")
    card = (SHC / "example-00-f-qr-code-numeric-value-0.txt").read_text().strip()
    assert named_holder(card) == NamedHolder("John B. Anyperson", "1951-01-20")


def test_nothing_named_or_nothing_readable_is_none_and_a_long_name_is_cut() -> None:
    assert named_holder(dcc({"ver": "1.3.0", **VACCINATION})) is None
    assert named_holder("HC1:NOT BASE45 ~") is None and named_holder("shc:/99") is None
    assert named_holder("a Haven stub, or anything else") is None
    long = named_holder(dcc({"nam": {"fn": "X" * 500}, "dob": "1990-01-01T00:00:00", **VACCINATION}))
    assert long == NamedHolder("X" * MAX_SHOWN, "1990-01-01")
