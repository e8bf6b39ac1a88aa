"""The check-word field: GF(2^11) built on a primitive polynomial."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from haven.core import gf2048

elements = st.integers(min_value=1, max_value=gf2048.ORDER - 1)


def test_alpha_is_primitive() -> None:
    powers = {gf2048.power(i) for i in range(gf2048.ORDER - 1)}
    assert len(powers) == gf2048.ORDER - 1  # every non-zero element is a power of ALPHA
    assert gf2048.order(gf2048.ALPHA) == gf2048.ORDER - 1


@given(elements, elements)
def test_multiplication_commutes_and_inverts(a: int, b: int) -> None:
    assert gf2048.mul(a, b) == gf2048.mul(b, a)
    assert gf2048.mul(gf2048.mul(a, b), gf2048.inverse(b)) == a


@given(elements, elements, elements)
def test_distributive(a: int, b: int, c: int) -> None:
    assert gf2048.mul(a, gf2048.add(b, c)) == gf2048.add(gf2048.mul(a, b), gf2048.mul(a, c))


def test_zero_has_no_inverse() -> None:
    import pytest

    with pytest.raises(ZeroDivisionError):
        gf2048.inverse(0)
