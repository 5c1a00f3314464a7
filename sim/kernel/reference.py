"""The reference twin of the kernel (the oracle): the same rules, written for clarity in plain Python, one
order at a time, with dictionaries for state. Slow (about 10^5 orders/s); tests compare it with the
numba kernel on small worlds, and benchmarks use it as the baseline. It must stay independent of the
kernel's code: only the layout constants and the input structures are shared."""

from __future__ import annotations

import math

import numpy as np

from . import layout as L

MASK = (1 << 64) - 1
GOLDEN, M1, M2 = 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB


def mix(z: int) -> int:
    """splitmix64 finaliser on Python ints."""
    z &= MASK
    z = ((z ^ (z >> 30)) * M1) & MASK
    z = ((z ^ (z >> 27)) * M2) & MASK
    return z ^ (z >> 31)


def feistel_order(n: int, keys: list[int]) -> list[int]:
    """The arrival order of the n order slots of a quarter (a keyed bijection of range(n)): a 4-round
    unbalanced Feistel network on the smallest power of two covering n, with cycle walking."""
    bits = 1
    while (1 << bits) < n:
        bits += 1
    half = bits // 2
    mlo, mhi = (1 << half) - 1, (1 << (bits - half)) - 1

    def once(x: int) -> int:
        hi, lo = x >> half, x & mlo
        for i, k in enumerate(keys):
            if i % 2 == 0:
                lo ^= mix(hi ^ k) & mlo
            else:
                hi ^= mix(lo ^ k) & mhi
        return (hi << half) | lo

    out = []
    for s in range(n):
        x = once(s)
        while x >= n:
            x = once(x)
        out.append(x)
    return out


def whole(x: float, lo: int, hi: int) -> int:
    """A per-trial draw (quarters) as a whole number in [lo, hi], rounded half to even, NaN → lo: every
    index derived from a draw is bounded, as in the kernel."""
    if not x >= lo:
        return lo
    if x >= hi:
        return hi
    return int(round(x))


