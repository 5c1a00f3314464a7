"""A trial's setup and wrap-up (numba): its constants and accumulators, each quarter's opening and closing,
and the stocks with retirement after the last quarter. Called once per trial or quarter by allocate.py."""

from __future__ import annotations

import numpy as np
from numba import njit

from . import layout as L
from .primitives import _GOLDEN, _ITPP, _firm_weights, _mix, _size_table
from .structures import State, Trial

_MAX_LIFE = 1 << 20  # quarters: longer service lives are taken as this (the index stays an int)


@njit
def _whole(x, lo, hi):
    """The per-trial draw ``x`` (quarters) as a whole number in [lo, hi]: rounded half to even, NaN → lo.
    Every array index derived from a draw goes through here, so it is bounded by construction."""
    if not x >= lo:
        return lo
    if x >= hi:
        return hi
    return int(round(x))


@njit
def _trial_values(t, draws, firms, terr, chips, tables, consts):
    """Trial t's constants (a Trial): its stream, chip rates and inverses, order-size table, firm shares
    of demand and of the installed base (taken as H100-class chips), and its draws as used."""
    p = draws.params[t]
    h100e = draws.chip_h100e[t]
    wf = _firm_weights(firms, terr, p[L.P_SIZE_EXP])
    F = firms.country.shape[0]
    fshare = np.empty(F)
    firm_init = np.empty(F)
    weight = draws.weight[t]
    for f in range(F):
        c = firms.country[f]
        fshare[f] = weight[c] * wf[f]
        firm_init[f] = p[L.P_INSTALLED] * terr.init_share[c] * wf[f]
    tk = chips.tpp * _ITPP
    Q = draws.quarterly.shape[1]
    return Trial(
        t,
        _mix(consts.key ^ (np.uint64(draws.stream[t] + 1) * _GOLDEN)),  # the row's random stream
        h100e,
        tk,
        1.0 / tk,
        1.0 / h100e,
        1.0 / chips.supply,
        _size_table(p[L.P_ORDER_SIGMA], tables.ztab),
        fshare,
        wf,
        firm_init,
        _whole(p[L.P_DELAY], 0, Q),  # a delay of Q quarters or more: pending beyond the horizon
        _whole(p[L.P_LIFE], 1, _MAX_LIFE),
        _whole(p[L.P_SLIP], 0, tables.mix_prob.shape[0] - 1),  # roadmap delay: row of the chip-mix tables
        p[L.P_SUBST],
        p[L.P_HW_ABROAD],
        p[L.P_SMUGGLE],
        draws.chip_price[t],
        p[L.P_APPROVE],
        p[L.P_APPROVE_DENIAL],
        p[L.P_DIVERSION],
        p[L.P_CUT_GUIDANCE],
        p[L.P_CUT_LV],
        p[L.P_INSTALLED],
        _whole(p[L.P_WINDOW], 1, Q),
        p[L.P_INIT_CURRENT],
        draws.mfu[t],
        p[L.P_COLOC],
        draws.cluster_cap[t],
    )


@njit
def _new_state(tr, draws, firms, terr, chips, rules, consts):
    """Trial ``tr``'s accumulators, zero but for the UVEU bookkeeping: the installed base at the sites."""
    F, C, K, Q = firms.country.shape[0], terr.weight.shape[0], chips.tpp.shape[0], rules.policy.shape[0]
    H = firms.hs_hq_us.shape[0]
    st = State(
        np.zeros((Q, C, len(L.FLOWS))),
        np.zeros((Q, F, len(L.FAMILIES)), np.float32),
        np.zeros((Q, C, len(L.CHANNELS))),
        np.zeros((Q, C)),
        np.zeros((Q, C)),
        np.zeros((Q, C)),
        np.zeros((Q, C)),
        np.zeros((Q, C, len(L.FAMILIES))),
        np.zeros((Q, len(L.FAMILIES))),
        np.zeros((Q, C, len(L.FAMILIES))),
        np.zeros((Q, len(L.FAMILIES))),
        np.zeros((Q, C, draws.quarterly.shape[2] - L.QT_SUPPLY)),
        np.zeros((Q, C, draws.quarterly.shape[2] - L.QT_SUPPLY)),
        np.zeros(C),
        np.zeros(C),
        np.zeros((F, L.FS_COLUMNS)),
        np.zeros(draws.quarterly.shape[2] - L.QT_SUPPLY),
        np.empty((K, C), np.int8),
        np.empty(C),
        np.zeros(H),
        np.zeros(H),
        np.zeros(F),
        np.zeros(F),
        np.zeros(C),
        np.zeros(C),
        np.zeros(C),
        np.zeros(K),
        np.zeros(K),
    )
    for f in range(F):
        h = firms.hs[f]
        if h >= 0:
            x = tr.firm_init[f]
            st.hs_tot[h] += x
            st.site_cum[f] += x
            if firms.country[f] != consts.us_index:
                st.hs_out_us[h] += x
    return st


