"""(B) The kernel's rules, vectorised with NumPy over trials: the benchmark's fair rival to the numba kernel.

Within a quarter the kernel is sequential: orders are served first come, first served and every order may
deplete vendor supply, a national allocation, a consignee's LPP allowance, the grey market, a pre-approved
volume or a UVEU share that later orders see. What *is* independent is the trials, so this version
processes arrival slot s of quarter q for all T trials at once, with [T]-shaped arrays:

1. per chunk of slots, everything an order needs that does not depend on the state (the Feistel
   permutation, the 64-bit draw, firm, territory, size, chip, policy path, diversion share, requests)
   is computed for [slots, T] at once;
2. per slot, only the state-dependent steps run, branch-free on [T] arrays (a request of 0 is a no-op,
   so every trial goes through the same takes); rare paths (pre-approved volumes, UVEU, NVEU, the
   licence_share quota, fallback chips) run only in the slots where some trial needs them;
3. per chunk, the bookkeeping (flows, stocks, diversion, backlog) is summed per trial and territory with
   ``np.bincount`` (which adds in arrival order); each order writes its firm additions into its own cell,
   summed per firm at the end of the quarter.

State that decides later orders is updated in exactly the kernel's order and arithmetic, so decisions and
exhaustion quarters are identical and volumes agree to rounding (sums of the same terms in a different
grouping). Transcendentals use Python's ``math`` (libm, as numba does) through tables: exp of the 4,096
order-size quantiles per trial, the Zipf weights per rank. Memory is O(block × orders per quarter): trials
run in blocks (``block``), and the largest-firm stock is computed quarter by quarter, keeping only the firm
additions a retirement window still needs.

``run_vectorised(inputs, out=None, start=0, stop=None)`` mirrors ``sim.kernel.allocate.run_kernel``.
"""

from __future__ import annotations

import math

import numpy as np

from sim.kernel import layout as L
from sim.kernel.structures import Outputs

_U = np.uint64
_GOLDEN = _U(0x9E3779B97F4A7C15)
_M1 = _U(0xBF58476D1CE4E5B9)
_M2 = _U(0x94D049BB133111EB)
_U16 = 1.0 / 65536.0
_HTPP = L.H100_TPP