def simulate_trial(inp, t: int) -> dict:
    """Simulate trial ``t`` of ``inp`` (KernelInputs). Returns a dict of arrays shaped like one trial
    of the kernel's Outputs (float64)."""
    pr = inp.draws.params[t]
    F, C, Q, K = len(inp.firms.country), len(inp.terr.weight), inp.rules.policy.shape[0], inp.draws.chip_h100e.shape[1]
    m = inp.consts.m
    N = F * m
    delay = whole(pr[L.P_DELAY], 0, Q)  # Q quarters or more: pending beyond the horizon
    life = whole(pr[L.P_LIFE], 1, 1 << 20)
    win = min(whole(pr[L.P_WINDOW], 1, Q), life)  # cluster build window, quarters
    mfu = inp.draws.mfu[t]  # MFU of a training run per chip family
    coloc, cap = pr[L.P_COLOC], inp.draws.cluster_cap[t]  # co-located share; the largest site, H100e [Q]
    sigma = pr[L.P_ORDER_SIGMA]
    s_exp = pr[L.P_SIZE_EXP]
    slip = whole(pr[L.P_SLIP], 0, inp.tables.mix_prob.shape[0] - 1)
    sub_r = pr[L.P_SUBST]
    hw_share = pr[L.P_HW_ABROAD]
    hrow = inp.draws.chip_h100e[t]  # this trial's H100e per chip
    price = inp.draws.chip_price[t]  # and price per chip, USD
    V = inp.draws.quarterly.shape[2] - L.QT_SUPPLY
    revenue = np.zeros((C, Q, V))  # sales booked to a territory in a quarter, USD
    refused = np.zeros((C, Q, V))  # refused orders at price, USD
    tkey = mix(int(inp.consts.key) ^ (((int(inp.draws.stream[t]) + 1) * GOLDEN) & MASK))  # the row's random stream

    # firm demand shares and initial stock (taken as H100-class chips)
    norm = [0.0] * C
    for f in range(F):
        if inp.firms.rank[f] > 0:
            norm[inp.firms.country[f]] += float(inp.firms.rank[f]) ** -s_exp
    share, init, within = [0.0] * F, [0.0] * F, [0.0] * F  # of world demand, of the start's base, of the territory's
    for f in range(F):
        c = inp.firms.country[f]
        w = (
            (inp.terr.dom_share[c] * float(inp.firms.rank[f]) ** -s_exp / norm[c])
            if inp.firms.rank[f] > 0
            else inp.firms.site_share[f]
        )
        share[f] = inp.draws.weight[t, c] * w  # the trial's territory weights
        within[f] = w
        init[f] = pr[L.P_INSTALLED] * inp.terr.init_share[c] * w
    # UVEU bookkeeping per hyperscaler (H100e by TPP of controlled chips): installed per site
    sites: dict[int, dict[int, float]] = {}  # hyperscaler → {site firm → installed}
    for f in range(F):
        if inp.firms.hs[f] >= 0:
            sites.setdefault(int(inp.firms.hs[f]), {})[f] = init[f]

    flows = np.zeros((C, Q, len(L.FLOWS)))
    firm_add = np.zeros((F, Q, len(L.FAMILIES)))  # deliveries per firm, by quarter and chip family
    c_add = np.zeros((C, Q, len(L.CHANNELS)))
    c_tpp = np.zeros((C, Q))
    fam_add = np.zeros((C, Q, len(L.FAMILIES)))  # stock added by chip family
    unit_add = np.zeros((C, Q, len(L.FAMILIES)))  # the same in chips
    due = np.zeros((C, Q))
    pend = [0.0] * C
    carry = [0.0] * F
    lpp_used: dict[int, float] = {}
    allow_used = [0.0] * C
    quota_us = [0.0] * K  # licence_share, per chip: US customers' volume over the rule's period
    quota_used = [0.0] * K  # ... and the volume licensed to the destination, cumulative
    cap_used = [0.0] * C
    nveu_used = [0.0] * C
    exhaust = [-1] * C
    nveu_exhaust = [-1] * C

    diverted = np.zeros((Q, len(L.FAMILIES)))  # H100e diverted to the diversion destination, by arrival, family

    def deliver(f, c, q, qd, vol, tpp_h, units, ch, fam, d=0.0):
        if qd >= Q:
            pend[c] += vol
            return
        if qd > q:
            due[c, qd] += vol
            pend[c] += vol
        else:
            flows[c, q, L.FL_SHIPPED] += vol
        firm_add[f, qd, fam] += vol * (1.0 - d)
        c_add[c, qd, ch] += vol * (1.0 - d)
        c_tpp[c, qd] += tpp_h * (1.0 - d)
        fam_add[c, qd, fam] += vol * (1.0 - d)
        unit_add[c, qd, fam] += units * (1.0 - d)
        if d > 0.0:
            flows[c, qd, L.FL_DIVERTED_OUT] += vol * d
            flows[inp.consts.div_dest, qd, L.FL_DIVERTED_IN] += vol * d
            c_add[inp.consts.div_dest, qd, L.CH_DIVERTED] += vol * d
            c_tpp[inp.consts.div_dest, qd] += tpp_h * d
            fam_add[inp.consts.div_dest, qd, fam] += vol * d
            unit_add[inp.consts.div_dest, qd, fam] += units * d
            diverted[qd, fam] += vol * d

    def effective_policy(q, k, c):
        """A chip-specific rule first, else the destination's policy for the chip's class."""
        if inp.rules.chip_override[q, k, c] >= 0:
            return int(inp.rules.chip_override[q, k, c])
        cls = inp.rules.chip_class[q, k]
        return L.FREE if cls == 0 else int(inp.rules.policy[q, c, cls - 1])

    def book_site(f, x):
        if inp.firms.hs[f] >= 0:
            sites[int(inp.firms.hs[f])][f] += x

    for q in range(Q):
        if inp.rules.year_start[q]:
            lpp_used.clear()
        backlog = [0.0] * C
        for c in range(C):
            flows[c, q, L.FL_SHIPPED] += due[c, q]
            pend[c] -= due[c, q]
        supply = [float(x) for x in inp.draws.quarterly[t, q, L.QT_SUPPLY :]]
        grey = float(inp.draws.quarterly[t, q, L.QT_GREY])  # smuggling capacity, H100e
        # the share of refused demand smugglers serve: the trial's take-up, cut by diversion guidance anywhere
        # and by location verification
        guided = bool(inp.rules.guidance_on[q].any())
        smug = min(
            1.0,
            pr[L.P_SMUGGLE] * (1.0 - pr[L.P_CUT_GUIDANCE] * guided) * (1.0 - pr[L.P_CUT_LV] * inp.rules.lv_on[q]),
        )
        dq = float(inp.draws.quarterly[t, q, L.QT_DEMAND])
        waited = [x / m for x in carry]
        carry = [0.0] * F
        qkey = mix(tkey ^ (((q + 1) * M1) & MASK))
        keys = [mix(qkey + i) for i in (1, 2, 3, 4)]

        def refuse(f, c, q, n, hk, tk, sk, v, grp, fam, k):
            """Denied: smugglers first (a share of it), then fallback chips (sub_r per refused chip), the rest unmet."""
            nonlocal grey
            wanted = n
            flows[c, q, L.FL_DENIED] += n * hk
            refused[c, q, v] += n * price[k]
            gm = min(n * smug, grey / hk, supply[v] / sk)
            if gm > 0.0:
                grey -= gm * hk
                supply[v] -= gm * sk
                n -= gm
                flows[c, q, L.FL_SMUGGLED] += gm * hk
                firm_add[f, q, fam] += gm * hk
                c_add[c, q, L.CH_SMUGGLED] += gm * hk
                c_tpp[c, q] += gm * tk
                fam_add[c, q, fam] += gm * hk
                unit_add[c, q, fam] += gm
            got = 0.0
            for kk in inp.rules.fallback[q]:
                if kk < 0 or n <= 0.0:
                    break
                vk = inp.chips.vendor[kk]
                if effective_policy(q, kk, c) != L.FREE:
                    continue
                if inp.chips.vendor_china_only[vk] and grp != L.GROUP_CHINA:
                    continue  # Ascend is sold only to Chinese buyers
                r = min(sub_r, hk / hrow[kk])  # fallback chips per refused chip, at most equal H100e
                x = take(vk, inp.chips.supply[kk], n * r)
                if x <= 0.0:
                    continue
                n -= x / r
                revenue[c, q, vk] += x * price[kk]
                flops = x * hrow[kk]
                got += flops
                flows[c, q, L.FL_ORDERED] += flops
                flows[c, q, L.FL_SUBSTITUTE] += flops
                deliver(
                    f,
                    c,
                    q,
                    q,
                    flops,
                    x * inp.chips.tpp[kk] / L.H100_TPP,
                    x,
                    L.CH_DOMESTIC if inp.chips.vendor_china_only[vk] and grp == L.GROUP_CHINA else L.CH_FREE,
                    int(inp.chips.family[kk]),
                )
            flows[c, q, L.FL_UNMET] += max(0.0, (wanted - gm if gm > 0.0 else wanted) * hk - got)

        def take(v, sk, x):
            got = min(x, supply[v] / sk)
            if got <= 0.0:
                return 0.0
            supply[v] -= got * sk
            return got

        for po in feistel_order(N, keys):
            f, c = po // m, inp.firms.country[po // m]
            u = mix(tkey + (((q * N + po + 1) * GOLDEN) & MASK))
            z = inp.tables.ztab[(u >> L.U_SIZE_SHIFT) & L.ZTAB_MASK]
            expected = (dq * share[f] + inp.rules.demand_add[q, c] * within[f]) / m  # plus contracted demand
            base = expected * math.exp(sigma * z) * math.exp(-0.5 * sigma * sigma)
            flows[c, q, L.FL_ORDERED] += base
            vol = base + waited[f]
            grp = inp.terr.group[c]
            g = inp.firms.mix[f]  # the chip: alias method (column from bits 0-15, threshold 48-63)
            if inp.terr.hw_abroad[c] and inp.firms.hs[f] < 0 and (mix(u ^ L.HW_KEY) >> 11) / 2.0**53 < hw_share:
                g = inp.consts.g_abroad  # a buyer of Huawei's sales abroad
            k = ((u & L.U16_MASK) * K) >> 16
            if (u >> L.U_ALIAS_SHIFT) / 65536.0 >= inp.tables.mix_prob[slip, g, q, k]:
                k = int(inp.tables.mix_alias[slip, g, q, k])
            hk, tk, sk = hrow[k], inp.chips.tpp[k] / L.H100_TPP, inp.chips.supply[k]
            v = inp.chips.vendor[k]
            fam = int(inp.chips.family[k])
            n = vol / hk
            cls = inp.rules.chip_class[q, k]
            pol = effective_policy(q, k, c)
            u_lic = ((u >> L.U_LICENCE_SHIFT) & L.U16_MASK) / 65536.0
            d = 0.0
            if inp.rules.divertible[q, k] and grp == L.GROUP_WORLD:
                d = min(
                    1.0,
                    inp.terr.div[c]
                    * pr[L.P_DIVERSION]
                    * (1.0 - pr[L.P_CUT_GUIDANCE] * inp.rules.guidance_on[q, c])
                    * (1.0 - pr[L.P_CUT_LV] * inp.rules.lv_on[q]),
                )
            controlled = cls != 0
            domestic = bool(inp.chips.vendor_china_only[v]) and grp == L.GROUP_CHINA
            left = 0.0

            if controlled and inp.rules.allow_tpp[q, c] > 0.0 and pol not in (L.PROHIBITED, L.FREE, L.EMBARGO):  # deals
                na = min(n, max(inp.rules.allow_tpp[q, c] / L.H100_TPP - allow_used[c], 0.0) / tk)
                x = take(v, sk, na)
                revenue[c, q, v] += x * price[k]  # a sale, at the decision
                if x > 0.0:
                    allow_used[c] += x * tk
                    deliver(f, c, q, q, x * hk, x * tk, x, L.CH_LICENSED, fam, d)
                    book_site(f, x * tk * (1.0 - d))
                left += na - x
                n -= na
            if n <= 0.0:
                pass
            elif pol == L.FREE:
                x = take(v, sk, n)
                revenue[c, q, v] += x * price[k]  # a sale, at the decision
                deliver(f, c, q, q, x * hk, x * tk, x, L.CH_DOMESTIC if domestic else L.CH_FREE, fam, d)
                if controlled:
                    book_site(f, x * tk * (1.0 - d))
                if c == inp.consts.us_index and inp.rules.share_chip[q, k]:
                    quota_us[k] += x * hk
                left += n - x
            elif (pol == L.LICENCE and u_lic < pr[L.P_APPROVE]) or (pol == L.DENY and u_lic < pr[L.P_APPROVE_DENIAL]):
                x = take(v, sk, n)
                revenue[c, q, v] += x * price[k]  # a sale, at the decision
                deliver(f, c, q, q + delay, x * hk, x * tk, x, L.CH_LICENSED, fam, d)
                if controlled:
                    book_site(f, x * tk * (1.0 - d))
                left += n - x
            elif pol in (L.LICENCE, L.PROHIBITED):
                flows[c, q, L.FL_DENIED] += n * hk
                refused[c, q, v] += n * price[k]
                flows[c, q, L.FL_UNMET] += n * hk
            elif pol == L.LICENCE_SHARE:
                ns = min(n, max(inp.rules.share_ratio[q] * quota_us[k] - quota_used[k], 0.0) / hk)
                if u_lic >= pr[L.P_APPROVE]:
                    ns = 0.0
                if ns > 0.0:
                    x = take(v, sk, ns)
                    revenue[c, q, v] += x * price[k]  # a sale, at the decision
                    quota_used[k] += x * hk
                    deliver(f, c, q, q + delay, x * hk, x * tk, x, L.CH_LICENSED, fam, d)
                    if controlled:
                        book_site(f, x * tk * (1.0 - d))
                    left += ns - x
                if n - ns > 0.0:
                    refuse(f, c, q, n - ns, hk, tk, sk, v, grp, fam, k)
            elif pol in (L.DENY, L.EMBARGO):  # a policy of denial (the few approvals above) or an embargo
                refuse(f, c, q, n, hk, tk, sk, v, grp, fam, k)
            else:  # capped: UVEU, NVEU, LPP, then licences against the national allocation
                h = inp.firms.hs[f]
                lim = inp.rules.uveu_lim[q]
                nu = nn = nl = 0.0
                if h >= 0 and inp.firms.hs_uveu[h] and lim[0] > 0.0 and inp.rules.tier1[q, c] == 0:
                    fleet = sites[int(h)]
                    tot = sum(fleet.values())
                    out_t1 = sum(x for s, x in fleet.items() if inp.rules.tier1[q, inp.firms.country[s]] == 0)
                    out_us = sum(x for s, x in fleet.items() if inp.firms.country[s] != inp.consts.us_index)
                    rooms = [(lim[0] * tot - out_t1) / (1.0 - lim[0]), (lim[1] * tot - fleet[f]) / (1.0 - lim[1])]
                    if inp.firms.hs_hq_us[h] and c != inp.consts.us_index:
                        rooms.append((lim[2] * tot - out_us) / (1.0 - lim[2]))
                    nu = min(n, max(min(rooms), 0.0) / tk)
                if inp.firms.nveu[f] and inp.rules.nveu_cap[q] > 0.0:
                    nn = min(n - nu, max(inp.rules.nveu_cap[q] / L.H100_TPP - nveu_used[c], 0.0) / tk)
                    if n - nu - nn > 0.0 and nveu_exhaust[c] < 0:
                        nveu_exhaust[c] = q
                if inp.rules.lpp[q] > 0.0:
                    nl = min(
                        n - nu - nn,
                        max(inp.rules.lpp[q] / L.H100_TPP - lpp_used.get(inp.firms.parent[f], 0.0), 0.0) / tk,
                    )
                nc = min(n - nu - nn - nl, max(inp.rules.alloc[q, c] / L.H100_TPP - cap_used[c], 0.0) / tk)
                if n - nu - nn - nl - nc > 0.0:
                    flows[c, q, L.FL_DENIED] += (n - nu - nn - nl - nc) * hk
                    refused[c, q, v] += (n - nu - nn - nl - nc) * price[k]
                    flows[c, q, L.FL_UNMET] += (n - nu - nn - nl - nc) * hk
                    if exhaust[c] < 0:
                        exhaust[c] = q
                if nc > 0.0 and u_lic >= pr[L.P_APPROVE]:
                    flows[c, q, L.FL_DENIED] += nc * hk
                    refused[c, q, v] += nc * price[k]
                    flows[c, q, L.FL_UNMET] += nc * hk
                    nc = 0.0
                for part, path in ((nu, "veu"), (nn, "nveu"), (nl, "lpp"), (nc, "licence")):  # noqa: B007
                    x = take(v, sk, part)
                    revenue[c, q, v] += x * price[k]  # a sale, at the decision
                    left += part - x
                    if x <= 0.0:
                        continue
                    if path == "nveu":
                        nveu_used[c] += x * tk
                    elif path == "lpp":
                        par = inp.firms.parent[f]
                        lpp_used[par] = lpp_used.get(par, 0.0) + x * tk
                        flows[c, q, L.FL_LPP] += x * hk
                    elif path == "licence":
                        cap_used[c] += x * tk
                    ch = {"veu": L.CH_VEU, "nveu": L.CH_VEU, "lpp": L.CH_FREE, "licence": L.CH_LICENSED}[path]
                    deliver(f, c, q, q + (delay if path == "licence" else 0), x * hk, x * tk, x, ch, fam, d)
                    book_site(f, x * tk * (1.0 - d))
            if left > 0.0:
                lapsed = left * hk * waited[f] / vol
                flows[c, q, L.FL_LAPSED] += lapsed
                carry[f] += left * hk - lapsed
                backlog[c] += left * hk - lapsed
        for c in range(C):
            flows[c, q, L.FL_PENDING] = pend[c]
            flows[c, q, L.FL_BACKLOG] = backlog[c]
            flows[c, q, L.FL_CAP_USED] = cap_used[c]

    def window(adds: np.ndarray, q: int) -> float:
        return float(sum(adds[max(0, q - life + 1) : q + 1]))

    left_init = [max(0.0, 1.0 - (q + 1.0) / life) for q in range(Q)]
    stock = np.zeros((C, Q, len(L.CHANNELS)))
    stock_tpp = np.zeros((C, Q))
    family = np.zeros((C, Q, len(L.FAMILIES)))
    units = np.zeros((C, Q, len(L.FAMILIES)))
    largest = np.zeros((C, Q))
    largest_site = np.zeros((C, Q), np.uint8)
    for c in range(C):
        for q in range(Q):
            for ch in range(len(L.CHANNELS)):
                stock[c, q, ch] = window(c_add[c, :, ch], q)
            stock[c, q, L.CH_INITIAL] = pr[L.P_INSTALLED] * inp.terr.init_share[c] * left_init[q]
            stock_tpp[c, q] = window(c_tpp[c], q) + pr[L.P_INSTALLED] * inp.terr.init_share[c] * left_init[q]
            for j in range(len(L.FAMILIES)):
                family[c, q, j] = window(fam_add[c, :, j], q)
                units[c, q, j] = window(unit_add[c, :, j], q)
    cn = [int(f) for f in inp.firms.div_firms]  # diverted chips join these firms pro rata to demand
    total = sum(share[f] for f in cn)
    for f in cn:
        for q in range(Q):
            firm_add[f, q] += diverted[q] * (share[f] / total)
    # a firm's cluster: the co-located share of its chips of one family delivered within the build window, or
    # of the current generation of its initial base (NVIDIA parts), up to the largest site the quarter can hold;
    # the trainable run weighs each by its family's MFU
    cluster, run_loc, run_hq = np.zeros((C, Q)), np.zeros((C, Q)), np.zeros((C, Q))
    for f in range(F):
        c, hq = inp.firms.country[f], inp.firms.hq[f]
        for q in range(Q):
            x = window(firm_add[f].sum(axis=1), q) + init[f] * left_init[q]
            if x < L.TINY_H100E:  # a rounding residue of a retired window is no stock
                x = 0.0
            if x > largest[c, q]:
                largest[c, q], largest_site[c, q] = x, inp.firms.hs[f] >= 0
            first = init[f] * pr[L.P_INIT_CURRENT] * left_init[q]
            sizes = [first] + [float(firm_add[f, max(0, q - win + 1) : q + 1, j].sum()) for j in range(len(L.FAMILIES))]
            sizes = [min(x * coloc, cap[q]) for x in sizes]  # the co-located share, up to the largest site
            runs = [sizes[0] * mfu[L.FAM_NVIDIA]] + [sizes[1 + j] * mfu[j] for j in range(len(L.FAMILIES))]
            cluster[c, q] = max(cluster[c, q], max(sizes))
            run_loc[c, q] = max(run_loc[c, q], max(runs))
            run_hq[hq, q] = max(run_hq[hq, q], max(runs))
    return {
        "stock": stock,
        "stock_tpp": stock_tpp,
        "largest": largest,
        "largest_site": largest_site,
        "flows": flows,
        "exhaust": np.array(exhaust),
        "nveu_exhaust": np.array(nveu_exhaust),
        "nveu_used": np.array(nveu_used),
        "allow_used": np.array(allow_used),
        "family": family,
        "units": units,
        "cluster": cluster,
        "run_loc": run_loc,
        "run_hq": run_hq,
        "revenue": revenue,
        "refused": refused,
    }
