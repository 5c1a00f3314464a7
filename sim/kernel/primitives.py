"""The kernel's orders (numba): the counter-based generator, the arrival-order permutation, each order's
draw, the firms' shares of demand and the order-size table. Shared by the kernel and the benchmark's bare
loop, so both draw the same numbers."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from . import layout as L

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_U16 = 1.0 / 65536.0
_ITPP = 1.0 / L.H100_TPP  # H100e per TPP


@njit
def _mix(z):
    """splitmix64 finaliser: a bijective 64-bit hash (uint64 → uint64)."""
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@njit
def _domain(n):
    """The permutation's domain for [0, n): the smallest 2^bits >= n, split into a high part and a low
    part of ``half`` bits (masks ``mlo``, ``mhi``), so cycle walking takes under two passes on average."""
    bits = 1
    while (1 << bits) < n:
        bits += 1
    half = bits // 2
    return (
        np.uint64(half),
        (np.uint64(1) << np.uint64(half)) - np.uint64(1),
        (np.uint64(1) << np.uint64(bits - half)) - np.uint64(1),
    )


@njit
def _permute(s, n, half, mlo, mhi, k0, k1, k2, k3):
    """Keyed bijection of [0, n): a 4-round unbalanced Feistel network on the domain of ``_domain(n)``
    (each round xors one part with a keyed splitmix64 hash of the other), with cycle walking."""
    x = np.uint64(s)
    while True:
        hi = x >> half
        lo = x & mlo
        lo ^= _mix(hi ^ k0) & mlo
        hi ^= _mix(lo ^ k1) & mhi
        lo ^= _mix(hi ^ k2) & mlo
        hi ^= _mix(lo ^ k3) & mhi
        x = (hi << half) | lo
        if x < np.uint64(n):
            return np.int64(x)


@njit
def _shift(m):
    """log2(m) if m is a power of two (order p's firm is then p >> shift, no division), else -1."""
    k = 0
    while (1 << k) < m:
        k += 1
    return k if (1 << k) == m else -1


@njit
def _firm_weights(firms, terr, s_exp):
    """Each firm's share of its territory's demand and installed base: Zipf rank r ~ r^-s_exp within
    the domestic share, or the hyperscaler site's fixed share (rank 0)."""
    F = firms.country.shape[0]
    norm = np.zeros(terr.weight.shape[0])
    for f in range(F):
        if firms.rank[f] > 0:
            norm[firms.country[f]] += firms.rank[f] ** -s_exp
    w = np.empty(F)
    for f in range(F):
        c = firms.country[f]
        if firms.rank[f] > 0:
            w[f] = terr.dom_share[c] * firms.rank[f] ** -s_exp / norm[c]
        else:
            w[f] = firms.site_share[f]
    return w


@njit
def _size_table(sigma, ztab):
    """Mean-one log-normal order-size factors exp(sigma·z − sigma²/2) over the quantile table ``ztab``.
    Element by element with math.exp (the C library's exp, as numba's np.exp), so the kernel gives the same
    numbers run as Python (NUMBA_DISABLE_JIT=1), where NumPy's own vectorised exp may differ in the last bit."""
    fix = math.exp(-0.5 * sigma * sigma)
    out = np.empty(ztab.shape[0])
    for i in range(ztab.shape[0]):
        out[i] = math.exp(sigma * ztab[i]) * fix
    return out


@njit
def _quarter_keys(tkey, q):
    """The four Feistel round keys of quarter ``q`` of the trial stream ``tkey``."""
    qkey = _mix(tkey ^ (np.uint64(q + 1) * _M1))
    return (_mix(qkey + np.uint64(1)), _mix(qkey + np.uint64(2)), _mix(qkey + np.uint64(3)), _mix(qkey + np.uint64(4)))


@njit
def _order_draw(s, n, dom, keys, tkey, qbase):
    """Arrival slot ``s`` → (order index p = firm·m + k, its 64-bit draw keyed by (trial, quarter, p));
    ``dom`` is ``_domain(n)``."""
    po = _permute(s, n, dom[0], dom[1], dom[2], keys[0], keys[1], keys[2], keys[3])
    return po, _mix(tkey + (qbase + np.uint64(po) + np.uint64(1)) * _GOLDEN)


@njit
def _size_factor(etab, u):
    """The order's size factor: bits 16-27 of its draw ``u`` index the order-size table."""
    return etab[np.int64((u >> np.uint64(L.U_SIZE_SHIFT)) & np.uint64(L.ZTAB_MASK))]


@njit(inline="always")
def _chip_choice(u, tables, slip, g, q):
    """The chip an order asks for, by the alias method over the K chips of row (slip, g, q) of the chip-mix
    tables: column from bits 0-15 of the draw ``u``, threshold from bits 48-63."""
    K = tables.mix_prob.shape[3]
    k = np.int64(((u & np.uint64(L.U16_MASK)) * np.uint64(K)) >> np.uint64(16))
    if np.float64(u >> np.uint64(L.U_ALIAS_SHIFT)) * _U16 >= tables.mix_prob[slip, g, q, k]:
        k = tables.mix_alias[slip, g, q, k]
    return k


@njit
def _licence_draw(u):
    """The uniform in [0, 1) that decides the order's licence: bits 32-47 of its draw ``u``."""
    return np.float64((u >> np.uint64(L.U_LICENCE_SHIFT)) & np.uint64(L.U16_MASK)) * _U16


_U53 = 1.0 / 9007199254740992.0  # 2^-53


@njit(inline="always")
def _abroad_draw(u):
    """A uniform in [0, 1) from a second hash of the order's draw ``u`` (independent of its other bit
    fields): decides whether an eligible buyer's order goes to the Huawei-abroad row."""
    return np.float64(_mix(u ^ np.uint64(L.HW_KEY)) >> np.uint64(11)) * _U53