def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser on a uint64 array (returns a new array)."""
    z = z ^ (z >> _U(30))
    z *= _M1
    z ^= z >> _U(27)
    z *= _M2
    z ^= z >> _U(31)
    return z


def _rounds(x: np.ndarray, half, mlo, mhi, keys) -> np.ndarray:
    hi = x >> half
    lo = x & mlo
    for i, k in enumerate(keys):
        if i % 2 == 0:
            lo = lo ^ (_mix(hi ^ k) & mlo)
        else:
            hi = hi ^ (_mix(lo ^ k) & mhi)
    return (hi << half) | lo


def _permute(s0: int, s1: int, n: int, dom, keys) -> np.ndarray:
    """The kernel's keyed Feistel bijection of [0, n) (domain ``dom`` = (half, mlo, mhi)) for slots
    [s0, s1) and per-trial keys [T]: int64 [S, T]."""
    T = keys[0].shape[0]
    x = _rounds(np.arange(s0, s1, dtype=np.uint64)[:, None], *dom, [k[None, :] for k in keys])
    if x.shape != (s1 - s0, T):
        x = np.broadcast_to(x, (s1 - s0, T)).copy()
    xf = x.reshape(-1)
    bad = np.flatnonzero(xf >= _U(n))
    while bad.size:  # cycle walking, only where needed
        col = bad % T
        y = _rounds(xf[bad], *dom, [k[col] for k in keys])
        xf[bad] = y
        bad = bad[y >= _U(n)]
    return x.view(np.int64)


def _pyround(a) -> np.ndarray:
    return np.array([int(round(float(x))) for x in a], np.int64)


def run_vectorised(
    inputs, out: Outputs | None = None, start: int = 0, stop: int | None = None, block: int = 512, chunk: int = 1 << 19
) -> Outputs:
    """Trials [start, stop) of ``inputs`` (a KernelInputs), in blocks of ``block`` trials vectorised
    together, ``chunk`` orders per precomputed chunk. Same outputs as ``sim.kernel.allocate.run_kernel``."""
    T, C, Q = inputs.draws.params.shape[0], inputs.terr.weight.shape[0], inputs.rules.policy.shape[0]
    stop = T if stop is None else stop
    out = Outputs.empty(T, C, Q) if out is None else out
    for t0 in range(start, stop, block):
        _Block(inputs, out, t0, min(stop, t0 + block), chunk).run()
    return out


class _Block:
    """Trials [t0, t1) of the inputs, simulated together."""

    def __init__(self, inp, out: Outputs, t0: int, t1: int, chunk: int):
        self.inp, self.out, self.t0, self.t1 = inp, out, t0, t1
        self.T = T = t1 - t0
        self.F = F = len(inp.firms.country)
        self.C = C = len(inp.terr.weight)
        self.Q = inp.rules.policy.shape[0]
        self.K = inp.draws.chip_h100e.shape[1]
        self.hk_tk = inp.draws.chip_h100e[t0:t1]  # [T, K]: H100e per chip and trial
        self.V = inp.draws.quarterly.shape[2] - L.QT_SUPPLY
        self.H = len(inp.firms.hs_hq_us)
        self.m = m = int(inp.consts.m)
        self.N = N = F * m
        self.S = max(1, min(N, chunk // T))  # slots per chunk
        bits = 1
        while (1 << bits) < N:
            bits += 1
        half = bits // 2
        self.dom = (_U(half), (_U(1) << _U(half)) - _U(1), (_U(1) << _U(bits - half)) - _U(1))
        self.fc = inp.firms.country.astype(np.int64)
        self.tt = np.arange(T, dtype=np.int64)

        P = inp.draws.params[t0:t1]
        self.P = P
        self.sigma = P[:, L.P_ORDER_SIGMA]
        self.slip = np.clip(_pyround(P[:, L.P_SLIP]), 0, inp.tables.mix_prob.shape[0] - 1)
        self.sub_r = P[:, L.P_SUBST].copy()  # fallback chips per refused chip
        self.hw_share = P[:, L.P_HW_ABROAD].copy()  # share of eligible orders to the Huawei-abroad row
        self.hw_on = bool(inp.terr.hw_abroad.any()) and bool((self.hw_share > 0).any())
        self.size_fix = np.array([math.exp(-0.5 * s * s) for s in self.sigma])
        self.p_app = P[:, L.P_APPROVE]
        self.p_app_den = P[:, L.P_APPROVE_DENIAL]
        self.delay = _pyround(P[:, L.P_DELAY])
        self.life = np.maximum(1, _pyround(P[:, L.P_LIFE]))
        self.div_mult = P[:, L.P_DIVERSION]
        self.cut_g = P[:, L.P_CUT_GUIDANCE]
        self.cut_lv = P[:, L.P_CUT_LV]
        g = (inp.draws.stream[t0:t1].astype(np.uint64) + _U(1)) * _GOLDEN  # the rows' random streams
        self.tkey = _mix(_U(inp.consts.key) ^ g)

        # exp(sigma z) for the 4,096 order-size quantiles, per distinct sigma (libm, as the kernel)
        etab = np.empty((T, len(inp.tables.ztab)))
        zt = inp.tables.ztab.tolist()
        for s in np.unique(self.sigma):
            etab[self.sigma == s] = [math.exp(s * z) for z in zt]
        self.etab = etab.ravel()
        self.zbits = len(inp.tables.ztab) - 1

        # firm shares of demand and of the installed base (rank ** -s through a per-trial table)
        rank = inp.firms.rank.astype(np.int64)
        dom = rank > 0
        R = int(rank.max()) if dom.any() else 1
        pw = np.zeros((T, F))
        for t in range(T):
            s = -float(P[t, L.P_SIZE_EXP])
            tab = np.array([0.0] + [r**s for r in range(1, R + 1)])
            pw[t] = tab[rank]
        fcd = self.fc[dom]
        norm = np.bincount(
            (self.tt[:, None] * C + fcd[None, :]).ravel(), weights=pw[:, dom].ravel(), minlength=T * C
        ).reshape(T, C)
        w = np.empty((T, F))
        w[:, dom] = inp.terr.dom_share[fcd] * pw[:, dom] / norm[:, fcd]
        w[:, ~dom] = inp.firms.site_share[~dom]
        self.fshare = inp.draws.weight[self.t0 : self.t1][:, self.fc] * w  # the trials' territory weights
        self.w_flat = w.reshape(-1)  # the firm's share of its territory's (contracted) demand
        self.firm_init = (P[:, L.P_INSTALLED][:, None] * inp.terr.init_share[self.fc][None, :]) * w

        # UVEU bookkeeping (H100e by TPP of controlled chips), one vector: per site (and a zero column),
        # per hyperscaler in total and outside the US, and a dummy cell
        hs = inp.firms.hs.astype(np.int64)
        self.firm_hs = hs
        self.sites = np.flatnonzero(hs >= 0)
        NS = len(self.sites)
        NS1 = NS + 1
        self.site_of = np.full(F, NS, np.int64)
        self.site_of[self.sites] = np.arange(NS)
        H = self.H
        self.o_tot = T * NS1
        self.o_ous = self.o_tot + T * H
        self.o_dummy = self.o_ous + T * H
        self.us = np.zeros(self.o_dummy + 1)
        sc = self.us[: T * NS1].reshape(T, NS1)
        tot = self.us[self.o_tot : self.o_ous].reshape(T, H)
        ous = self.us[self.o_ous : self.o_dummy].reshape(T, H)
        sc[:, :NS] = self.firm_init[:, self.sites]
        for f in self.sites:
            h = hs[f]
            tot[:, h] += self.firm_init[:, f]
            if inp.firms.country[f] != inp.consts.us_index:
                ous[:, h] += self.firm_init[:, f]
        self.uveu_firm = (hs >= 0) & (inp.firms.hs_uveu[np.maximum(hs, 0)] == 1)
        self.nt1_sites = {}
        # flat lookups
        self.fshare_flat = self.fshare.reshape(-1)
        self.tz = self.tt * len(inp.tables.ztab)
        self.tN = (self.tt * N)[None, :]
        self.c_group = inp.terr.group.astype(np.int64)
        self.firm_mix = inp.firms.mix.astype(np.int64)
        self.chip_tk = inp.chips.tpp / _HTPP
        self.chip_vendor = inp.chips.vendor.astype(np.int64)
        self.china_v = inp.chips.vendor_china_only == 1
        self.firm_parent = inp.firms.parent.astype(np.int64)
        self.firm_nveu = inp.firms.nveu

    # ------------------------------------------------------------------------------------------------
    def run(self) -> None:
        inp, T, F, C, Q, V = self.inp, self.T, self.F, self.C, self.Q, self.V
        self.supply = np.zeros((T, V))
        self.sup_flat = self.supply.reshape(-1)
        self.grey = np.zeros(T)
        self.allow_used = np.zeros(T * C)
        self.cap_used = np.zeros(T * C)
        self.nveu_used = np.zeros(T * C)
        self.lpp_used = np.zeros(T * F)
        self.share_us = np.zeros((T, self.K))  # licence_share, per trial and chip
        self.share_used = np.zeros((T, self.K))
        self.carry = np.zeros(T * F)
        self.exhaust = np.full(T * C, -1, np.int64)
        self.nveu_exhaust = np.full(T * C, -1, np.int64)
        nch = len(L.CHANNELS)
        self.c_add = np.zeros((T, C, Q, nch))
        self.c_tpp = np.zeros((T, C, Q))
        self.due = np.zeros((T, C, Q))
        self.dv = np.zeros((T, C, Q))
        self.dv_tpp = np.zeros((T, C, Q))
        self.pend = np.zeros((T, C))
        # firm additions: a ring over the quarters a delivery can still land in, and the quarters a
        # retirement window will subtract again
        self.R = int(self.delay.max()) + 1
        self.fut = np.zeros((self.R, T, F))
        self.buf_now = np.empty(T * self.N)  # per order of the quarter: firm additions
        self.buf_del = np.empty(T * self.N)
        self.keep_hist = max(0, Q - int(self.life.min()))
        self.hist = np.zeros((self.keep_hist, T, F))
        self.run_f = np.zeros((T, F))
        self.by_c = np.argsort(self.fc, kind="stable")
        fcs = self.fc[self.by_c]
        self.c_start = np.flatnonzero(np.r_[True, fcs[1:] != fcs[:-1]])
        self.c_of_seg = fcs[self.c_start]
        self.is_site_sorted = inp.firms.hs[self.by_c] >= 0
        cn = inp.firms.div_firms.astype(np.int64)
        self.cn = cn
        cn_tot = np.zeros(T)
        for g in cn:
            cn_tot += self.fshare[:, g]
        self.cn_w = self.fshare[:, cn] / cn_tot[:, None] if len(cn) else np.zeros((T, 0))
        # whether any UVEU room is computed from quarter q on (else site bookings are not needed)
        uv = inp.rules.uveu_lim[:, 0] > 0
        self.uveu_from = np.flip(np.cumsum(np.flip(uv))) > 0
        self.share_any = bool((inp.rules.share_ratio > 0).any()) or bool(
            (inp.rules.policy == L.LICENCE_SHARE).any() or (inp.rules.chip_override == L.LICENCE_SHARE).any()
        )

        for q in range(Q):
            self._quarter(q)
        self._finish()

    # ------------------------------------------------------------------------------------------------
    def _quarter(self, q: int) -> None:
        inp, T, F, C, N, m = self.inp, self.T, self.F, self.C, self.N, self.m

        if inp.rules.year_start[q] == 1:
            self.lpp_used[:] = 0.0
        self.tfq = np.zeros((T * C, len(L.FLOWS)))
        self.tfq[:, L.FL_SHIPPED] = self.due[:, :, q].reshape(-1)
        self.pend -= self.due[:, :, q]
        self.carry_c = np.zeros(T * C)
        qt = inp.draws.quarterly[self.t0 : self.t1, q]
        self.supply[:] = qt[:, L.QT_SUPPLY :]
        self.grey[:] = qt[:, L.QT_GREY]
        guided = float(inp.rules.guidance_on[q].any())
        lv = 1.0 - self.P[:, L.P_CUT_LV] * inp.rules.lv_on[q]
        self.smug = np.minimum(1.0, self.P[:, L.P_SMUGGLE] * (1.0 - self.cut_g * guided) * lv)  # [T]: refused share
        self.dq = qt[:, L.QT_DEMAND].copy()
        self.add_q = inp.rules.demand_add[q]  # [C]: contracted demand this quarter
        self.carry_q = self.carry / m
        self.carry = np.zeros(T * F)
        qkey = _mix(self.tkey ^ _U(((q + 1) * int(_M1)) & 0xFFFFFFFFFFFFFFFF))
        self.keys = [_mix(qkey + _U(i)) for i in (1, 2, 3, 4)]
        self.qbase = _U(q) * _U(N)
        # per-quarter tables
        cls_q = inp.rules.chip_class[q].astype(np.int64)
        pol = np.where(
            cls_q[:, None] == 0, L.FREE, inp.rules.policy[q][np.arange(C)[None, :], np.maximum(cls_q - 1, 0)[:, None]]
        )
        ov = inp.rules.chip_override[q]
        self.pol_q = np.where(ov >= 0, ov, pol).astype(np.int64).reshape(-1)  # [K * C]
        self.mix_p = inp.tables.mix_prob[:, :, q]  # [slip, group, K]: alias tables
        self.mix_a = inp.tables.mix_alias[:, :, q].astype(np.int64)
        self.fb = [int(k) for k in inp.rules.fallback[q] if k >= 0]
        self.fb_col = [int(inp.chips.vendor[kk]) for kk in self.fb]
        self.fb_sk = [float(inp.chips.supply[kk]) for kk in self.fb]
        self.fb_h = [self.hk_tk[:, kk] for kk in self.fb]
        self.fb_tpp = [float(inp.chips.tpp[kk]) / _HTPP for kk in self.fb]
        self.cls_q = inp.rules.chip_class[q]
        self.divertible_q = inp.rules.divertible[q] == 1
        self.guid_q = inp.rules.guidance_on[q].astype(np.float64)
        self.lv_fac = 1.0 - self.cut_lv * float(inp.rules.lv_on[q])
        self.alloc_q = inp.rules.alloc[q] / _HTPP
        self.allow_q = inp.rules.allow_tpp[q] if (inp.rules.allow_tpp[q] > 0.0).any() else None
        self.tier1_q = inp.rules.tier1[q]
        self.share_chip_q = inp.rules.share_chip[q]
        if inp.rules.uveu_lim[q, 0] > 0.0:
            nt1 = [
                [
                    self.site_of[f]
                    for f in self.sites
                    if self.firm_hs[f] == h and inp.rules.tier1[q, inp.firms.country[f]] == 0
                ]
                for h in range(self.H)
            ]
            width = max(1, max(len(x) for x in nt1))
            self.nt1_sites[q] = np.array([x + [len(self.sites)] * (width - len(x)) for x in nt1], np.int64)
        # delayed deliveries of this quarter, per trial and territory, booked at quarter end
        self.del_vol = np.zeros(T * C)
        self.del_keep = np.zeros(T * C)
        self.del_tpp = np.zeros(T * C)
        self.del_dv = np.zeros(T * C)
        self.del_dvt = np.zeros(T * C)
        self.now_ch = np.zeros((T * C, len(L.CHANNELS)))
        self.now_tpp = np.zeros(T * C)
        self.now_dv = np.zeros(T * C)
        self.now_dvt = np.zeros(T * C)
        for s0 in range(0, N, self.S):
            self._chunk(q, s0, min(N, s0 + self.S))
        self._end_quarter(q)

    # ------------------------------------------------------------------------------------------------
    def _chunk(self, q: int, s0: int, s1: int) -> None:
        inp, T, F, C, V = self.inp, self.T, self.F, self.C, self.V
        tt = self.tt
        S = s1 - s0
        zeros = np.zeros
        # ---- stateless part of every order, [S, T] ----
        po = _permute(s0, s1, self.N, self.dom, self.keys)
        f = po // self.m
        u = _mix(self.tkey + (self.qbase + po.view(np.uint64) + _U(1)) * _GOLDEN)
        c = self.fc[f]
        tF = tt * F
        fi = f + tF  # flat (trial, firm)
        ci = c + tt * C  # flat (trial, territory)
        z = ((u >> _U(16)) & _U(self.zbits)).view(np.int64) + self.tz
        base = (
            (self.dq * self.fshare_flat[fi] + self.add_q[c] * self.w_flat[fi]) / self.m * self.etab[z] * self.size_fix
        )
        old = self.carry_q[fi]
        vol = base + old
        grp = self.c_group[c]
        col = (((u & _U(0xFFFF)) * _U(self.K)) >> _U(16)).view(np.int64)
        g = self.firm_mix[f]
        if self.hw_on:  # buyers of Huawei's sales abroad: a second hash of the draw
            ua = (_mix(u ^ _U(L.HW_KEY)) >> _U(11)).astype(np.float64) * (1.0 / 9007199254740992.0)
            hw = (inp.terr.hw_abroad[c] == 1) & (inp.firms.hs[f] < 0) & (ua < self.hw_share[None, :])
            g = np.where(hw, inp.consts.g_abroad, g)
        sl = self.slip[None, :]
        k = np.where((u >> _U(48)).view(np.int64) * _U16 >= self.mix_p[sl, g, col], self.mix_a[sl, g, col], col)
        hk = self.hk_tk[self.tt[None, :], k]
        tk = self.chip_tk[k]
        sk = inp.chips.supply[k]
        iv = self.chip_vendor[k] + tt * V
        n = vol / hk
        pol = self.pol_q[k * C + c]
        u_lic = ((u >> _U(32)) & _U(0xFFFF)).view(np.int64) * _U16
        dm = self.divertible_q[k] & (grp == 0)
        any_d = bool(dm.any())
        if any_d:
            dd = (inp.terr.div[c] * self.div_mult) * (1.0 - self.cut_g * self.guid_q[c]) * self.lv_fac
            d = np.where(dm, np.minimum(1.0, dd), 0.0)
        else:
            d = zeros((S, T))
        ok_lic = ((pol == L.LICENCE) & (u_lic < self.p_app)) | ((pol == L.DENY) & (u_lic < self.p_app_den))
        is_free = pol == L.FREE
        is_main = is_free | ok_lic
        is_no = ((pol == L.LICENCE) | (pol == L.PROHIBITED)) & ~ok_lic
        is_share = pol == L.LICENCE_SHARE
        is_deny = ((pol == L.DENY) & ~ok_lic) | (pol == L.EMBARGO)
        is_cap = pol == L.CAPPED
        is_ref = is_share | is_deny
        fmain = is_main.astype(np.float64)
        fcap = is_cap.astype(np.float64)
        fshr = is_share.astype(np.float64)
        fden = is_deny.astype(np.float64)
        fref = is_ref.astype(np.float64)
        nmain = n * fmain
        ncap = n * fcap
        nshr = n * fshr
        nden = n * fden
        any_cap = is_cap.any(axis=1).tolist()
        any_ref = is_ref.any(axis=1).tolist()
        any_shr = is_share.any(axis=1).tolist()
        cap_on = any(any_cap)
        if cap_on:
            lidx = self.firm_parent[f] + tF
            alim = self.alloc_q[c]
            appc = (u_lic < self.p_app).astype(np.float64)
        lpp_on = bool(self.inp.rules.lpp[q] > 0.0)
        lppl = float(inp.rules.lpp[q]) / _HTPP
        allow_on = None
        if self.allow_q is not None:
            allow_on = (
                (self.cls_q[k] != 0)
                & (self.allow_q[c] > 0.0)
                & (pol != L.PROHIBITED)
                & (pol != L.FREE)
                & (pol != L.EMBARGO)
            )
        any_allow = allow_on.any(axis=1).tolist() if allow_on is not None else [False] * S
        hs = self.firm_hs[f]
        any_uveu = [False] * S
        if cap_on and inp.rules.uveu_lim[q, 0] > 0.0:
            uveu_on = is_cap & self.uveu_firm[f] & (self.tier1_q[c] == 0)
            any_uveu = uveu_on.any(axis=1).tolist()
        any_nveu = [False] * S
        if cap_on and inp.rules.nveu_cap[q] > 0.0:
            nveu_on = is_cap & (self.firm_nveu[f] == 1)
            any_nveu = nveu_on.any(axis=1).tolist()
            if any(any_nveu):
                nv_r, nv_t = np.nonzero(nveu_on)
                nv_ptr = np.searchsorted(nv_r, np.arange(S + 1)).tolist()
        fb = self.fb
        fbok, fb_any = [], []  # fallback chip j is free to the territory
        grp_cn = grp == L.GROUP_CHINA
        for kk in fb:
            okk = (self.pol_q[kk * C + c] == L.FREE) & is_ref
            if self.china_v[inp.chips.vendor[kk]]:
                okk &= grp_cn  # Ascend is sold only to Chinese buyers
            fbok.append(okk.astype(np.float64))
            fb_any.append(okk.any(axis=1).tolist())
        share_on = self.share_any
        if share_on:
            usm = (is_free & (c == inp.consts.us_index) & (self.share_chip_q[k] == 1)).astype(np.float64)
            any_us = usm.any(axis=1).tolist()
            app_shr = (u_lic < self.p_app).astype(np.float64)
            share_ratio = float(inp.rules.share_ratio[q])
        booking = bool(self.uveu_from[q])
        if booking:
            self._site_orders(S, f, hs, c, k, d, tk, is_main, is_share, is_cap)
        if any(any_uveu):
            self._uveu_orders(q, uveu_on, f, c)

        # ---- serve the orders slot by slot, every trial at once ----
        x1 = np.empty((S, T))  # first take: main path, LPP, or licence_share
        x2 = np.empty((S, T))  # second take: allocation, or the grey market
        nl = zeros((S, T))
        nc = zeros((S, T))
        over = zeros((S, T))
        nck = zeros((S, T))
        ns = zeros((S, T))
        nrem = zeros((S, T))
        rare = any(any_allow) or any(any_uveu) or any(any_nveu)
        na = zeros((S, T))
        xa = zeros((S, T))
        nu = zeros((S, T))
        xu = zeros((S, T))
        nn = zeros((S, T))
        xn = zeros((S, T))
        self._rec = (x1, x2, xa, xu, xn)
        xfb = [zeros((S, T)) for _ in fb]
        took_fb = [zeros((S, T)) for _ in fb]  # refused chips each fallback replaced
        n_after = n.copy() if any(any_allow) else n
        sup, supply, grey = self.sup_flat, self.supply, self.grey
        lpp_used, cap_used = self.lpp_used, self.cap_used
        minimum, maximum = np.minimum, np.maximum
        for j in range(S):
            ivj = iv[j]
            Sv = sup[ivj]
            skj = sk[j]
            tkj = tk[j]
            if any_allow[j]:
                A = self.allow_used[ci[j]]
                a = maximum(self.allow_q[c[j]] / _HTPP - A, 0.0) / tkj
                a = minimum(n[j], a) * allow_on[j]
                na[j] = a
                x = maximum(minimum(a, Sv / skj), 0.0)
                Sv -= x * skj
                xa[j] = x
                self.allow_used[ci[j]] = A + x * tkj
                nj = n[j] - a
                n_after[j] = nj
                nm, ncp, nsh, ndn = nj * fmain[j], nj * fcap[j], nj * fshr[j], nj * fden[j]
            else:
                nm, ncp, nsh, ndn = nmain[j], ncap[j], nshr[j], nden[j]
            req1 = nm
            if any_cap[j]:
                rem = ncp
                if any_uveu[j]:
                    if booking:
                        self._book(j)
                    a = self._uveu_room(j, q, ncp, tkj)
                    nu[j] = a
                    rem = rem - a
                    x = maximum(minimum(a, Sv / skj), 0.0)
                    Sv -= x * skj
                    xu[j] = x
                if any_nveu[j]:
                    lo, hi = nv_ptr[j], nv_ptr[j + 1]
                    ti = nv_t[lo:hi]
                    cc = ci[j, ti]
                    a = minimum(rem[ti], maximum(inp.rules.nveu_cap[q] / _HTPP - self.nveu_used[cc], 0.0) / tkj[ti])
                    nn[j, ti] = a
                    hit = cc[((rem[ti] - a) > 0.0) & (self.nveu_exhaust[cc] < 0)]
                    self.nveu_exhaust[hit] = q
                    rem = rem - nn[j]
                    x = maximum(minimum(nn[j], Sv / skj), 0.0)
                    Sv -= x * skj
                    xn[j] = x
                    self.nveu_used[cc] += x[ti] * tkj[ti]
                if lpp_on:
                    lj = lidx[j]
                    LU = lpp_used[lj]
                    a = minimum(rem, maximum(lppl - LU, 0.0) / tkj, out=nl[j])
                    rem = rem - a
                    req1 = req1 + a
                CU = cap_used[ci[j]]
                b = minimum(rem, maximum(alim[j] - CU, 0.0) / tkj, out=nc[j])
                np.subtract(rem, b, out=over[j])
                req2 = np.multiply(b, appc[j], out=nck[j])
            if any_shr[j]:
                kj = k[j]
                a = maximum(share_ratio * self.share_us[tt, kj] - self.share_used[tt, kj], 0.0) / hk[j]
                a = np.multiply(minimum(nsh, a), app_shr[j], out=ns[j])
                req1 = req1 + a
                ndn = ndn + (nsh - a)
            # the first take
            x = minimum(req1, Sv / skj, out=x1[j])
            maximum(x, 0.0, out=x)
            Sv -= x * skj
            if any_cap[j] and lpp_on:
                lpp_used[lj] = LU + x * tkj * fcap[j]
            if any_shr[j]:
                self.share_used[tt, k[j]] += x * hk[j] * fshr[j]
            if share_on and any_us[j]:
                self.share_us[tt, k[j]] += x * hk[j] * usm[j]
            # the second take: the allocation, or the grey market for refused orders
            if any_ref[j]:
                g = minimum(ndn * self.smug, maximum(grey, 0.0) / hk[j])
                req2 = req2 + g if any_cap[j] else g
            if any_cap[j] or any_ref[j]:
                x = minimum(req2, Sv / skj, out=x2[j])
                maximum(x, 0.0, out=x)
                Sv -= x * skj
                if any_cap[j]:
                    cap_used[ci[j]] = CU + x * tkj * fcap[j]
            else:
                x2[j] = 0.0
            sup[ivj] = Sv
            if any_ref[j]:
                gmj = x * fref[j]
                grey -= gmj * hk[j]
                left = ndn - gmj
                for jj in range(len(fb)):
                    if fb_any[jj][j]:
                        if not left.any():
                            break
                        col = supply[:, self.fb_col[jj]]
                        r = np.minimum(self.sub_r, hk[j] / self.fb_h[jj])  # at most the refused H100e
                        x = maximum(minimum(left * r * fbok[jj][j], col / self.fb_sk[jj]), 0.0)
                        col -= x * self.fb_sk[jj]
                        left = left - np.divide(x, r, out=np.zeros_like(x), where=r > 0.0)
                        took_fb[jj][j] = np.divide(x, r, out=np.zeros_like(x), where=r > 0.0)
                        xfb[jj][j] = x
                nrem[j] = left
        if booking:
            self._book(S)

        # ---- bookkeeping of the chunk ----
        xm = x1 * fmain
        xs = x1 * fshr if any(any_shr) else None
        if cap_on:
            xl = x1 * fcap
            xc = x2 * fcap
        gm = x2 * fref if any(any_ref) else None
        tf = self.tfq
        TC = T * C
        cif = ci.reshape(-1)

        def bc(w):
            return np.bincount(cif, weights=w.reshape(-1), minlength=TC)

        sub = None
        took = None
        fbv = []
        for jj, _ in enumerate(fb):
            if not any(fb_any[jj]):
                fbv.append(None)
                continue
            fv = xfb[jj] * self.fb_h[jj]
            fbv.append(fv)
            sub = fv if sub is None else sub + fv
            took = took_fb[jj] if took is None else took + took_fb[jj]
        tf[:, L.FL_ORDERED] += bc(base if sub is None else base + sub)
        if sub is not None:
            tf[:, L.FL_SUBSTITUTE] += bc(sub)
        unmet = n_after * is_no
        if cap_on:
            unmet = unmet + over + (nc - nck)
        denied = unmet
        if gm is not None:
            ndn_all = n_after * fden
            if xs is not None:
                ndn_all = ndn_all + (n_after * fshr - ns)
            denied = denied + ndn_all
            tf[:, L.FL_SMUGGLED] += bc(gm * hk)
            got = 0.0 if sub is None else sub
            tk_ = 0.0 if took is None else took
            refm = np.maximum(0.0, (nrem + tk_) * hk - got) * (ndn_all > 0.0)
            tf[:, L.FL_UNMET] += bc(unmet * hk + refm)
        else:
            tf[:, L.FL_UNMET] += bc(unmet * hk)
        tf[:, L.FL_DENIED] += bc(denied * hk)
        keep = 1.0 - d
        hkk = hk * keep
        x_free = xm * is_free
        x_now = x_free
        ch = self.now_ch
        china = self.china_v[self.chip_vendor[k]] & (grp == L.GROUP_CHINA)
        if china.any():
            ch[:, L.CH_DOMESTIC] += bc(np.where(china, x_free, 0.0) * hkk)
            ch_free = np.where(china, 0.0, x_free)
        else:
            ch_free = x_free
        if cap_on and lpp_on:
            x_now = x_now + xl
            ch_free = ch_free + xl
            tf[:, L.FL_LPP] += bc(xl * hk)
        if rare:
            x_now = x_now + xa + xu + xn
            ch[:, L.CH_LICENSED] += bc(xa * hkk)
            ch[:, L.CH_VEU] += bc((xu + xn) * hkk)
        ch[:, L.CH_FREE] += bc(ch_free * hkk)
        x_del = xm * ok_lic
        if cap_on:
            x_del = x_del + xc
        if xs is not None:
            x_del = x_del + xs
        tkk = tk * keep
        tpp_now = x_now * tkk
        now_f = x_now * hkk
        shipped = x_now * hk
        if gm is not None:
            g = gm * hk
            ch[:, L.CH_SMUGGLED] += bc(g)
            tpp_now = tpp_now + gm * tk
            now_f = now_f + g
        if sub is not None:
            shipped = shipped + sub
            now_f = now_f + sub
            for jj, _ in enumerate(fb):
                if fbv[jj] is None:
                    continue
                tpp_now = tpp_now + xfb[jj] * self.fb_tpp[jj]
                if self.china_v[self.fb_col[jj]]:
                    cg = grp == L.GROUP_CHINA
                    ch[:, L.CH_DOMESTIC] += bc(np.where(cg, fbv[jj], 0.0))
                    ch[:, L.CH_FREE] += bc(np.where(cg, 0.0, fbv[jj]))
                else:
                    ch[:, L.CH_FREE] += bc(fbv[jj])
        tf[:, L.FL_SHIPPED] += bc(shipped)
        self.now_tpp += bc(tpp_now)
        if any_d:
            hkd = hk * d
            tkd = tk * d
            self.now_dv += bc(x_now * hkd)
            self.now_dvt += bc(x_now * tkd)
            self.del_dv += bc(x_del * hkd)
            self.del_dvt += bc(x_del * tkd)
        self.del_vol += bc(x_del * hk)
        del_keep = x_del * hkk
        self.del_keep += bc(del_keep)
        self.del_tpp += bc(x_del * tkk)
        # firm additions, by order (each order writes its own cell; summed per firm at quarter end)
        op = (po + self.tN).reshape(-1)
        self.buf_now[op] = now_f.reshape(-1)
        self.buf_del[op] = del_keep.reshape(-1)
        # what the vendor could not supply waits a quarter; what already waited lapses
        left = zeros((S, T))
        if rare:
            left += na - xa
        left += (nmain if n_after is n else n_after * fmain) - xm
        if rare:
            left += nu - xu
            left += nn - xn
        if cap_on:
            left += nl - xl
            left += nck - xc
        if xs is not None:
            left += ns - xs
        pos = left > 0.0
        if pos.any():
            lv = left[pos] * hk[pos]
            lapsed = lv * (old[pos] / vol[pos])
            np.add.at(self.carry, fi[pos], lv - lapsed)
            w = zeros((S, T))
            w[pos] = lapsed
            tf[:, L.FL_LAPSED] += bc(w)
            w[pos] = lv - lapsed
            self.carry_c += bc(w)
        # the first quarter a national allocation is used up
        if cap_on:
            hit = cif[over.reshape(-1) > 0.0]
            if hit.size:
                hit = hit[self.exhaust[hit] < 0]
                self.exhaust[hit] = q

    # ------------------------------------------------------------------------------------------------
    def _site_orders(self, S, f, hs, c, k, d, tk, is_main, is_share, is_cap) -> None:
        """Orders at hyperscaler sites in this chunk (their deliveries count toward UVEU shares), by slot."""
        T, NS1, H = self.T, len(self.sites) + 1, self.H
        r, t = np.nonzero(hs >= 0)
        self._site_ptr = np.searchsorted(r, np.arange(S + 1))
        self._site_pos = r * T + t
        ff = f[r, t]
        h = hs[r, t]
        sid = self.site_of[ff]
        base = tk[r, t] * (1.0 - d[r, t])
        book = (self.cls_q[k[r, t]] != 0).astype(np.float64)
        self._site_f1 = base * np.where(is_main[r, t] | is_share[r, t], book, is_cap[r, t].astype(np.float64))
        self._site_f2 = base * is_cap[r, t]
        self._site_f0 = base
        out_us = c[r, t] != self.inp.consts.us_index
        tgt = np.empty((len(r), 3), np.int64)
        tgt[:, 0] = t * NS1 + sid
        tgt[:, 1] = self.o_tot + t * H + h
        tgt[:, 2] = np.where(out_us, self.o_ous + t * H + h, self.o_dummy)
        self._site_tgt = tgt
        self._flushed = 0

    def _book(self, j: int) -> None:
        """Count deliveries of slots [flushed, j) to hyperscaler sites toward UVEU shares."""
        lo, hi = self._site_ptr[self._flushed], self._site_ptr[j]
        self._flushed = j
        if lo == hi:
            return
        x1, x2, xa, xu, xn = self._rec
        p = self._site_pos[lo:hi]
        bk = x1.reshape(-1)[p] * self._site_f1[lo:hi] + x2.reshape(-1)[p] * self._site_f2[lo:hi]
        extra = xa.reshape(-1)[p] + xu.reshape(-1)[p] + xn.reshape(-1)[p]
        bk += extra * self._site_f0[lo:hi]
        np.add.at(self.us, self._site_tgt[lo:hi].reshape(-1), np.repeat(bk, 3))

    def _uveu_orders(self, q, uveu_on, f, c) -> None:
        inp, H, NS1 = self.inp, self.H, len(self.sites) + 1
        r, t = np.nonzero(uveu_on)
        S = uveu_on.shape[0]
        self._uv_ptr = np.searchsorted(r, np.arange(S + 1)).tolist()
        self._uv_t = t
        ff = f[r, t]
        h = inp.firms.hs[ff].astype(np.int64)
        self._uv_tot = self.o_tot + t * H + h
        self._uv_sc = t * NS1 + self.site_of[ff]
        self._uv_ous = self.o_ous + t * H + h
        self._uv_out = (t * NS1)[:, None] + self.nt1_sites[q][h]
        self._uv_us = (inp.firms.hs_hq_us[h] == 1) & (c[r, t] != inp.consts.us_index)
        lim = inp.rules.uveu_lim[q]
        self._uv_lim = (float(lim[0]), float(lim[1]), float(lim[2]))

    def _uveu_room(self, j, q, ncp, tkj):
        """UVEU room (chips) of this slot's UVEU orders: the kernel's three share limits; 0 elsewhere."""
        lo, hi = self._uv_ptr[j], self._uv_ptr[j + 1]
        ti = self._uv_t[lo:hi]
        us = self.us
        l0, l1, l2 = self._uv_lim
        tot = us[self._uv_tot[lo:hi]]
        out_t1 = us[self._uv_out[lo:hi]].sum(axis=1)
        room = (l0 * tot - out_t1) / (1.0 - l0)
        room = np.minimum(room, (l1 * tot - us[self._uv_sc[lo:hi]]) / (1.0 - l1))
        r3 = (l2 * tot - us[self._uv_ous[lo:hi]]) / (1.0 - l2)
        room = np.where(self._uv_us[lo:hi], np.minimum(room, r3), room)
        a = np.zeros(self.T)
        a[ti] = np.minimum(ncp[ti], np.maximum(room, 0.0) / tkj[ti])
        return a

    # ------------------------------------------------------------------------------------------------
    def _end_quarter(self, q: int) -> None:
        T, C, Q, F = self.T, self.C, self.Q, self.F
        tf = self.tfq
        # delayed deliveries of this quarter: pending, then shipped and stocked in q + delay
        qd = q + self.delay
        now = qd == q
        later = (qd > q) & (qd < Q)
        beyond = qd >= Q
        dv_ = self.del_vol.reshape(T, C)
        pend = self.pend
        pend[beyond] += dv_[beyond]
        if later.any():
            tl = self.tt[later]
            ql = qd[later]
            self.due[tl, :, ql] += dv_[later]
            pend[later] += dv_[later]
            self.c_add[tl, :, ql, L.CH_LICENSED] += self.del_keep.reshape(T, C)[later]
            self.c_tpp[tl, :, ql] += self.del_tpp.reshape(T, C)[later]
            self.dv[tl, :, ql] += self.del_dv.reshape(T, C)[later]
            self.dv_tpp[tl, :, ql] += self.del_dvt.reshape(T, C)[later]
        chn = self.now_ch.reshape(T, C, -1)
        tpn = self.now_tpp.reshape(T, C)
        dvn = self.now_dv.reshape(T, C)
        dvtn = self.now_dvt.reshape(T, C)
        if now.any():
            tfs = tf.reshape(T, C, -1)
            tfs[now, :, L.FL_SHIPPED] += dv_[now]
            chn[now, :, L.CH_LICENSED] += self.del_keep.reshape(T, C)[now]
            tpn[now] += self.del_tpp.reshape(T, C)[now]
            dvn[now] += self.del_dv.reshape(T, C)[now]
            dvtn[now] += self.del_dvt.reshape(T, C)[now]
        self.c_add[:, :, q, :] += chn
        self.c_tpp[:, :, q] += tpn
        self.dv[:, :, q] += dvn
        self.dv_tpp[:, :, q] += dvtn
        tf[:, L.FL_PENDING] = pend.reshape(-1)
        tf[:, L.FL_BACKLOG] = self.carry_c
        tf[:, L.FL_CAP_USED] = self.cap_used
        self.out.flows[self.t0 : self.t1, :, q, :] = tf.reshape(T, C, -1)
        # the largest firm per territory: its additions of quarter q are now final
        R = self.R
        m = self.m
        self.fut[q % R] += self.buf_now.reshape(T, F, m).sum(axis=2)
        dl = self.buf_del.reshape(T, F, m).sum(axis=2)
        for t in np.flatnonzero(self.delay + q < Q):
            self.fut[(q + self.delay[t]) % R, t] += dl[t]
        a = self.fut[q % R]
        div_q = self.dv[:, :, q].sum(axis=1)
        if len(self.cn):
            a[:, self.cn] += div_q[:, None] * self.cn_w
        self.run_f += a
        if q < self.keep_hist:
            self.hist[q] = a
        sub = q >= self.life
        if sub.any():
            ts = self.tt[sub]
            self.run_f[ts] -= self.hist[q - self.life[sub], ts]
        left_init = np.maximum(0.0, 1.0 - (q + 1.0) / self.life)
        x = self.run_f + self.firm_init * left_init[:, None]
        xs = x[:, self.by_c]
        mx = np.maximum.reduceat(xs, self.c_start, axis=1)
        counts = np.diff(np.r_[self.c_start, F])
        first = np.where(xs == np.repeat(mx, counts, axis=1), np.arange(F)[None, :], F)
        pos = np.minimum.reduceat(first, self.c_start, axis=1)
        site = self.is_site_sorted[pos] & (mx > 0.0)
        lg = np.where(mx > 0.0, mx, 0.0)
        self.out.largest[self.t0 : self.t1, self.c_of_seg, q] = lg
        self.out.largest_site[self.t0 : self.t1, self.c_of_seg, q] = site
        a[:] = 0.0

    def _finish(self) -> None:
        inp, T, C, Q = self.inp, self.T, self.C, self.Q
        out, t0, t1 = self.out, self.t0, self.t1
        dd = inp.consts.div_dest
        div_q = self.dv.sum(axis=1)  # [T, Q]
        out.flows[t0:t1, :, :, L.FL_DIVERTED_OUT] = self.dv
        out.flows[t0:t1, dd, :, L.FL_DIVERTED_IN] = div_q
        self.c_tpp[:, dd, :] += self.dv_tpp.sum(axis=1)
        self.c_add[:, dd, :, L.CH_DIVERTED] += div_q
        life = self.life
        run = np.zeros((T, C, len(L.CHANNELS)))
        run_t = np.zeros((T, C))
        init_c = self.P[:, L.P_INSTALLED][:, None] * inp.terr.init_share[None, :]
        for q in range(Q):
            run += self.c_add[:, :, q, :]
            run_t += self.c_tpp[:, :, q]
            sub = q >= life
            if sub.any():
                ts = self.tt[sub]
                run[ts] -= self.c_add[ts, :, q - life[sub], :]
                run_t[ts] -= self.c_tpp[ts, :, q - life[sub]]
            left_init = np.maximum(0.0, 1.0 - (q + 1.0) / life)
            st = run.copy()
            st[:, :, L.CH_INITIAL] = init_c * left_init[:, None]
            out.stock[t0:t1, :, q, :] = st
            out.stock_tpp[t0:t1, :, q] = run_t + init_c * left_init[:, None]
        out.exhaust[t0:t1] = self.exhaust.reshape(T, C)
        out.nveu_exhaust[t0:t1] = self.nveu_exhaust.reshape(T, C)