@njit
def _open_quarter(st, tr, q, draws, firms, terr, chips, rules, m):
    """Start quarter q: licensed deliveries due now, the vendors' supply, the firms' expected order sizes and
    what waited a quarter, the effective policy per chip and territory, the diversion shares. Returns the
    quarter's smuggling capacity (H100e) and the share of refused demand smugglers serve (the trial's take-up,
    cut by diversion guidance anywhere and by location verification)."""
    t = tr.t
    if rules.year_start[q] == 1:
        st.lpp_used[:] = 0.0
    for c in range(st.pend.shape[0]):
        st.flows[q, c, L.FL_SHIPPED] += st.due[q, c]
        st.pend[c] -= st.due[q, c]
        st.backlog[c] = 0.0
    for v in range(st.supply.shape[0]):
        st.supply[v] = draws.quarterly[t, q, L.QT_SUPPLY + v]
    dq = draws.quarterly[t, q, L.QT_DEMAND]
    fs = st.firm
    for f in range(fs.shape[0]):  # the firm's share of world demand, and of its territory's contracted demand
        fs[f, L.FS_EXPECTED] = (dq * tr.fshare[f] + rules.demand_add[q, firms.country[f]] * tr.wf[f]) / m
    for f in range(fs.shape[0]):
        fs[f, L.FS_WAITING] = fs[f, L.FS_BACKLOG] / m
        fs[f, L.FS_BACKLOG] = 0.0
    for k in range(st.pol.shape[0]):  # a chip-specific rule, else the destination's policy for the class
        cls = rules.chip_class[q, k]
        for c in range(st.pol.shape[1]):
            pol = rules.chip_override[q, k, c]
            st.pol[k, c] = pol if pol >= 0 else (L.FREE if cls == 0 else rules.policy[q, c, cls - 1])
    for c in range(st.dshare.shape[0]):
        st.dshare[c] = 0.0
        if terr.group[c] == L.GROUP_WORLD:
            st.dshare[c] = min(
                1.0,
                terr.div[c]
                * tr.div_mult
                * (1.0 - tr.cut_g * rules.guidance_on[q, c])
                * (1.0 - tr.cut_lv * rules.lv_on[q]),
            )
    guided = 0
    for c in range(rules.guidance_on.shape[1]):
        guided |= rules.guidance_on[q, c]
    smug = min(1.0, tr.smug * (1.0 - tr.cut_g * guided) * (1.0 - tr.cut_lv * rules.lv_on[q]))
    return draws.quarterly[t, q, L.QT_GREY], smug


@njit
def _close_quarter(st, q):
    """End quarter q: the firms' deliveries of the quarter by chip family, and the stocks of pending, backlog
    and used allocation."""
    fs, add = st.firm, st.firm_add[q]
    for f in range(fs.shape[0]):
        for j in range(add.shape[1]):
            add[f, j] += fs[f, L.FS_DELIVERED + j]
            fs[f, L.FS_DELIVERED + j] = 0.0
    for c in range(st.pend.shape[0]):
        st.flows[q, c, L.FL_PENDING] = st.pend[c]
        st.flows[q, c, L.FL_BACKLOG] = st.backlog[c]
        st.flows[q, c, L.FL_CAP_USED] = st.cap_used[c]


@njit
def _in_service(add, c, life, dest):
    """Stock in service per quarter and column of territory c: ``add`` [Q, C, K] is what arrived by quarter,
    retired ``life`` quarters later; written to ``dest`` [Q, K]."""
    for k in range(add.shape[2]):
        run = 0.0
        for q in range(add.shape[0]):
            run += add[q, c, k]
            if q >= life:
                run -= add[q - life, c, k]
            dest[q, k] = run


