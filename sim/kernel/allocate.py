"""The Monte Carlo kernel (numba): every order of every firm, quarter and trial through a regime's rules.

``run_kernel(inputs, out, start, stop)`` runs trials [start, stop) of a ``KernelInputs`` with ``prange``
over trials. The kernel takes the input groups of structures.py (Draws, Firms, Territories, Chips, Rules,
Tables, Consts) and writes ``Outputs``, per trial t, territory c, quarter q: ``stock[t, c, q, channel]``
and ``largest[t, c, q]`` (largest single firm's stock located in c) in H100e by dense 16-bit FLOP/s,
``stock_tpp[t, c, q]`` in H100e by TPP, ``family[t, c, q, family]`` (stock by chip family, layout.FAMILIES),
``flows[t, c, q, flow]`` (layout.FLOWS), ``exhaust[t, c]`` and
``nveu_exhaust[t, c]`` (first quarter the national allocation / an NVEU allocation is used up, -1 if never),
and training clusters (each firm's deliveries are kept by chip family): ``cluster[t, c, q]``, the largest
firm cluster located in c (the co-located share of one family's chips delivered within the trial's build
window, or of the current generation of the initial base, up to the largest site: ``Draws.cluster_cap``),
and ``run_loc`` / ``run_hq`` (that cluster × its family's MFU, over firms located in c / headquartered in c).

Orders are generated inside the kernel, never stored: in quarter q, slot s in [0, F·m) is mapped by a
keyed Feistel bijection (random arrival order) to order p = firm·m + k, and every random decision of
order p is taken from one 64-bit counter-based draw keyed by (seed, trial, quarter, p) (bit fields:
layout.U_*). An order thus owns fixed random-draw slots, so two regimes run with one seed see the same
demand (common random numbers), and a trial's numbers depend only on (seed, trial) whatever the thread
count or block of trials.

Volumes are in H100e (dense 16-bit FLOP/s); rule quantities in H100e by TPP (TPP / 15,832); vendor supply
in H100e of capacity (``Chips.supply``). The installed base at the start is taken as H100-class chips.
Every array index is bounded: indices from per-trial draws by construction (trial._whole), indices from
the inputs by ``check_inputs`` before the kernel runs.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from . import layout as L
from .cache import keyed
from .primitives import (
    _ITPP,
    _abroad_draw,
    _chip_choice,
    _domain,
    _licence_draw,
    _order_draw,
    _quarter_keys,
    _shift,
    _size_factor,
)
from .shipping import _refuse, _ship
from .structures import KernelInputs, Order, Outputs
from .trial import _close_quarter, _finish, _new_state, _open_quarter, _trial_values

__all__ = ["KernelInputs", "Outputs", "check_inputs", "run_kernel"]


@njit(inline="always")
def _capped(st, o, n, left, u_lic, tr, t, firms, rules, out):
    """An order of ``n`` chips to a capped destination: UVEU (within the hyperscaler's shares), then NVEU
    (within the territory's NVEU allocation), then LPP (the consignee's yearly allowance), then licences
    against the national allocation, denied beyond it. Returns ``left`` plus the chips the vendor could
    not supply."""
    f, c, q = o.f, o.c, o.q
    nu = 0.0
    lim = rules.uveu_lim  # [Q, 3]: the UVEU share limits (columns layout.UV_*)
    h = o.h
    if h >= 0 and firms.hs_uveu[h] == 1 and lim[q, L.UV_OUTSIDE_TIER1] > 0.0 and rules.tier1[q, c] == 0:
        out_t1 = 0.0  # the hyperscaler's controlled chips outside Tier-1 territories
        for j in range(firms.hs_start[h], firms.hs_start[h + 1]):
            if rules.tier1[q, firms.country[firms.hs_sites[j]]] == 0:
                out_t1 += st.site_cum[firms.hs_sites[j]]
        tot = st.hs_tot[h]
        room = (lim[q, L.UV_OUTSIDE_TIER1] * tot - out_t1) / (1.0 - lim[q, L.UV_OUTSIDE_TIER1])
        room = min(room, (lim[q, L.UV_ONE_TERRITORY] * tot - st.site_cum[f]) / (1.0 - lim[q, L.UV_ONE_TERRITORY]))
        if firms.hs_hq_us[h] == 1 and o.abroad:
            room = min(room, (lim[q, L.UV_OUTSIDE_US] * tot - st.hs_out_us[h]) / (1.0 - lim[q, L.UV_OUTSIDE_US]))
        nu = min(n, max(room, 0.0) * o.itk)
    nn = 0.0
    if firms.nveu[f] == 1 and rules.nveu_cap[q] > 0.0:
        nn = min(n - nu, max(rules.nveu_cap[q] * _ITPP - st.nveu_used[c], 0.0) * o.itk)
        if n - nu - nn > 0.0 and out.nveu_exhaust[t, c] < 0:
            out.nveu_exhaust[t, c] = q
    nl = 0.0
    if rules.lpp[q] > 0.0:
        nl = min(n - nu - nn, max(rules.lpp[q] * _ITPP - st.lpp_used[firms.parent[f]], 0.0) * o.itk)
    nc = min(n - nu - nn - nl, max(rules.alloc[q, c] * _ITPP - st.cap_used[c], 0.0) * o.itk)
    over = n - nu - nn - nl - nc
    if over > 0.0:  # policy of denial beyond the allocation
        st.flows[q, c, L.FL_DENIED] += over * o.hk
        st.refv[q, c, o.v] += over * o.price
        st.flows[q, c, L.FL_UNMET] += over * o.hk
        if out.exhaust[t, c] < 0:
            out.exhaust[t, c] = q
    if nc > 0.0 and u_lic >= tr.p_app:  # licence refused under a presumption of approval
        st.flows[q, c, L.FL_DENIED] += nc * o.hk
        st.refv[q, c, o.v] += nc * o.price
        st.flows[q, c, L.FL_UNMET] += nc * o.hk
        nc = 0.0
    for part in range(4):  # UVEU, NVEU, LPP, licensed: one shipping step for the four, in this order
        if part == 0:
            req, qd, ch = nu, q, L.CH_VEU
        elif part == 1:
            req, qd, ch = nn, q, L.CH_VEU
        elif part == 2:
            req, qd, ch = nl, q, L.CH_FREE
        else:
            req, qd, ch = nc, q + tr.delay, L.CH_LICENSED
        x = _ship(st, o, req, qd, ch, 1.0)
        if part == 1:
            st.nveu_used[c] += x * o.tk
        elif part == 2:
            st.lpp_used[firms.parent[f]] += x * o.tk
            st.flows[q, c, L.FL_LPP] += x * o.hk
        elif part == 3:
            st.cap_used[c] += x * o.tk
        left += req - x
    return left


# The order loop runs without numba's reference counting (``_nrt=False``, an option numba uses for its own
# kernels): it allocates nothing, and the reference counts numba would keep on every array it reads from
# the structures (it copies them into each inlined helper) cost more than the rules themselves.
@njit(_nrt=False)
def _orders(st, tr, q, grey, smug, firms, terr, chips, rules, tables, consts, out):
    """Every order of quarter q of trial ``tr``, in random arrival order, first come first served. ``grey``:
    the quarter's smuggling capacity (H100e); ``smug``: the share of refused demand smugglers serve."""
    t = tr.t
    m = consts.m
    N = firms.country.shape[0] * m  # orders per quarter
    dom = _domain(N)  # arrival-order permutation domain
    mshift = _shift(m)
    keys = _quarter_keys(tr.tkey, q)
    qbase = np.uint64(q) * np.uint64(N)
    for s in range(N):
        po, u = _order_draw(s, N, dom, keys, tr.tkey, qbase)
        f = po >> mshift if mshift >= 0 else po // m
        c = firms.country[f]
        base = st.firm[f, L.FS_EXPECTED] * _size_factor(tr.etab, u)
        st.flows[q, c, L.FL_ORDERED] += base
        old = st.firm[f, L.FS_WAITING]  # volume that already waited a quarter for supply
        vol = base + old
        g = firms.mix[f]
        if terr.hw_abroad[c] == 1 and firms.hs[f] < 0 and _abroad_draw(u) < tr.hw_share:
            g = consts.g_abroad  # a buyer of Huawei's sales abroad
        k = _chip_choice(u, tables, tr.slip, g, q)
        v = chips.vendor[k]
        o = Order(
            f,
            c,
            q,
            firms.hs[f],
            c != consts.us_index,
            terr.group[c],
            v,
            chips.family[k],
            tr.price[k],
            tr.h100e[k],
            tr.tk[k],
            tr.itk[k],
            chips.supply[k],
            tr.isk[k],
            st.dshare[c] if rules.divertible[q, k] == 1 else 0.0,  # share diverted to Tier-3 buyers
        )
        n = vol * tr.ihk[k]
        cls = rules.chip_class[q, k]
        pol = st.pol[k, c]
        u_lic = _licence_draw(u)
        book = 1.0 if cls != 0 else 0.0  # controlled chips count toward UVEU shares
        left = 0.0  # chips the rules let through but the vendor cannot supply
        if cls != 0 and rules.allow_tpp[q, c] > 0.0 and pol != L.PROHIBITED and pol != L.FREE and pol != L.EMBARGO:
            na = min(n, max(rules.allow_tpp[q, c] * _ITPP - st.allow_used[c], 0.0) * o.itk)  # bilateral deals
            x = _ship(st, o, na, q, L.CH_LICENSED, 1.0)
            st.allow_used[c] += x * o.tk
            left += na - x
            n -= na
        if n <= 0.0:
            pass
        elif pol == L.FREE or (pol == L.LICENCE and u_lic < tr.p_app) or (pol == L.DENY and u_lic < tr.p_app_den):
            if pol == L.FREE:  # ships now; a China-only vendor's chips to Chinese buyers count as domestic
                qd = q
                ch = L.CH_DOMESTIC if chips.vendor_china_only[v] == 1 and o.grp == L.GROUP_CHINA else L.CH_FREE
            else:  # licence approved: delivered after the licence delay
                qd = q + tr.delay
                ch = L.CH_LICENSED
            x = _ship(st, o, n, qd, ch, book)
            if pol == L.FREE and not o.abroad and rules.share_chip[q, k] == 1:
                st.share_us[k] += x * o.hk  # US customers' volume of the chip, for 'licence_share'
            left += n - x
        elif pol == L.LICENCE or pol == L.PROHIBITED:
            st.flows[q, c, L.FL_DENIED] += n * o.hk
            st.flows[q, c, L.FL_UNMET] += n * o.hk
            st.refv[q, c, v] += n * o.price
        elif pol == L.LICENCE_SHARE or pol == L.DENY or pol == L.EMBARGO:
            refused = n
            if pol == L.LICENCE_SHARE:  # case by case, within a share of US customers' volume of the chip
                ns = min(n, max(rules.share_ratio[q] * st.share_us[k] - st.share_used[k], 0.0) / o.hk)
                if u_lic >= tr.p_app:
                    ns = 0.0  # the licence is refused
                if ns > 0.0:
                    x = _ship(st, o, ns, q + tr.delay, L.CH_LICENSED, book)
                    st.share_used[k] += x * o.hk
                    left += ns - x
                refused = n - ns
            if refused > 0.0:  # smugglers, then substitutes
                grey = _refuse(st, o, refused, grey, smug, tr, chips, rules)
        else:
            left = _capped(st, o, n, left, u_lic, tr, t, firms, rules, out)
        if left > 0.0:  # the vendor is sold out: the rest waits a quarter, what already waited lapses
            lv = left * o.hk
            lapsed = lv * (old / vol)
            st.flows[q, c, L.FL_LAPSED] += lapsed
            st.firm[f, L.FS_BACKLOG] += lv - lapsed
            st.backlog[c] += lv - lapsed


@njit(cache=True)
def _trial(t, draws, firms, terr, chips, rules, tables, consts, out):
    """Trial t (a row of ``draws`` and ``out``), quarter by quarter."""
    tr = _trial_values(t, draws, firms, terr, chips, tables, consts)
    st = _new_state(tr, draws, firms, terr, chips, rules, consts)
    for q in range(rules.policy.shape[0]):
        grey, smug = _open_quarter(st, tr, q, draws, firms, terr, chips, rules, consts.m)
        _orders(st, tr, q, grey, smug, firms, terr, chips, rules, tables, consts, out)
        _close_quarter(st, q)
    _finish(st, tr, firms, terr, consts, out)


@njit(parallel=True, cache=True)
def _allocate(draws, firms, terr, chips, rules, tables, consts, out):
    # The trial's body is a function: numba (0.68) loses writes made through a NamedTuple's arrays directly
    # in a prange body. The index gets one type (parfors may retype it), so _trial compiles once.
    for t in prange(draws.params.shape[0]):
        _trial(np.int64(t), draws, firms, terr, chips, rules, tables, consts, out)


keyed(_trial)
keyed(_allocate)


def check_inputs(inputs: KernelInputs, out: Outputs) -> None:
    """Raise ValueError unless every shape agrees and every index the kernel reads from the inputs is in
    range (numba does not check bounds: a bad index would read or write outside an array)."""
    T, C, Q = inputs.shape
    d, fi, ch, ru, tb = inputs.draws, inputs.firms, inputs.chips, inputs.rules, inputs.tables
    F, K, V, H = fi.country.shape[0], ch.tpp.shape[0], ch.vendor_china_only.shape[0], fi.hs_hq_us.shape[0]
    S, G = tb.mix_prob.shape[:2]
    shapes = {
        "draws.params": (d.params.shape, (T, len(L.PARAMS))),
        "draws.quarterly": (d.quarterly.shape, (T, Q, L.QT_SUPPLY + V)),
        "draws.chip_h100e": (d.chip_h100e.shape, (T, K)),
        "draws.weight": (d.weight.shape, (T, C)),
        "draws.chip_price": (d.chip_price.shape, (T, K)),
        "draws.mfu": (d.mfu.shape, (T, len(L.FAMILIES))),
        "draws.cluster_cap": (d.cluster_cap.shape, (T, Q)),
        "rules.demand_add": (ru.demand_add.shape, (Q, C)),
        "firms.hs_start": (fi.hs_start.shape, (H + 1,)),
        "tables.mix_prob": (tb.mix_prob.shape, (S, G, Q, K)),
        "tables.mix_alias": (tb.mix_alias.shape, (S, G, Q, K)),
        "tables.ztab": (tb.ztab.shape, (1 << L.ZTAB_BITS,)),
        "rules.chip_override": (ru.chip_override.shape, (Q, K, C)),
        "out.stock": (out.stock.shape[1:], (C, Q, len(L.CHANNELS))),
        "out.flows": (out.flows.shape[1:], (C, Q, len(L.FLOWS))),
        "out.stock_tpp": (out.stock_tpp.shape[1:], (C, Q)),
        "out.largest": (out.largest.shape[1:], (C, Q)),
        "out.largest_site": (out.largest_site.shape[1:], (C, Q)),
        "out.family": (out.family.shape[1:], (C, Q, len(L.FAMILIES))),
        "out.units": (out.units.shape[1:], (C, Q, len(L.FAMILIES))),
        "out.revenue": (out.revenue.shape[1:], (C, Q, len(L.VENDORS))),
        "out.refused": (out.refused.shape[1:], (C, Q, len(L.VENDORS))),
        "out.cluster": (out.cluster.shape[1:], (C, Q)),
        "out.run_loc": (out.run_loc.shape[1:], (C, Q)),
        "out.run_hq": (out.run_hq.shape[1:], (C, Q)),
        "chips.vendor_china_only": (ch.vendor_china_only.shape, (len(L.VENDORS),)),
        "rules.share_chip": (ru.share_chip.shape, (Q, K)),
        "rules.divertible": (ru.divertible.shape, (Q, K)),
        "rules.chip_class": (ru.chip_class.shape, (Q, K)),
        "rules.policy": (ru.policy.shape, (Q, C, 2)),
    }
    for name in ("exhaust", "nveu_exhaust", "nveu_used", "allow_used"):
        shapes[f"out.{name}"] = (getattr(out, name).shape[1:], (C,))
    for name, a in out._asdict().items():  # every output holds the trials the kernel writes
        if a.shape[0] < T:
            raise ValueError(f"kernel inputs: out.{name} has {a.shape[0]} trials, expected at least {T}")
    for name, (got, want) in shapes.items():
        if tuple(got) != tuple(want):
            raise ValueError(f"kernel inputs: {name} has shape {tuple(got)}, expected {tuple(want)}")
    for g, n in (("firms", F), ("terr", C), ("chips", K), ("rules", Q)):
        for name, a in getattr(inputs, g)._asdict().items():
            if g in ("firms", "chips") and (name.startswith("hs_") or name in ("div_firms", "vendor_china_only")):
                continue
            if a.shape[0] != n:
                raise ValueError(f"kernel inputs: {g}.{name} has {a.shape[0]} rows, expected {n}")
    bounds = {  # index arrays: name → (array, smallest allowed, one past the largest)
        "firms.country": (fi.country, 0, C),
        "firms.parent": (fi.parent, 0, F),
        "firms.hs": (fi.hs, -1, H),
        "firms.mix": (fi.mix, 0, G),
        "firms.hs_sites": (fi.hs_sites, 0, F),
        "firms.hs_start": (fi.hs_start, 0, fi.hs_sites.shape[0] + 1),
        "firms.div_firms": (fi.div_firms, 0, F),
        "firms.hq": (fi.hq, 0, C),
        "chips.vendor": (ch.vendor, 0, V),
        "chips.family": (ch.family, 0, len(L.FAMILIES)),
        "consts.g_abroad": (np.asarray(inputs.consts.g_abroad), -1, G),
        "rules.chip_class": (ru.chip_class, 0, ru.policy.shape[2] + 1),
        "rules.fallback": (ru.fallback, -1, K),
        "tables.mix_alias": (tb.mix_alias, 0, K),
        "consts.div_dest": (np.asarray(inputs.consts.div_dest), 0, C),
        "consts.us_index": (np.asarray(inputs.consts.us_index), 0, C),
    }
    for name, (a, lo, hi) in bounds.items():
        if a.size and (a.min() < lo or a.max() >= hi):
            raise ValueError(f"kernel inputs: {name} has values outside [{lo}, {hi - 1}]")
    if inputs.terr.hw_abroad.any() and inputs.consts.g_abroad < 0:
        raise ValueError("kernel inputs: terr.hw_abroad names buyers of Huawei abroad but consts.g_abroad is -1")


def run_kernel(inputs: KernelInputs, out: Outputs | None = None, start: int = 0, stop: int | None = None) -> Outputs:
    """Run the kernel for trials [start, stop) of ``inputs``, writing into ``out`` (allocated for all
    trials when None) and returning it. Trial i's numbers depend only on (seed, i)."""
    T, C, Q = inputs.shape
    stop = T if stop is None else stop
    out = Outputs.empty(T, C, Q) if out is None else out
    if not 0 <= start <= stop <= min(T, out.stock.shape[0]):
        raise ValueError(f"kernel: trials [{start}, {stop}) outside the {T} trials of the inputs or outputs")
    check_inputs(inputs, out)
    inp = inputs.plain()  # one compiled signature whatever the arrays' layout (a no-op for compiled inputs)
    with np.errstate(over="ignore"):  # the generator's uint64 arithmetic wraps (run as Python without the JIT)
        _allocate(
            inp.draws.slice(start, stop),
            inp.firms,
            inp.terr,
            inp.chips,
            inp.rules,
            inp.tables,
            inp.consts.typed(),
            out.slice(start, stop),
        )
    return out
