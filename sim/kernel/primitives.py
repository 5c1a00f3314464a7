"""Inlined building blocks of the kernel (numba): the counter-based generator, the arrival-order
permutation, supply, delivery and refusal bookkeeping. Only allocate.py calls them."""

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


@njit(inline="always")
def _mix(z):
    """splitmix64 finaliser: a bijective 64-bit hash (uint64 → uint64)."""
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@njit(inline="always")
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


@njit(inline="always")
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


@njit(inline="always")
def _take(supply, v, sk, isk, x):
    """Chips of an ``x``-chip request the vendor can still deliver this quarter (consumes its supply);
    a chip uses ``sk`` of the vendor's capacity, ``isk`` = 1 / sk."""
    s = min(x, supply[v] * isk)
    if s <= 0.0:
        return 0.0
    supply[v] -= s * sk
    return s


@njit(inline="always")
def _deliver(tf, firm_add, fst, c_add, c_tpp, due, pend, dv, dv_tpp, f, c, q, qd, vol, tpp_h, ch, d, nq):
    """Book ``vol`` H100e (``tpp_h`` H100e by TPP) for firm f in territory c, decided in q and delivered
    in qd (pending until then); a share ``d`` is diverted (collected in dv, dv_tpp [qd, c] and booked
    to the diversion destination after the last quarter). The firm's deliveries of the current quarter
    go to fst[f, 3] (next to the rest of its state), later ones to firm_add[qd, f]."""
    if qd >= nq:  # decided but not delivered within the horizon: stays pending
        pend[c] += vol
        return
    if qd > q:
        due[qd, c] += vol
        pend[c] += vol
    else:
        tf[q, c, L.FL_SHIPPED] += vol
    keep = 1.0 - d
    if qd == q:
        fst[f, 3] += vol * keep  # this quarter's deliveries sit with the firm's state
    else:
        firm_add[qd, f] += vol * keep
    c_add[qd, c, ch] += vol * keep
    c_tpp[qd, c] += tpp_h * keep
    if d > 0.0:
        dv[qd, c] += vol * d
        dv_tpp[qd, c] += tpp_h * d


@njit(inline="always")
def _refuse(
    tf,
    firm_add,
    fst,
    c_add,
    c_tpp,
    due,
    pend,
    dv,
    dv_tpp,
    supply,
    grey,
    f,
    c,
    q,
    n,
    hk,
    tk,
    sk,
    v,
    grp,
    fallback,
    chip_vendor,
    pol_q,
    chip_supply,
    chip_h100e,
    chip_tpp,
    vendor_china_only,
    sub_r,
):
    """A refused order of ``n`` chips: denied; then the grey market (bounded capacity ``grey`` H100e a
    quarter) and the first fallback chips the rules let through (Ascend only to Chinese buyers), ``sub_r``
    of them per refused chip (the order's budget spent on a cheaper part), but never more H100e than
    refused; ``pol_q`` [chip, territory] is the quarter's effective policy.
    Returns the grey market's remaining capacity."""
    nq = tf.shape[0]
    tf[q, c, L.FL_DENIED] += n * hk
    gm = min(n, grey / hk, supply[v] / sk)
    if gm > 0.0:
        grey -= gm * hk
        supply[v] -= gm * sk
        n -= gm
        tf[q, c, L.FL_GREY_IN] += gm * hk
        fst[f, 3] += gm * hk
        c_add[q, c, L.CH_DIVERTED] += gm * hk
        c_tpp[q, c] += gm * tk
    got = 0.0  # H100e obtained from fallback chips
    took = 0.0  # refused chips replaced by fallback chips
    for j in range(fallback.shape[1]):
        kk = fallback[q, j]
        if kk < 0 or n <= 0.0:
            break
        vk = chip_vendor[kk]
        if pol_q[kk, c] != L.FREE or (vendor_china_only[vk] == 1 and grp != L.GROUP_CHINA):
            continue
        r = min(sub_r, hk / chip_h100e[kk])  # never more compute than the refused chips
        take = _take(supply, vk, chip_supply[kk], 1.0 / chip_supply[kk], n * r)
        if take <= 0.0:
            continue
        n -= take / r
        took += take / r
        fl_vol = take * chip_h100e[kk]
        got += fl_vol
        tf[q, c, L.FL_ORDERED] += fl_vol
        tf[q, c, L.FL_SUBSTITUTE] += fl_vol
        chk = L.CH_DOMESTIC if vendor_china_only[vk] == 1 and grp == L.GROUP_CHINA else L.CH_FREE
        _deliver(
            tf,
            firm_add,
            fst,
            c_add,
            c_tpp,
            due,
            pend,
            dv,
            dv_tpp,
            f,
            c,
            q,
            q,
            fl_vol,
            take * chip_tpp[kk] / L.H100_TPP,
            chk,
            0.0,
            nq,
        )
    # unmet: what the refused order wanted, less what the grey market and fallbacks gave
    tf[q, c, L.FL_UNMET] += max(0.0, (n + took) * hk - got)
    return grey


@njit(inline="always")
def _book_site(firm_hs, hs_tot, hs_out_us, site_cum, f, c, x, us_index):
    """Count ``x`` H100e (TPP) of controlled chips installed at firm f toward its hyperscaler's UVEU shares."""
    h = firm_hs[f]
    if h >= 0:
        hs_tot[h] += x
        site_cum[f] += x
        if c != us_index:
            hs_out_us[h] += x


@njit(inline="always")
def _shift(m):
    """log2(m) if m is a power of two (order p's firm is then p >> shift, no division), else -1."""
    k = 0
    while (1 << k) < m:
        k += 1
    return k if (1 << k) == m else -1


@njit(inline="always")
def _firm_weights(firm_country, firm_rank, firm_site_share, c_dom_share, s_exp, C):
    """Each firm's share of its territory's demand and installed base: Zipf rank r ~ r^-s_exp within
    the domestic share, or the hyperscaler site's fixed share (rank 0)."""
    F = firm_country.shape[0]
    norm = np.zeros(C)
    for f in range(F):
        if firm_rank[f] > 0:
            norm[firm_country[f]] += firm_rank[f] ** -s_exp
    w = np.empty(F)
    for f in range(F):
        c = firm_country[f]
        if firm_rank[f] > 0:
            w[f] = c_dom_share[c] * firm_rank[f] ** -s_exp / norm[c]
        else:
            w[f] = firm_site_share[f]
    return w


@njit(inline="always")
def _size_table(sigma, ztab):
    """Mean-one log-normal order-size factors exp(sigma·z − sigma²/2) over the quantile table ``ztab``."""
    return np.exp(sigma * ztab) * math.exp(-0.5 * sigma * sigma)


@njit(inline="always")
def _quarter_keys(tkey, q):
    """The four Feistel round keys of quarter ``q`` of the trial stream ``tkey``."""
    qkey = _mix(tkey ^ (np.uint64(q + 1) * _M1))
    return (_mix(qkey + np.uint64(1)), _mix(qkey + np.uint64(2)), _mix(qkey + np.uint64(3)), _mix(qkey + np.uint64(4)))


@njit(inline="always")
def _order_draw(s, n, dom, keys, tkey, qbase):
    """Arrival slot ``s`` → (order index p = firm·m + k, its 64-bit draw keyed by (trial, quarter, p));
    ``dom`` is ``_domain(n)``."""
    po = _permute(s, n, dom[0], dom[1], dom[2], keys[0], keys[1], keys[2], keys[3])
    return po, _mix(tkey + (qbase + np.uint64(po) + np.uint64(1)) * _GOLDEN)