@njit
def _finish(st, tr, firms, terr, consts, out):
    """After the last quarter: diverted chips reach the diversion destination (its stock, and its firms in
    proportion to demand); stocks with retirement (the initial base retires linearly over a service life,
    shipments after one), also by chip family; the largest firm per territory; the flows, to row t of ``out``."""
    t, life = tr.t, tr.life
    Q, C = st.flows.shape[0], st.flows.shape[1]
    dd = consts.div_dest
    div_q = np.zeros(Q)
    for c in range(C):
        for q in range(Q):
            st.flows[q, c, L.FL_DIVERTED_OUT] = st.dv[q, c]
            div_q[q] += st.dv[q, c]
            st.c_tpp[q, dd] += st.dv_tpp[q, c]
    for q in range(Q):
        st.flows[q, dd, L.FL_DIVERTED_IN] = div_q[q]
        st.c_add[q, dd, L.CH_DIVERTED] += div_q[q]
        for j in range(st.dv_f.shape[1]):
            st.f_add[q, dd, j] += st.dv_f[q, j]
            st.u_add[q, dd, j] += st.dv_u[q, j]
    for c in range(C):
        for q in range(Q):
            for v in range(st.rev.shape[2]):
                out.revenue[t, c, q, v] = st.rev[q, c, v]
                out.refused[t, c, q, v] = st.refv[q, c, v]
    for c in range(C):
        out.nveu_used[t, c] = st.nveu_used[c]
        out.allow_used[t, c] = st.allow_used[c]
    for c in range(C):
        init_c = tr.installed * terr.init_share[c]
        _in_service(st.c_add, c, life, out.stock[t, c])
        _in_service(st.f_add, c, life, out.family[t, c])
        _in_service(st.u_add, c, life, out.units[t, c])
        run = 0.0
        for q in range(Q):
            left_init = max(0.0, 1.0 - (q + 1.0) / life)
            out.stock[t, c, q, L.CH_INITIAL] = init_c * left_init
            run += st.c_tpp[q, c]
            if q >= life:
                run -= st.c_tpp[q - life, c]
            out.stock_tpp[t, c, q] = run + init_c * left_init
            for fl in range(st.flows.shape[2]):
                out.flows[t, c, q, fl] = st.flows[q, c, fl]
    dfirms = firms.div_firms
    cn_tot = 0.0
    for i in range(dfirms.shape[0]):
        cn_tot += tr.fshare[dfirms[i]]
    for i in range(dfirms.shape[0]):
        g = dfirms[i]
        for q in range(Q):
            for j in range(st.dv_f.shape[1]):
                st.firm_add[q, g, j] += st.dv_f[q, j] * (tr.fshare[g] / cn_tot)
    _firms_at_end(st, tr, firms, out)


@njit
def _firms_at_end(st, tr, firms, out):
    """Per firm and quarter, with retirement: its stock, for the largest firm per territory; and its largest
    cluster, the co-located share of its chips of one family delivered within the build window (or of the
    current generation of its initial base, taken as NVIDIA parts) up to the largest site that quarter can
    hold, raw and × the family's MFU, for the largest cluster and trainable run by
    location and by headquarters. Quarter by quarter over all firms, so the deliveries stream from memory."""
    t, life, Q = tr.t, tr.life, st.firm_add.shape[0]
    F, J = st.firm_add.shape[1], st.firm_add.shape[2]
    win = min(tr.window, life)
    run = np.zeros(F)
    w = np.zeros((F, J))
    out.largest[t] = 0.0
    out.largest_site[t] = 0
    out.cluster[t] = 0.0
    out.run_loc[t] = 0.0
    out.run_hq[t] = 0.0
    for q in range(Q):
        left = max(0.0, 1.0 - (q + 1.0) / life)
        add = st.firm_add[q]
        for f in range(F):
            wf = w[f]
            for j in range(J):
                run[f] += add[f, j]
                wf[j] += add[f, j]
        if q >= life:
            gone = st.firm_add[q - life]
            for f in range(F):
                for j in range(J):
                    run[f] -= gone[f, j]
        if q >= win:
            old = st.firm_add[q - win]
            for f in range(F):
                wf = w[f]
                for j in range(J):
                    wf[j] -= old[f, j]
        for f in range(F):
            c = firms.country[f]
            x = run[f] + tr.firm_init[f] * left
            if x < L.TINY_H100E:  # a retired window's rounding residue is no stock (it would pick the firm)
                x = 0.0
            if x > out.largest[t, c, q]:
                out.largest[t, c, q] = x
                out.largest_site[t, c, q] = 1 if firms.hs[f] >= 0 else 0
            cap = tr.cap[q]
            big = min(tr.firm_init[f] * tr.init_current * left * tr.coloc, cap)  # the initial current generation
            eff = big * tr.mfu[L.FAM_NVIDIA]
            wf = w[f]
            for j in range(J):
                site = min(wf[j] * tr.coloc, cap)
                if site > big:
                    big = site
                if site * tr.mfu[j] > eff:
                    eff = site * tr.mfu[j]
            if big > out.cluster[t, c, q]:
                out.cluster[t, c, q] = big
            if eff > out.run_loc[t, c, q]:
                out.run_loc[t, c, q] = eff
            hq = firms.hq[f]
            if eff > out.run_hq[t, hq, q]:
                out.run_hq[t, hq, q] = eff
