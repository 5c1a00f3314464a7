"""The kernel's shipping steps (numba): take chips from a vendor's supply, deliver them (now or after a
licence delay, part diverted), count them toward a hyperscaler's UVEU shares, and refuse an order (the
grey market, then fallback chips). ``st`` is the trial's State, ``o`` the Order (structures.py)."""

from __future__ import annotations

from numba import njit

from . import layout as L


@njit(inline="always")
def _take(supply, v, sk, isk, x):
    """Chips of an ``x``-chip request vendor ``v`` can still deliver this quarter (consumes its
    ``supply``, H100e of capacity); a chip uses ``sk`` of the capacity, ``isk`` = 1 / sk."""
    s = min(x, supply[v] * isk)
    if s <= 0.0:
        return 0.0
    supply[v] -= s * sk
    return s


@njit(inline="always")
def _deliver(st, f, c, q, qd, vol, tpp_h, units, ch, fam, d):
    """Book ``vol`` H100e (``tpp_h`` H100e by TPP, ``units`` chips) on stock channel ``ch`` and chip family
    ``fam`` for firm f in territory c, decided in quarter q and delivered in qd >= q (pending until then, and
    for good beyond the last quarter). A share ``d`` is diverted: collected in dv, dv_tpp [qd, c], dv_f, dv_u
    [qd, fam] and booked to the diversion destination after the last quarter. The firm's deliveries of
    quarter q sit with its state until the quarter closes."""
    if qd >= st.flows.shape[0]:
        st.pend[c] += vol
        return
    if qd > q:
        st.due[qd, c] += vol
        st.pend[c] += vol
    else:
        st.flows[q, c, L.FL_SHIPPED] += vol
    keep = 1.0 - d
    if qd == q:
        st.firm[f, L.FS_DELIVERED + fam] += vol * keep
    else:
        st.firm_add[qd, f, fam] += vol * keep
    st.c_add[qd, c, ch] += vol * keep
    st.c_tpp[qd, c] += tpp_h * keep
    st.f_add[qd, c, fam] += vol * keep
    st.u_add[qd, c, fam] += units * keep
    if d > 0.0:
        st.dv[qd, c] += vol * d
        st.dv_tpp[qd, c] += tpp_h * d
        st.dv_f[qd, fam] += vol * d
        st.dv_u[qd, fam] += units * d


@njit(inline="always")
def _book_site(st, o, x):
    """Count ``x`` H100e (TPP) of controlled chips installed at the order's firm toward its hyperscaler's
    UVEU shares (nothing for a domestic firm)."""
    if o.h >= 0:
        st.hs_tot[o.h] += x
        st.site_cum[o.f] += x
        if o.abroad:
            st.hs_out_us[o.h] += x


@njit(inline="always")
def _ship(st, o, n, qd, ch, book):
    """Take up to ``n`` chips of the order's chip from its vendor and deliver them in quarter ``qd`` on
    stock channel ``ch``; what is kept (not diverted), times ``book`` (1 for controlled chips, else 0),
    counts toward the UVEU shares. Returns the chips taken."""
    x = _take(st.supply, o.v, o.sk, o.isk, n)
    if x > 0.0:
        st.rev[o.q, o.c, o.v] += x * o.price
        _deliver(st, o.f, o.c, o.q, qd, x * o.hk, x * o.tk, x, ch, o.fam, o.d)
        _book_site(st, o, book * x * o.tk * (1.0 - o.d))
    return x


@njit(inline="always")
def _refuse(st, o, n, grey, smug, tr, chips, rules):
    """A refused order of ``n`` chips: denied; then smugglers serve a share ``smug`` of it, within ``grey``
    H100e of smuggling capacity left this quarter and the vendor's supply; then the quarter's first fallback
    chips (``rules.fallback``) the rules let through (a China-only vendor's only to Chinese buyers),
    ``tr.sub_r`` of them per refused chip (the budget spent on a cheaper part) but never more H100e than
    refused. Returns the smuggling capacity left."""
    c, q = o.c, o.q
    st.flows[q, c, L.FL_DENIED] += n * o.hk
    st.refv[q, c, o.v] += n * o.price
    gm = min(n * smug, grey / o.hk, st.supply[o.v] / o.sk)
    if gm > 0.0:  # (sold to a legal buyer elsewhere: not revenue from this destination)
        grey -= gm * o.hk
        st.supply[o.v] -= gm * o.sk
        n -= gm
        st.flows[q, c, L.FL_SMUGGLED] += gm * o.hk
        st.firm[o.f, L.FS_DELIVERED + o.fam] += gm * o.hk
        st.c_add[q, c, L.CH_SMUGGLED] += gm * o.hk
        st.c_tpp[q, c] += gm * o.tk
        st.f_add[q, c, o.fam] += gm * o.hk
        st.u_add[q, c, o.fam] += gm
    got = 0.0  # H100e obtained from fallback chips
    took = 0.0  # refused chips replaced by fallback chips
    for j in range(rules.fallback.shape[1]):
        kk = rules.fallback[q, j]
        if kk < 0 or n <= 0.0:
            break
        vk = chips.vendor[kk]
        china_only = chips.vendor_china_only[vk] == 1
        if st.pol[kk, c] != L.FREE or (china_only and o.grp != L.GROUP_CHINA):
            continue
        r = min(tr.sub_r, o.hk / tr.h100e[kk])  # never more compute than the refused chips
        x = _take(st.supply, vk, chips.supply[kk], tr.isk[kk], n * r)
        if x <= 0.0:
            continue
        n -= x / r
        took += x / r
        st.rev[q, c, vk] += x * tr.price[kk]
        vol = x * tr.h100e[kk]
        got += vol
        st.flows[q, c, L.FL_ORDERED] += vol
        st.flows[q, c, L.FL_SUBSTITUTE] += vol
        ch = L.CH_DOMESTIC if china_only and o.grp == L.GROUP_CHINA else L.CH_FREE
        _deliver(st, o.f, c, q, q, vol, x * chips.tpp[kk] / L.H100_TPP, x, ch, chips.family[kk], 0.0)
    # unmet: what the refused order wanted, less what smugglers and fallbacks gave
    st.flows[q, c, L.FL_UNMET] += max(0.0, (n + took) * o.hk - got)
    return grey
