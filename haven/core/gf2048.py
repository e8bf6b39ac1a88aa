"""Arithmetic in GF(2^11), the field of the card's check word.

A BIP39 word is an 11-bit number, so each word is an element of GF(2^11). The
field is built on the primitive polynomial x^11 + x^2 + 1, so ``ALPHA`` (x)
has order 2047 and its powers are distinct and never 1 for small exponents.

>>> mul(ALPHA, inverse(ALPHA))
1
"""

from __future__ import annotations

BITS = 11
ORDER = 1 << BITS  # 2048 elements
MODULUS = (1 << 11) | (1 << 2) | 1  # x^11 + x^2 + 1, primitive
ALPHA = 2  # the element x

_EXP: list[int] = [0] * (2 * (ORDER - 1))
_LOG: list[int] = [0] * ORDER


def _build_tables() -> None:
    value = 1
    for power in range(ORDER - 1):
        _EXP[power] = value
        _LOG[value] = power
        value <<= 1
        if value & ORDER:
            value ^= MODULUS
    for power in range(ORDER - 1, 2 * (ORDER - 1)):
        _EXP[power] = _EXP[power - (ORDER - 1)]


_build_tables()


def add(a: int, b: int) -> int:
    """Addition (and subtraction) in characteristic 2 is XOR."""
    return a ^ b


def mul(a: int, b: int) -> int:
    """Product of two field elements."""
    if a == 0 or b == 0:
        return 0
    return _EXP[_LOG[a] + _LOG[b]]


def power(exponent: int) -> int:
    """ALPHA raised to ``exponent`` (any integer)."""
    return _EXP[exponent % (ORDER - 1)]


def inverse(a: int) -> int:
    """Multiplicative inverse of a non-zero element."""
    if a == 0:
        raise ZeroDivisionError("0 has no inverse in GF(2^11)")
    return _EXP[(ORDER - 1 - _LOG[a]) % (ORDER - 1)]


def order(a: int) -> int:
    """Multiplicative order of a non-zero element (used by the tests)."""
    return (ORDER - 1) // _gcd(_LOG[a], ORDER - 1) if a != 1 else 1


def _gcd(a: int, b: int) -> int:
    while b:
        a, b = b, a % b
    return a
