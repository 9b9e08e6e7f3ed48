"""Edwards25519 arithmetic in plain Python, to build Ed25519 edge-case vectors (tests only).

Slow and not constant-time: it only makes signatures that no honest signer would make
(a small-order R, a key with a torsion component, a non-canonical encoding), so the
verifier's judgement of them can be tested. Formulas from RFC 8032, section 5.1.
"""

from __future__ import annotations

import hashlib

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493  # the prime order of the base point
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)

Point = tuple[int, int, int, int]  # extended coordinates (X, Y, Z, T), x = X/Z, y = Y/Z
IDENTITY: Point = (0, 1, 1, 0)


def add(a: Point, b: Point) -> Point:
    x1, y1, z1, t1 = a
    x2, y2, z2, t2 = b
    aa = (y1 - x1) * (y2 - x2) % P
    bb = (y1 + x1) * (y2 + x2) % P
    cc = 2 * t1 * t2 * D % P
    dd = 2 * z1 * z2 % P
    e, f, g, h = bb - aa, dd - cc, dd + cc, bb + aa
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def mul(k: int, point: Point) -> Point:
    result = IDENTITY
    while k > 0:
        if k & 1:
            result = add(result, point)
        point = add(point, point)
        k >>= 1
    return result


def neg(point: Point) -> Point:
    x, y, z, t = point
    return (-x % P, y, z, -t % P)


def affine(point: Point) -> tuple[int, int]:
    x, y, z, _t = point
    zi = pow(z, P - 2, P)
    return x * zi % P, y * zi % P


def same(a: Point, b: Point) -> bool:
    return affine(a) == affine(b)


def x_of(y: int, sign: int) -> int | None:
    """The x of the curve point with this y and sign bit, None if there is none."""
    u, v = (y * y - 1) % P, (D * y * y + 1) % P
    x2 = u * pow(v, P - 2, P) % P
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P:
        return None
    return P - x if x & 1 != sign else x


def decode_lenient(data: bytes) -> Point | None:
    """The point 32 bytes name when read leniently (y taken mod p, a sign bit on x = 0
    ignored): how a library that accepts non-canonical encodings reads them."""
    value = int.from_bytes(data, "little")
    y, sign = (value & (2**255 - 1)) % P, value >> 255
    x = x_of(y, sign)
    if x is None:
        x = x_of(y, 0)
        if x != 0:
            return None
    return point(x, y)


def point(x: int, y: int) -> Point:
    return (x % P, y % P, 1, x * y % P)


def encode(pt: Point) -> bytes:
    """The canonical 32-byte encoding (y little-endian, the sign of x in the top bit)."""
    x, y = affine(pt)
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def encode_raw(y: int, sign: int) -> bytes:
    """Any (y, sign) as 32 bytes, y not reduced: how non-canonical encodings are made."""
    return (y | (sign << 255)).to_bytes(32, "little")


BASE = point(x_of(4 * pow(5, P - 2, P) % P, 0) or 0, 4 * pow(5, P - 2, P))


def _order8() -> Point:
    """A point of order 8: L * Q for the first curve point Q whose order is 8 * L."""
    y = 2
    while True:
        x = x_of(y, 0)
        if x is not None:
            q = mul(L, point(x, y))
            if not same(mul(4, q), IDENTITY):
                return q
        y += 1


ORDER8 = _order8()
TORSION = [mul(i, ORDER8) for i in range(8)]  # the eight small-order points


def scalar(data: bytes) -> int:
    return int.from_bytes(hashlib.sha512(data).digest(), "little") % L


def challenge(r: bytes, a: bytes, message: bytes) -> int:
    """k = SHA-512(R || A || M) mod L, over the bytes exactly as given."""
    return scalar(r + a + message)


def secret_scalar(seed: bytes) -> tuple[int, bytes]:
    """(a, prefix) of an RFC 8032 seed: the clamped scalar and the nonce prefix."""
    h = hashlib.sha512(seed).digest()
    a = int.from_bytes(h[:32], "little")
    a &= (1 << 254) - 8
    a |= 1 << 254
    return a, h[32:]


def signature(r: bytes, s: int) -> bytes:
    return r + s.to_bytes(32, "little")
