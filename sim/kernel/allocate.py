"""The Monte Carlo kernel (numba): every order of every firm, quarter and trial through a regime's rules.

``run_kernel(inputs, out)`` runs ``_allocate`` with ``prange`` over trials. Inputs are the flat arrays
of ``sim.inputs.KernelInputs``; outputs (``Outputs``) are, per trial t, territory c, quarter q:
``stock[t, c, q, channel]`` and ``largest[t, c, q]`` (largest single firm's stock located in c) in H100e
by dense 16-bit FLOP/s, ``stock_tpp[t, c, q]`` in H100e by TPP, ``flows[t, c, q, flow]`` (layout.FLOWS),
``exhaust[t, c]`` and ``nveu_exhaust[t, c]`` (first quarter the national allocation / an NVEU allocation
is used up, -1 if never).

Orders are generated inside the kernel, never stored: in quarter q, slot s in [0, F·m) is mapped by a
keyed Feistel bijection (random arrival order) to order p = firm·m + k, and every random decision of
order p is taken from one 64-bit counter-based draw keyed by (seed, trial, quarter, p). An order thus
owns fixed random-draw slots, so two regimes run with one seed see the same demand (common random
numbers), and a trial's numbers depend only on (seed, trial) whatever the thread count.

One 64-bit draw feeds: bits 0-15 and 48-63 the chip choice (alias method: column, then threshold),
16-27 order-size noise, 32-47 the licence decision.

Volumes are in H100e (dense 16-bit FLOP/s); rule quantities in H100e by TPP (TPP / 15,832); vendor
supply in H100e of capacity (``chip_supply``). The installed base at the start is taken as H100-class
chips (1 H100e by FLOP/s = 1 H100e by TPP).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
from numba import njit, prange

from . import layout as L


def _drop_stale_cache() -> None:
    """numba's on-disk cache is keyed on this file alone, but the constants of layout.py and the inlined
    functions of primitives.py are compiled in: drop the cached kernels when either has changed."""
    here = Path(__file__).parent
    cache = here / "__pycache__"
    digest = hashlib.sha256(b"".join((here / f).read_bytes() for f in ("layout.py", "primitives.py"))).hexdigest()
    stamp = cache / "layout.sha256"
    try:
        if stamp.exists() and stamp.read_text() == digest:
            return
        for f in cache.glob("allocate.*.nb[ic]"):
            f.unlink()
        cache.mkdir(exist_ok=True)
        stamp.write_text(digest)
    except OSError:  # a read-only install: numba then caches elsewhere or not at all
        pass


_drop_stale_cache()
from .primitives import (
    _GOLDEN,
    _ITPP,
    _U16,
    _book_site,
    _deliver,
    _domain,
    _firm_weights,
    _mix,
    _order_draw,
    _quarter_keys,
    _refuse,
    _shift,
    _size_table,
    _take,
)  # noqa: E402


@njit(cache=True)
def _trial(
    t,
    trial0,
    key,
    params,
    quarterly,
    firm_country,
    firm_parent,
    firm_hs,
    firm_rank,
    firm_site_share,
    firm_nveu,
    firm_mix,
    hs_sites,
    hs_start,
    cn_firms,
    c_weight,
    c_dom_share,
    c_div,
    c_init_share,
    c_group,
    hs_hq_us,
    hs_uveu,
    chip_h100e,
    chip_tpp,
    chip_supply,
    chip_vendor,
    vendor_china_only,
    chip_class,
    chip_override,
    divertible,
    policy,
    alloc,
    lpp,
    uveu_lim,
    nveu_cap,
    tier1,
    allow_tpp,
    share_ratio,
    share_chip,
    guidance_on,
    lv_on,
    mix_prob,
    mix_alias,
    fallback,
    year_start,
    ztab,
    div_dest,
    us_index,
    m,
    stock,
    stock_tpp,
    largest,
    largest_site,
    flows,
    exhaust,
    nveu_exhaust,
):
    F = firm_country.shape[0]
    C = c_weight.shape[0]
    Q = policy.shape[0]
    K = chip_h100e.shape[1]
    ch = chip_h100e[t]  # this trial's H100e per chip
    V = quarterly.shape[2] - L.QT_SUPPLY
    S = mix_prob.shape[0]
    H = hs_hq_us.shape[0]
    N = F * m
    p = params[t]
    s_exp = p[L.P_SIZE_EXP]
    sigma = p[L.P_ORDER_SIGMA]
    p_app = p[L.P_APPROVE]
    p_app_den = p[L.P_APPROVE_DENIAL]
    delay = int(round(p[L.P_DELAY]))
    div_mult = p[L.P_DIVERSION]
    life = max(1, int(round(p[L.P_LIFE])))
    cut_g = p[L.P_CUT_GUIDANCE]
    cut_lv = p[L.P_CUT_LV]
    sub_r = p[L.P_SUBST]  # fallback chips per refused chip
    slip = min(max(int(round(p[L.P_SLIP])), 0), S - 1)  # roadmap delay: row of the chip-mix tables
    etab = _size_table(sigma, ztab)  # mean-one log-normal order-size factors
    mshift = _shift(m)
    tk_k = chip_tpp * _ITPP  # per chip: H100e by TPP, and inverses
    itk_k = 1.0 / tk_k
    ihk_k = 1.0 / ch
    isk_k = 1.0 / chip_supply
    fst = np.zeros((F, 4))  # per-firm state, one cache line: expected order size this quarter (H100e),
    # volume that waited a quarter (per order), backlog for next quarter, delivered now
    pol_q = np.empty((K, C), np.int8)  # effective policy this quarter [chip, territory]
    dshare = np.empty(C)  # diversion share of divertible chips this quarter
    tkey = _mix(key ^ (np.uint64(trial0 + t + 1) * _GOLDEN))  # the stream of global trial trial0 + t
    dom = _domain(N)  # arrival-order permutation domain

    # firm shares of world demand and of the initial installed base (taken as H100-class chips)
    wf = _firm_weights(firm_country, firm_rank, firm_site_share, c_dom_share, s_exp, C)
    fshare = np.empty(F)
    firm_init = np.empty(F)
    for f in range(F):
        c = firm_country[f]
        fshare[f] = c_weight[c] * wf[f]
        firm_init[f] = p[L.P_INSTALLED] * c_init_share[c] * wf[f]
    # UVEU bookkeeping, H100e by TPP of controlled chips: per hyperscaler total and outside the US; per site
    hs_tot = np.zeros(H)
    hs_out_us = np.zeros(H)
    site_cum = np.zeros(F)
    for f in range(F):
        _book_site(firm_hs, hs_tot, hs_out_us, site_cum, f, firm_country[f], firm_init[f], us_index)

    tf = np.zeros((Q, C, flows.shape[3]))  # flows in float64, copied to the float32 output at the end
    firm_add = np.zeros((Q, F))
    c_add = np.zeros((Q, C, stock.shape[3]))
    c_tpp = np.zeros((Q, C))
    due = np.zeros((Q, C))
    pend = np.zeros(C)
    carry_c = np.zeros(C)
    lpp_used = np.zeros(F)
    cap_used = np.zeros(C)
    nveu_used = np.zeros(C)
    supply = np.zeros(V)
    allow_used = np.zeros(C)  # pre-approved TPP (H100e) used, cumulative
    share_us = 0.0  # cumulative US volume of 'licence_share' chips (H100e)
    share_used = 0.0  # cumulative volume licensed under 'licence_share' (H100e)
    dv = np.zeros((Q, C))  # diverted from territory c, arriving in quarter q (H100e)
    dv_tpp = np.zeros((Q, C))

    for q in range(Q):
        if year_start[q] == 1:
            lpp_used[:] = 0.0
        for c in range(C):
            tf[q, c, L.FL_SHIPPED] += due[q, c]
            pend[c] -= due[q, c]
            carry_c[c] = 0.0
        for v in range(V):
            supply[v] = quarterly[t, q, L.QT_SUPPLY + v]
        grey = quarterly[t, q, L.QT_GREY]
        dq = quarterly[t, q, L.QT_DEMAND]
        for f in range(F):
            fst[f, 0] = dq * fshare[f] / m
        for f in range(F):
            fst[f, 1] = fst[f, 2] / m
            fst[f, 2] = 0.0
        for k in range(K):  # the quarter's rules per chip and territory, and diversion shares
            cls = chip_class[q, k]
            for c in range(C):
                pol = chip_override[q, k, c]
                pol_q[k, c] = pol if pol >= 0 else (L.FREE if cls == 0 else policy[q, c, cls - 1])
        for c in range(C):
            dshare[c] = 0.0
            if c_group[c] == L.GROUP_WORLD:
                dshare[c] = min(
                    1.0, c_div[c] * div_mult * (1.0 - cut_g * guidance_on[q, c]) * (1.0 - cut_lv * lv_on[q])
                )
        keys = _quarter_keys(tkey, q)
        qbase = np.uint64(q) * np.uint64(N)

        for s in range(N):
            po, u = _order_draw(s, N, dom, keys, tkey, qbase)
            f = po >> mshift if mshift >= 0 else po // m
            c = firm_country[f]
            base = fst[f, 0] * etab[np.int64((u >> np.uint64(16)) & np.uint64(4095))]
            tf[q, c, L.FL_ORDERED] += base
            old = fst[f, 1]  # volume that already waited a quarter for supply
            vol = base + old
            grp = c_group[c]
            g = firm_mix[f]  # chip choice: alias method, column from bits 0-15
            k = np.int64(((u & np.uint64(0xFFFF)) * np.uint64(K)) >> np.uint64(16))
            if np.float64(u >> np.uint64(48)) * _U16 >= mix_prob[slip, g, q, k]:
                k = mix_alias[slip, g, q, k]
            hk = ch[k]
            tk = tk_k[k]  # H100e by TPP per chip
            itk = itk_k[k]
            sk = chip_supply[k]
            isk = isk_k[k]
            v = chip_vendor[k]
            n = vol * ihk_k[k]
            cls = chip_class[q, k]
            pol = pol_q[k, c]
            u_lic = np.float64((u >> np.uint64(32)) & np.uint64(0xFFFF)) * _U16
            d = dshare[c] if divertible[q, k] == 1 else 0.0  # share of the shipment diverted to Tier-3 buyers
            ch_free = L.CH_DOMESTIC if vendor_china_only[v] == 1 and grp == L.GROUP_CHINA else L.CH_FREE
            book = 1.0 if cls != 0 else 0.0  # controlled chips count toward UVEU shares
            left = 0.0  # chips the rules let through but the vendor cannot supply
            if cls != 0 and allow_tpp[q, c] > 0.0 and pol != L.PROHIBITED and pol != L.FREE:  # bilateral deals
                na = min(n, max(allow_tpp[q, c] * _ITPP - allow_used[c], 0.0) * itk)
                x = _take(supply, v, sk, isk, na)
                if x > 0.0:
                    allow_used[c] += x * tk
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
                        x * hk,
                        x * tk,
                        L.CH_LICENSED,
                        d,
                        Q,
                    )
                    _book_site(firm_hs, hs_tot, hs_out_us, site_cum, f, c, x * tk * (1.0 - d), us_index)
                left += na - x
                n -= na
            if n <= 0.0:
                pass
            elif pol == L.FREE:
                x = _take(supply, v, sk, isk, n)
                _deliver(
                    tf, firm_add, fst, c_add, c_tpp, due, pend, dv, dv_tpp, f, c, q, q, x * hk, x * tk, ch_free, d, Q
                )
                _book_site(firm_hs, hs_tot, hs_out_us, site_cum, f, c, book * x * tk * (1.0 - d), us_index)
                if c == us_index and share_chip[q, k] == 1:
                    share_us += x * hk
                left += n - x
            elif (pol == L.LICENCE and u_lic < p_app) or (pol == L.DENY and u_lic < p_app_den):
                x = _take(supply, v, sk, isk, n)
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
                    q + delay,
                    x * hk,
                    x * tk,
                    L.CH_LICENSED,
                    d,
                    Q,
                )
                _book_site(firm_hs, hs_tot, hs_out_us, site_cum, f, c, book * x * tk * (1.0 - d), us_index)
                left += n - x
            elif pol == L.LICENCE or pol == L.PROHIBITED:
                tf[q, c, L.FL_DENIED] += n * hk
                tf[q, c, L.FL_UNMET] += n * hk
            elif pol == L.LICENCE_SHARE:  # case by case, within a share of US customers' volume
                ns = min(n, max(share_ratio[q] * share_us - share_used, 0.0) / hk)
                if u_lic >= p_app:
                    ns = 0.0  # the licence is refused
                if ns > 0.0:
                    x = _take(supply, v, sk, isk, ns)
                    share_used += x * hk
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
                        q + delay,
                        x * hk,
                        x * tk,
                        L.CH_LICENSED,
                        d,
                        Q,
                    )
                    _book_site(firm_hs, hs_tot, hs_out_us, site_cum, f, c, book * x * tk * (1.0 - d), us_index)
                    left += ns - x
                if n - ns > 0.0:  # refused: the grey market, then substitutes
                    grey = _refuse(
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
                        n - ns,
                        hk,
                        tk,
                        sk,
                        v,
                        grp,
                        fallback,
                        chip_vendor,
                        pol_q,
                        chip_supply,
                        ch,
                        chip_tpp,
                        vendor_china_only,
                        sub_r,
                    )
            elif pol == L.DENY:
                grey = _refuse(
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
                    ch,
                    chip_tpp,
                    vendor_china_only,
                    sub_r,
                )
            else:  # CAPPED: UVEU, then NVEU, then LPP, then licences against the national allocation
                nu = 0.0
                h = firm_hs[f]
                if h >= 0 and hs_uveu[h] == 1 and uveu_lim[q, 0] > 0.0 and tier1[q, c] == 0:
                    out_t1 = 0.0
                    for j in range(hs_start[h], hs_start[h + 1]):
                        if tier1[q, firm_country[hs_sites[j]]] == 0:
                            out_t1 += site_cum[hs_sites[j]]
                    tot = hs_tot[h]
                    room = (uveu_lim[q, 0] * tot - out_t1) / (1.0 - uveu_lim[q, 0])
                    room = min(room, (uveu_lim[q, 1] * tot - site_cum[f]) / (1.0 - uveu_lim[q, 1]))
                    if hs_hq_us[h] == 1 and c != us_index:
                        room = min(room, (uveu_lim[q, 2] * tot - hs_out_us[h]) / (1.0 - uveu_lim[q, 2]))
                    nu = min(n, max(room, 0.0) * itk)
                nn = 0.0
                if firm_nveu[f] == 1 and nveu_cap[q] > 0.0:
                    nn = min(n - nu, max(nveu_cap[q] * _ITPP - nveu_used[c], 0.0) * itk)
                    if n - nu - nn > 0.0 and nveu_exhaust[t, c] < 0:
                        nveu_exhaust[t, c] = q
                nl = 0.0
                if lpp[q] > 0.0:
                    nl = min(n - nu - nn, max(lpp[q] * _ITPP - lpp_used[firm_parent[f]], 0.0) * itk)
                nc = min(n - nu - nn - nl, max(alloc[q, c] * _ITPP - cap_used[c], 0.0) * itk)
                over = n - nu - nn - nl - nc
                if over > 0.0:  # policy of denial beyond the allocation
                    tf[q, c, L.FL_DENIED] += over * hk
                    tf[q, c, L.FL_UNMET] += over * hk
                    if exhaust[t, c] < 0:
                        exhaust[t, c] = q
                if nc > 0.0 and u_lic >= p_app:  # licence refused under a presumption of approval
                    tf[q, c, L.FL_DENIED] += nc * hk
                    tf[q, c, L.FL_UNMET] += nc * hk
                    nc = 0.0
                x = _take(supply, v, sk, isk, nu)
                if x > 0.0:
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
                        x * hk,
                        x * tk,
                        L.CH_VEU,
                        d,
                        Q,
                    )
                    _book_site(firm_hs, hs_tot, hs_out_us, site_cum, f, c, x * tk * (1.0 - d), us_index)
                left += nu - x
                x = _take(supply, v, sk, isk, nn)
                if x > 0.0:
                    nveu_used[c] += x * tk
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
                        x * hk,
                        x * tk,
                        L.CH_VEU,
                        d,
                        Q,
                    )
                    _book_site(firm_hs, hs_tot, hs_out_us, site_cum, f, c, x * tk * (1.0 - d), us_index)
                left += nn - x
                x = _take(supply, v, sk, isk, nl)
                if x > 0.0:
                    lpp_used[firm_parent[f]] += x * tk
                    tf[q, c, L.FL_LPP] += x * hk
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
                        x * hk,
                        x * tk,
                        L.CH_FREE,
                        d,
                        Q,
                    )
                    _book_site(firm_hs, hs_tot, hs_out_us, site_cum, f, c, x * tk * (1.0 - d), us_index)
                left += nl - x
                x = _take(supply, v, sk, isk, nc)
                if x > 0.0:
                    cap_used[c] += x * tk
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
                        q + delay,
                        x * hk,
                        x * tk,
                        L.CH_LICENSED,
                        d,
                        Q,
                    )
                    _book_site(firm_hs, hs_tot, hs_out_us, site_cum, f, c, x * tk * (1.0 - d), us_index)
                left += nc - x
            if left > 0.0:  # the vendor is sold out: the rest waits a quarter
                lv = left * hk
                lapsed = lv * (old / vol)  # what already waited a quarter lapses
                tf[q, c, L.FL_LAPSED] += lapsed
                fst[f, 2] += lv - lapsed
                carry_c[c] += lv - lapsed
        for f in range(F):
            firm_add[q, f] += fst[f, 3]
            fst[f, 3] = 0.0
        for c in range(C):
            tf[q, c, L.FL_PENDING] = pend[c]
            tf[q, c, L.FL_BACKLOG] = carry_c[c]
            tf[q, c, L.FL_CAP_USED] = cap_used[c]

    # diverted chips reach the diversion destination's stock, and its firms in proportion to demand
    div_q = np.zeros(Q)
    for c in range(C):
        for q in range(Q):
            tf[q, c, L.FL_DIVERTED_OUT] = dv[q, c]
            div_q[q] += dv[q, c]
            c_tpp[q, div_dest] += dv_tpp[q, c]
    for q in range(Q):
        tf[q, div_dest, L.FL_DIVERTED_IN] = div_q[q]
        c_add[q, div_dest, L.CH_DIVERTED] += div_q[q]
    # stocks with retirement: initial base retires linearly over a service life, shipments after one
    for c in range(C):
        init_c = p[L.P_INSTALLED] * c_init_share[c]
        for ch in range(stock.shape[3]):
            run = 0.0
            for q in range(Q):
                run += c_add[q, c, ch]
                if q >= life:
                    run -= c_add[q - life, c, ch]
                stock[t, c, q, ch] = run
        run = 0.0
        for q in range(Q):
            left_init = max(0.0, 1.0 - (q + 1.0) / life)
            stock[t, c, q, L.CH_INITIAL] = init_c * left_init
            run += c_tpp[q, c]
            if q >= life:
                run -= c_tpp[q - life, c]
            stock_tpp[t, c, q] = run + init_c * left_init
            for fl in range(tf.shape[2]):
                flows[t, c, q, fl] = tf[q, c, fl]
    cn_tot = 0.0
    for i in range(cn_firms.shape[0]):
        cn_tot += fshare[cn_firms[i]]
    for i in range(cn_firms.shape[0]):
        g = cn_firms[i]
        for q in range(Q):
            firm_add[q, g] += div_q[q] * (fshare[g] / cn_tot)
    for f in range(F):
        c = firm_country[f]
        run = 0.0
        for q in range(Q):
            run += firm_add[q, f]
            if q >= life:
                run -= firm_add[q - life, f]
            x = run + firm_init[f] * max(0.0, 1.0 - (q + 1.0) / life)
            if x > largest[t, c, q]:
                largest[t, c, q] = x
                largest_site[t, c, q] = 1 if firm_hs[f] >= 0 else 0


@njit(parallel=True, cache=True)
def _allocate(
    trial0,
    key,
    params,
    quarterly,
    firm_country,
    firm_parent,
    firm_hs,
    firm_rank,
    firm_site_share,
    firm_nveu,
    firm_mix,
    hs_sites,
    hs_start,
    cn_firms,
    c_weight,
    c_dom_share,
    c_div,
    c_init_share,
    c_group,
    hs_hq_us,
    hs_uveu,
    chip_h100e,
    chip_tpp,
    chip_supply,
    chip_vendor,
    vendor_china_only,
    chip_class,
    chip_override,
    divertible,
    policy,
    alloc,
    lpp,
    uveu_lim,
    nveu_cap,
    tier1,
    allow_tpp,
    share_ratio,
    share_chip,
    guidance_on,
    lv_on,
    mix_prob,
    mix_alias,
    fallback,
    year_start,
    ztab,
    div_dest,
    us_index,
    m,
    stock,
    stock_tpp,
    largest,
    largest_site,
    flows,
    exhaust,
    nveu_exhaust,
):
    for t in prange(params.shape[0]):
        _trial(
            t,
            trial0,
            key,
            params,
            quarterly,
            firm_country,
            firm_parent,
            firm_hs,
            firm_rank,
            firm_site_share,
            firm_nveu,
            firm_mix,
            hs_sites,
            hs_start,
            cn_firms,
            c_weight,
            c_dom_share,
            c_div,
            c_init_share,
            c_group,
            hs_hq_us,
            hs_uveu,
            chip_h100e,
            chip_tpp,
            chip_supply,
            chip_vendor,
            vendor_china_only,
            chip_class,
            chip_override,
            divertible,
            policy,
            alloc,
            lpp,
            uveu_lim,
            nveu_cap,
            tier1,
            allow_tpp,
            share_ratio,
            share_chip,
            guidance_on,
            lv_on,
            mix_prob,
            mix_alias,
            fallback,
            year_start,
            ztab,
            div_dest,
            us_index,
            m,
            stock,
            stock_tpp,
            largest,
            largest_site,
            flows,
            exhaust,
            nveu_exhaust,
        )


@dataclass
class Outputs:
    stock: np.ndarray  # float32 [T, C, Q, channel], H100e (FLOP/s)
    stock_tpp: np.ndarray  # float32 [T, C, Q], H100e (TPP)
    largest: np.ndarray  # float32 [T, C, Q], H100e (FLOP/s) of the largest firm located in c
    largest_site: np.ndarray  # uint8 [T, C, Q]: that firm is a hyperscaler site (headquartered in the US)
    flows: np.ndarray  # float32 [T, C, Q, flow]
    exhaust: np.ndarray  # int16 [T, C]
    nveu_exhaust: np.ndarray  # int16 [T, C]

    @classmethod
    def empty(cls, T: int, C: int, Q: int) -> Outputs:
        return cls(
            np.zeros((T, C, Q, len(L.CHANNELS)), np.float32),
            np.zeros((T, C, Q), np.float32),
            np.zeros((T, C, Q), np.float32),
            np.zeros((T, C, Q), np.uint8),
            np.zeros((T, C, Q, len(L.FLOWS)), np.float32),
            np.full((T, C), -1, np.int16),
            np.full((T, C), -1, np.int16),
        )

    def arrays(self) -> tuple:
        return (
            self.stock,
            self.stock_tpp,
            self.largest,
            self.largest_site,
            self.flows,
            self.exhaust,
            self.nveu_exhaust,
        )


def run_kernel(inputs, out: Outputs | None = None, start: int = 0, stop: int | None = None) -> Outputs:
    """Run the numba kernel for trials [start, stop) of ``inputs`` (a KernelInputs), writing into
    ``out`` (allocated for all trials when None). Trial i's numbers depend only on (seed, i)."""
    T, C, Q = inputs.params.shape[0], inputs.c_weight.shape[0], inputs.policy.shape[0]
    stop = T if stop is None else stop
    out = Outputs.empty(T, C, Q) if out is None else out
    args = list(inputs.kernel_args())
    args[1], args[2] = inputs.params[start:stop], inputs.quarterly[start:stop]
    k = [f.name for f in fields(inputs)].index("chip_h100e")
    args[k] = inputs.chip_h100e[start:stop]
    _allocate(start, *args, *(a[start:stop] for a in out.arrays()))
    return out
