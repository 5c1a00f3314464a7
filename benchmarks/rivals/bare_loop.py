"""(D) The practical speed limit of the kernel: a bare numba loop over the same orders, with no rules.

Per trial and quarter it walks the same arrival slots through the same keyed Feistel permutation, takes
the same 64-bit splitmix64 draw per order (keyed by seed, trial, quarter, order), sizes the order as the
kernel does (firm share × log-normal noise from the same table), checks one cap per order and touches
the output cells a licence-free shipment touches in the kernel: ordered and shipped flows of the
territory, its stock (one channel, in H100e and by TPP) and the firm's deliveries, which give the
largest firm per territory and quarter after the loop. Without substitute purchases (e.g. no_controls)
its ordered flow equals the kernel's, which shows the draws are the same. What it leaves out is the
rules: the chip choice, the policy lookups, supply, allocations, allowances, diversion, the grey market.

Its numba cache is keyed like the kernel's (sim.kernel.cache): on every kernel module and this file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numba import njit, prange

from sim.kernel import layout as L
from sim.kernel.allocate import check_inputs
from sim.kernel.cache import keyed

# the kernel's own generator and arrival order, so D draws exactly the same numbers as A
from sim.kernel.primitives import (
    _GOLDEN,
    _domain,
    _firm_weights,
    _mix,
    _order_draw,
    _quarter_keys,
    _shift,
    _size_factor,
    _size_table,
)
from sim.kernel.structures import KernelInputs, Outputs


@njit(cache=True)
def _bare_trial(t, draws, firms, terr, rules, tables, consts, out, hits):
    """Trial t: every order through the same draws as the kernel, booked as a licence-free shipment."""
    F = firms.country.shape[0]
    C = terr.weight.shape[0]
    Q = rules.alloc.shape[0]
    m = consts.m
    N = F * m
    dom = _domain(N)  # arrival-order permutation domain
    country, alloc = firms.country, rules.alloc  # the order loop reads locals (no reference counts per order)
    p = draws.params[t]
    etab = _size_table(p[L.P_ORDER_SIGMA], tables.ztab)
    mshift = _shift(m)
    tkey = _mix(consts.key ^ (np.uint64(draws.stream[t] + 1) * _GOLDEN))
    wf = _firm_weights(firms, terr, p[L.P_SIZE_EXP])
    fshare = np.empty(F)
    for f in range(F):
        fshare[f] = draws.weight[t, country[f]] * wf[f]
    tf = np.zeros((Q, C, 2))  # ordered, shipped: the flows every order touches
    c_add = np.zeros((Q, C, 2))  # stock added (licence-free channel), in H100e and H100e by TPP
    firm_add = np.zeros((Q, F))
    fst = np.zeros(F)  # the firm's deliveries this quarter
    n_hit = 0
    for q in range(Q):
        dq = draws.quarterly[t, q, L.QT_DEMAND]
        keys = _quarter_keys(tkey, q)
        qbase = np.uint64(q) * np.uint64(N)
        for s in range(N):
            po, u = _order_draw(s, N, dom, keys, tkey, qbase)
            f = po >> mshift if mshift >= 0 else po // m
            c = country[f]
            base = (dq * fshare[f] + rules.demand_add[q, c] * wf[f]) / m * _size_factor(etab, u)
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
            out.flows[t, c, q, L.FL_ORDERED] = tf[q, c, 0]
            out.flows[t, c, q, L.FL_SHIPPED] = tf[q, c, 1]
            run += c_add[q, c, 0]
            run_t += c_add[q, c, 1]
            out.stock[t, c, q, L.CH_FREE] = run
            out.stock_tpp[t, c, q] = run_t
    for f in range(F):
        c = country[f]
        run = 0.0
        for q in range(Q):
            run += firm_add[q, f]
            if run > out.largest[t, c, q]:
                out.largest[t, c, q] = run
    hits[t] = n_hit


@njit(parallel=True, cache=True)
def _bare(draws, firms, terr, rules, tables, consts, out, hits):
    # the trial's body is a function, as in the kernel: numba (0.68) loses writes made through a
    # NamedTuple's arrays directly in a prange body
    for t in prange(draws.params.shape[0]):
        _bare_trial(np.int64(t), draws, firms, terr, rules, tables, consts, out, hits)


keyed(_bare_trial, Path(__file__))
keyed(_bare, Path(__file__))


def run_bare(
    inputs: KernelInputs, out: Outputs | None = None, start: int = 0, stop: int | None = None
) -> tuple[Outputs, np.ndarray]:
    """Run the bare loop for trials [start, stop); returns the outputs (flows ordered and shipped, the
    licence-free stock channel, stock by TPP, largest firm: every order is booked as a licence-free
    shipment) and the number of orders per trial that found their territory's cap exceeded."""
    T, C, Q = inputs.shape
    stop = T if stop is None else stop
    out = Outputs.empty(T, C, Q) if out is None else out
    check_inputs(inputs, out)
    hits = np.zeros(T, np.int64)
    inp = inputs.plain()
    with np.errstate(over="ignore"):
        _bare(
            inp.draws.slice(start, stop),
            inp.firms,
            inp.terr,
            inp.rules,
            inp.tables,
            inp.consts.typed(),
            out.slice(start, stop),
            hits[start:stop],
        )
    return out, hits
