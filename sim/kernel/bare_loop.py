"""(D) The practical speed limit of the kernel: a bare numba loop over the same orders, with no rules.

Per trial and quarter it walks the same arrival slots through the same keyed Feistel permutation, takes
the same 64-bit splitmix64 draw per order (keyed by seed, trial, quarter, order), sizes the order as the
kernel does (firm share × log-normal noise from the same table), checks one cap per order and touches
the output cells a licence-free shipment touches in the kernel: ordered and shipped flows of the
territory, its stock (one channel, in H100e and by TPP) and the firm's deliveries, which give the
largest firm per territory and quarter after the loop. Without substitute purchases (e.g. no_controls)
its ordered flow equals the kernel's, which shows the draws are the same. What it leaves out is the
rules: the chip choice, the policy lookups, supply, allocations, allowances, diversion, the grey market.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from . import layout as L
from .allocate import Outputs

# the kernel's own generator and arrival order, so D draws exactly the same numbers as A
from .primitives import _GOLDEN, _domain, _firm_weights, _mix, _order_draw, _quarter_keys, _shift, _size_table  # noqa: E402


@njit(parallel=True, cache=True)
def _bare(
    trial0,
    key,
    params,
    quarterly,
    firm_country,
    firm_rank,
    firm_site_share,
    c_weight,
    c_dom_share,
    alloc,
    ztab,
    m,
    stock,
    stock_tpp,
    largest,
    flows,
    hits,
):
    T = params.shape[0]
    F = firm_country.shape[0]
    C = c_weight.shape[0]
    Q = alloc.shape[0]
    N = F * m
    dom = _domain(N)  # arrival-order permutation domain
    for t in prange(T):
        p = params[t]
        s_exp = p[L.P_SIZE_EXP]
        sigma = p[L.P_ORDER_SIGMA]
        etab = _size_table(sigma, ztab)
        mshift = _shift(m)
        tkey = _mix(key ^ (np.uint64(trial0 + t + 1) * _GOLDEN))
        wf = _firm_weights(firm_country, firm_rank, firm_site_share, c_dom_share, s_exp, C)
        fshare = np.empty(F)
        for f in range(F):
            fshare[f] = c_weight[firm_country[f]] * wf[f]
        tf = np.zeros((Q, C, 2))  # ordered, shipped: the flows every order touches
        c_add = np.zeros((Q, C, 2))  # stock added (licence-free channel), in H100e and H100e by TPP
        firm_add = np.zeros((Q, F))
        fst = np.zeros(F)  # the firm's deliveries this quarter
        n_hit = 0
        for q in range(Q):
            dq = quarterly[t, q, L.QT_DEMAND]
            keys = _quarter_keys(tkey, q)
            qbase = np.uint64(q) * np.uint64(N)
            for s in range(N):
                po, u = _order_draw(s, N, dom, keys, tkey, qbase)
                f = po >> mshift if mshift >= 0 else po // m
                c = firm_country[f]
                base = dq * fshare[f] / m * etab[np.int64((u >> np.uint64(16)) & np.uint64(4095))]
                tf[q, c, 0] += base
                if c_add[q, c, 1] * L.H100_TPP > alloc[q, c]:  # one cap check per order
                    n_hit += 1
                tf[q, c, 1] += base  # shipped as if licence-free, one H100e per H100e
                c_add[q, c, 0] += base
                c_add[q, c, 1] += base
                fst[f] += base
            for f in range(F):
                firm_add[q, f] = fst[f]
                fst[f] = 0.0
        for c in range(C):  # the same output cells as the kernel: flows, stocks, largest firm
            run = 0.0
            run_t = 0.0
            for q in range(Q):
                flows[t, c, q, L.FL_ORDERED] = tf[q, c, 0]
                flows[t, c, q, L.FL_SHIPPED] = tf[q, c, 1]
                run += c_add[q, c, 0]
                run_t += c_add[q, c, 1]
                stock[t, c, q, L.CH_FREE] = run
                stock_tpp[t, c, q] = run_t
        for f in range(F):
            c = firm_country[f]
            run = 0.0
            for q in range(Q):
                run += firm_add[q, f]
                if run > largest[t, c, q]:
                    largest[t, c, q] = run
        hits[t] = n_hit


def run_bare(inputs, out: Outputs | None = None, start: int = 0, stop: int | None = None) -> tuple[Outputs, np.ndarray]:
    """Run the bare loop for trials [start, stop); returns the outputs (flows ordered and shipped, the
    licence-free stock channel, stock by TPP, largest firm: every order is booked as a licence-free
    shipment) and the number of orders per trial that found their territory's cap exceeded."""
    T, C, Q = inputs.params.shape[0], inputs.c_weight.shape[0], inputs.policy.shape[0]
    stop = T if stop is None else stop
    out = Outputs.empty(T, C, Q) if out is None else out
    hits = np.zeros(T, np.int64)
    _bare(
        start,
        inputs.key,
        inputs.params[start:stop],
        inputs.quarterly[start:stop],
        inputs.firm_country,
        inputs.firm_rank,
        inputs.firm_site_share,
        inputs.c_weight,
        inputs.c_dom_share,
        inputs.alloc,
        inputs.ztab,
        inputs.m,
        out.stock[start:stop],
        out.stock_tpp[start:stop],
        out.largest[start:stop],
        out.flows[start:stop],
        hits[start:stop],
    )
    return out, hits
