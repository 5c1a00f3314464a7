"""What the kernel takes and gives: ``typing.NamedTuple``s of arrays, one per axis, and ``KernelInputs``,
the groups of one compiled scenario.

Shapes: T trials, F firms, H hyperscalers, C territories, K chips, V vendors, Q quarters, S roadmap slips,
G chip-mix rows. Volumes in H100e (dense 16-bit FLOP/s); caps in TPP. numba types a NamedTuple by its class
and fields, and its cache refers to the class by module and name: each class is defined at module level
under its own name (never rebound), and its fields keep one dtype (the comments say which).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np

from . import layout as L


class Draws(NamedTuple):
    """Per trial: the uncertain inputs drawn for each trial (axis T)."""

    params: np.ndarray  # float64 [T, len(L.PARAMS)]: scalar draws, columns layout.P_*
    quarterly: np.ndarray  # float64 [T, Q, QT_SUPPLY + V]: demand, grey-market capacity, vendor output (layout.QT_*)
    chip_h100e: np.ndarray  # float64 [T, K]: dense 16-bit FLOP/s per chip in H100e (roadmap specs are uncertain)
    weight: np.ndarray  # float64 [T, C]: each territory's share of world demand in the trial (sums to 1)
    chip_price: np.ndarray  # float64 [T, K]: price per chip in the trial, USD
    mfu: np.ndarray  # float64 [T, family]: model FLOP utilisation of a training run on each chip family
    cluster_cap: np.ndarray  # float64 [T, Q]: the largest cluster a site can hold (cluster.frontier_h100e), H100e
    stream: np.ndarray  # int64 [T]: the global trial index whose random stream each row uses (its noise)

    def slice(self, a: int, b: int) -> Draws:
        """Trials [a, b): rows a..b-1, keeping their random streams."""
        return Draws(
            self.params[a:b],
            self.quarterly[a:b],
            self.chip_h100e[a:b],
            self.weight[a:b],
            self.chip_price[a:b],
            self.mfu[a:b],
            self.cluster_cap[a:b],
            self.stream[a:b],
        )


class Firms(NamedTuple):
    """Buying firms (axis F) and the hyperscalers some of them are sites of (axis H)."""

    country: np.ndarray  # int32 [F]: territory where the firm's chips are installed
    parent: np.ndarray  # int32 [F]: ultimate consignee (a firm index) for LPP
    hs: np.ndarray  # int32 [F]: hyperscaler index, -1 for domestic firms
    rank: np.ndarray  # int32 [F]: Zipf rank among the territory's domestic firms (0 = site)
    site_share: np.ndarray  # float64 [F]: hyperscaler site's share of territory demand
    nveu: np.ndarray  # uint8 [F]: firm holds NVEU status in its territory
    mix: np.ndarray  # int32 [F]: the firm's row of the chip-mix tables (buyer group or hyperscaler)
    hs_sites: np.ndarray  # int32 [sites]: hyperscaler site firms, grouped by hyperscaler
    hs_start: np.ndarray  # int32 [H + 1]: hyperscaler h's sites are hs_sites[hs_start[h]:hs_start[h + 1]]
    hs_hq_us: np.ndarray  # uint8 [H]: headquartered in the US
    hs_uveu: np.ndarray  # uint8 [H]: holds UVEU status
    div_firms: np.ndarray  # int32 [*]: domestic firms of the diversion destination (receive diverted chips)
    hq: np.ndarray  # int32 [F]: territory of the firm's headquarters (a site's hyperscaler's; else its own)


class Territories(NamedTuple):
    """Territories (axis C)."""

    weight: np.ndarray  # float64 [C]: share of world demand (central; per trial in Draws.weight): sets firm counts
    dom_share: np.ndarray  # float64 [C]: share of territory demand left to domestic firms
    div: np.ndarray  # float64 [C]: diversion-risk prior (share of divertible shipments)
    init_share: np.ndarray  # float64 [C]: share of the world installed base at the start
    group: np.ndarray  # int8 [C]: buyer group (layout.GROUP_*)
    hw_abroad: np.ndarray  # uint8 [C]: the territory's domestic buyers may order Ascend (the Huawei-abroad row)


class Chips(NamedTuple):
    """Chips (axis K) and vendors (axis V); per-trial FLOP/s rates are in Draws."""

    tpp: np.ndarray  # float64 [K]: total processing performance
    supply: np.ndarray  # float64 [K]: vendor capacity a chip uses, in H100e
    vendor: np.ndarray  # int32 [K]: index into layout.VENDORS
    family: np.ndarray  # int32 [K]: index into layout.FAMILIES
    vendor_china_only: np.ndarray  # uint8 [V]: the vendor sells only to Chinese buyers


class Rules(NamedTuple):
    """The regime per quarter (axis Q)."""

    chip_class: np.ndarray  # int8 [Q, K]: 0 uncontrolled, else the column of policy
    chip_override: np.ndarray  # int8 [Q, K, C]: chip-specific policy, -1 none
    divertible: np.ndarray  # uint8 [Q, K]: the chip is not free to the diversion destination
    policy: np.ndarray  # int8 [Q, C, 2]: destination policy (layout.FREE...) per controlled class
    alloc: np.ndarray  # float64 [Q, C]: national allocation, TPP
    lpp: np.ndarray  # float64 [Q]: LPP allowance per consignee and calendar year, TPP
    uveu_lim: np.ndarray  # float64 [Q, 3]: UVEU share limits (outside Tier 1, one country, outside the US)
    nveu_cap: np.ndarray  # float64 [Q]: NVEU allocation, TPP
    tier1: np.ndarray  # uint8 [Q, C]
    allow_tpp: np.ndarray  # float64 [Q, C]: pre-approved TPP per calendar year (bilateral deals)
    share_ratio: np.ndarray  # float64 [Q]: 'licence_share' limit as a share of US volume of the same chip
    share_chip: np.ndarray  # uint8 [Q, K]: the chip's US volume is counted in the quarter (the rule's period)
    guidance_on: np.ndarray  # uint8 [Q, C]: diversion guidance applies
    lv_on: np.ndarray  # uint8 [Q]: location verification in force
    fallback: np.ndarray  # int32 [Q, NF]: fallback chips in order, -1 padded
    year_start: np.ndarray  # uint8 [Q]: quarter opens a calendar year (LPP resets)
    demand_add: np.ndarray  # float64 [Q, C]: contracted demand of the scenario's deals, H100e a quarter


class Tables(NamedTuple):
    """Lookup tables."""

    mix_prob: np.ndarray  # float64 [S, G, Q, K]: alias-method thresholds of the chip mix, per roadmap slip
    mix_alias: np.ndarray  # int32 [S, G, Q, K]: alias-method alternatives
    ztab: np.ndarray  # float64 [2**ZTAB_BITS]: standard normal quantiles (order-size noise)


class Consts(NamedTuple):
    """Scalars."""

    key: np.uint64  # root key of the counter-based generator (from the seed)
    div_dest: int  # territory receiving diverted chips
    us_index: int  # the United States
    m: int  # orders per firm per quarter
    g_abroad: int = -1  # row of the chip-mix tables of the Huawei-abroad buyers, -1 for none

    def typed(self) -> Consts:
        """The same with one type per field (uint64, then ints), so the kernel compiles one signature."""
        return Consts(np.uint64(self.key), int(self.div_dest), int(self.us_index), int(self.m), int(self.g_abroad))


class Outputs(NamedTuple):
    """Per trial t, territory c, quarter q. ``exhaust``: first quarter the national allocation (an NVEU
    allocation) is used up, -1 if never; ``nveu_used``, ``allow_used``: what the NVEU cap and the pre-approved
    allowances gave by the run's end (sim/invariants.py checks them against their limits)."""

    stock: np.ndarray  # float32 [T, C, Q, channel], H100e (FLOP/s), channels layout.CH_*
    stock_tpp: np.ndarray  # float32 [T, C, Q], H100e (TPP)
    largest: np.ndarray  # float32 [T, C, Q], H100e (FLOP/s) of the largest firm located in c
    largest_site: np.ndarray  # uint8 [T, C, Q]: that firm is a hyperscaler site (headquartered in the US)
    flows: np.ndarray  # float32 [T, C, Q, flow], flows layout.FL_*
    exhaust: np.ndarray  # int16 [T, C]
    nveu_exhaust: np.ndarray  # int16 [T, C]
    nveu_used: np.ndarray  # float64 [T, C]: NVEU allocation used by the run's end, H100e by TPP
    allow_used: np.ndarray  # float64 [T, C]: pre-approved (bilateral deal) volume used by the run's end, H100e by TPP
    family: np.ndarray  # float32 [T, C, Q, family]: stock delivered during the run by chip family, H100e (FLOP/s)
    units: np.ndarray  # float32 [T, C, Q, family]: the same stock in chips (units)
    revenue: np.ndarray  # float32 [T, C, Q, vendor]: legal sales to territory c decided in quarter q, USD (smuggled
    # chips were sold to a legal buyer elsewhere, not attributed)
    refused: np.ndarray  # float32 [T, C, Q, vendor]: orders the rules refused, at the chip's price (gross), USD
    # training clusters: a firm's cluster is its chips of one family delivered within the trial's build window
    # (or the current generation of its initial base), before the co-location share (metrics apply it)
    cluster: np.ndarray  # float32 [T, C, Q]: the largest cluster located in c, H100e (FLOP/s)
    run_loc: np.ndarray  # float32 [T, C, Q]: the largest cluster × its family's MFU located in c, H100e
    run_hq: np.ndarray  # float32 [T, C, Q]: the same over firms headquartered in c, wherever located

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
            np.zeros((T, C)),
            np.zeros((T, C)),
            np.zeros((T, C, Q, len(L.FAMILIES)), np.float32),
            np.zeros((T, C, Q, len(L.FAMILIES)), np.float32),
            np.zeros((T, C, Q, len(L.VENDORS)), np.float32),
            np.zeros((T, C, Q, len(L.VENDORS)), np.float32),
            np.zeros((T, C, Q), np.float32),
            np.zeros((T, C, Q), np.float32),
            np.zeros((T, C, Q), np.float32),
        )

    def slice(self, a: int, b: int) -> Outputs:
        """Trials [a, b) (views: the kernel writes through them)."""
        return Outputs(*(x[a:b] for x in self))

    def arrays(self) -> tuple:
        return tuple(self)


class Trial(NamedTuple):
    """Inside the kernel: one trial's constants, derived from its draws."""

    t: int  # row of Draws and Outputs
    tkey: np.uint64  # the trial's random stream
    h100e: np.ndarray  # float64 [K]: H100e (FLOP/s) per chip
    tk: np.ndarray  # float64 [K]: H100e by TPP per chip
    itk: np.ndarray  # float64 [K]: 1 / tk
    ihk: np.ndarray  # float64 [K]: 1 / h100e
    isk: np.ndarray  # float64 [K]: 1 / Chips.supply
    etab: np.ndarray  # float64 [2**ZTAB_BITS]: mean-one log-normal order-size factors
    fshare: np.ndarray  # float64 [F]: the firm's share of world demand
    wf: np.ndarray  # float64 [F]: the firm's share of its territory's demand
    firm_init: np.ndarray  # float64 [F]: the firm's installed base at the start, H100e
    delay: int  # licence delay, quarters in [0, Q]
    life: int  # service life, quarters >= 1
    slip: int  # roadmap slip, a row of the chip-mix tables
    sub_r: float  # fallback chips per refused chip
    hw_share: float  # share of eligible buyers' orders that go to the Huawei-abroad row
    smug: float  # share of refused demand smugglers serve, before enforcement
    price: np.ndarray  # float64 [K]: price per chip, USD
    p_app: float  # licence approval probability (presumption of approval)
    p_app_den: float  # approval probability under a policy of denial
    div_mult: float  # diversion multiplier
    cut_g: float  # diversion cut by guidance
    cut_lv: float  # diversion cut by location verification
    installed: float  # world installed base at the start, H100e
    window: int  # cluster build window, quarters >= 1
    init_current: float  # share of a firm's initial base of the current generation (one cluster)
    mfu: np.ndarray  # float64 [family]: MFU of a training run per chip family
    coloc: float  # share of a firm's same-family chips in its largest site
    cap: np.ndarray  # float64 [Q]: the largest cluster a site can hold, H100e


class State(NamedTuple):
    """Inside the kernel: one trial's accumulators (float64; H100e unless noted)."""

    flows: np.ndarray  # [Q, C, flow]: copied to the float32 output at the end
    firm_add: np.ndarray  # float32 [Q, F, family]: deliveries per firm and chip family by quarter of arrival
    c_add: np.ndarray  # [Q, C, channel]: stock added
    c_tpp: np.ndarray  # [Q, C]: stock added, H100e by TPP
    due: np.ndarray  # [Q, C]: licensed volume arriving in the quarter
    dv: np.ndarray  # [Q, C]: diverted from territory c, arriving in the quarter
    dv_tpp: np.ndarray  # [Q, C]: the same by TPP
    f_add: np.ndarray  # [Q, C, family]: stock added by chip family (diverted chips at the diversion destination)
    dv_f: np.ndarray  # [Q, family]: diverted chips by family, arriving in the quarter at the diversion destination
    u_add: np.ndarray  # [Q, C, family]: the same as f_add in chips (units)
    dv_u: np.ndarray  # [Q, family]: the same as dv_f in chips
    rev: np.ndarray  # [Q, C, vendor]: sales booked, USD
    refv: np.ndarray  # [Q, C, vendor]: refused orders at price, USD
    pend: np.ndarray  # [C]: licensed, not yet delivered
    backlog: np.ndarray  # [C]: waiting for next quarter's supply
    firm: np.ndarray  # [F, FS_COLUMNS]: per-firm state within the quarter (layout.FS_*)
    supply: np.ndarray  # [V]: vendor capacity left this quarter
    pol: np.ndarray  # int8 [K, C]: this quarter's effective policy per chip and territory
    dshare: np.ndarray  # [C]: this quarter's diversion share of divertible chips
    hs_tot: np.ndarray  # [H]: each hyperscaler's controlled chips (H100e by TPP), for the UVEU shares
    hs_out_us: np.ndarray  # [H]: the same outside the US
    site_cum: np.ndarray  # [F]: the same per site
    lpp_used: np.ndarray  # [F]: LPP used this calendar year per consignee (H100e by TPP)
    cap_used: np.ndarray  # [C]: national allocation used (H100e by TPP)
    nveu_used: np.ndarray  # [C]: NVEU allocation used (H100e by TPP)
    allow_used: np.ndarray  # [C]: pre-approved volume used (H100e by TPP)
    share_us: np.ndarray  # [K]: US customers' volume per chip in the 'licence_share' period (H100e)
    share_used: np.ndarray  # [K]: volume licensed per chip under 'licence_share' (H100e)


class Order(NamedTuple):
    """Inside the kernel: one order's firm, territory and chip."""

    f: int  # firm
    c: int  # territory
    q: int  # quarter
    h: int  # the firm's hyperscaler, -1 for none
    abroad: bool  # the territory is not the US
    grp: int  # the territory's buyer group
    v: int  # the chip's vendor
    fam: int  # the chip's family
    price: float  # the chip's price, USD
    hk: float  # H100e per chip
    tk: float  # H100e by TPP per chip
    itk: float  # 1 / tk
    sk: float  # vendor capacity per chip
    isk: float  # 1 / sk
    d: float  # share of a shipment diverted to Tier-3 buyers


def plain(nt):
    """``nt`` (a NamedTuple) with every array C-contiguous and writable, copied where not (a polars column
    is read-only, a concatenation may be strided): numba types both properties, so inputs from any source
    share one compiled kernel."""
    return type(nt)(
        *(
            np.array(x, order="C")
            if isinstance(x, np.ndarray) and not (x.flags.c_contiguous and x.flags.writeable)
            else x
            for x in nt
        )
    )


# the flat names of the former KernelInputs, kept as aliases: name → (group, field)
_RENAMED = {
    "firm_country": ("firms", "country"),
    "firm_parent": ("firms", "parent"),
    "firm_hs": ("firms", "hs"),
    "firm_rank": ("firms", "rank"),
    "firm_site_share": ("firms", "site_share"),
    "firm_nveu": ("firms", "nveu"),
    "firm_mix": ("firms", "mix"),
    "cn_firms": ("firms", "div_firms"),
    "firm_hq": ("firms", "hq"),
    "c_weight": ("terr", "weight"),
    "c_dom_share": ("terr", "dom_share"),
    "c_div": ("terr", "div"),
    "c_init_share": ("terr", "init_share"),
    "c_group": ("terr", "group"),
    "chip_tpp": ("chips", "tpp"),
    "chip_supply": ("chips", "supply"),
    "chip_vendor": ("chips", "vendor"),
    "chip_family": ("chips", "family"),
    "c_hw_abroad": ("terr", "hw_abroad"),
}
GROUPS = {
    "draws": Draws,
    "firms": Firms,
    "terr": Territories,
    "chips": Chips,
    "rules": Rules,
    "tables": Tables,
    "consts": Consts,
}
ALIASES = {
    **{f: ("draws", f) for f in ("params", "quarterly", "chip_h100e")},
    "c_weight_draws": ("draws", "weight"),
    "chip_price": ("draws", "chip_price"),
    "mfu": ("draws", "mfu"),
    "cluster_cap": ("draws", "cluster_cap"),
    **{f: ("firms", f) for f in ("hs_sites", "hs_start", "hs_hq_us", "hs_uveu")},
    "vendor_china_only": ("chips", "vendor_china_only"),
    **{f: ("rules", f) for f in Rules._fields},
    **{f: ("tables", f) for f in Tables._fields},
    **{f: ("consts", f) for f in Consts._fields},
    **_RENAMED,
}


@dataclass
class KernelInputs:
    """Everything the kernel needs, as arrays grouped by axis (see the classes above). The flat names of
    earlier versions (``inputs.firm_country``, ``inputs.m``, ``inputs.params``...: ``ALIASES``) read and
    assign the group fields."""

    draws: Draws
    firms: Firms
    terr: Territories
    chips: Chips
    rules: Rules
    tables: Tables
    consts: Consts

    @property
    def shape(self) -> tuple[int, int, int]:
        """(T, C, Q): trials, territories, quarters (the shape of Outputs.empty)."""
        return self.draws.params.shape[0], self.terr.weight.shape[0], self.rules.policy.shape[0]

    def plain(self) -> KernelInputs:
        """The same inputs with every array C-contiguous and writable (see ``plain``)."""
        return KernelInputs(*(plain(getattr(self, g)) for g in GROUPS))

    def subset(self, trials: int) -> KernelInputs:
        """The first ``trials`` trials (same draws: trial i depends only on seed and i)."""
        return replace(self, draws=self.draws.slice(0, trials))

    @classmethod
    def from_flat(cls, **flat) -> KernelInputs:
        """From the flat names (``ALIASES``: every one is needed, but for inputs added in 0.3: chip families,
        the Huawei-abroad flags, row and share, which default to none, so inputs stored before keep working)."""
        flat = dict(flat)
        K, C = len(flat["chip_tpp"]), len(flat["c_weight"])
        flat.setdefault("chip_family", np.zeros(K, np.int32))
        flat.setdefault("c_hw_abroad", np.zeros(C, np.uint8))
        flat.setdefault("g_abroad", -1)
        flat.setdefault("c_weight_draws", np.repeat(np.asarray(flat["c_weight"])[None, :], len(flat["params"]), axis=0))
        flat.setdefault("demand_add", np.zeros((len(flat["year_start"]), C)))
        flat.setdefault("chip_price", np.zeros((len(flat["params"]), K)))
        flat.setdefault("mfu", np.ones((len(flat["params"]), len(L.FAMILIES))))
        flat.setdefault("cluster_cap", np.full((len(flat["params"]), np.shape(flat["policy"])[0]), np.inf))
        flat.setdefault("firm_hq", np.asarray(flat["firm_country"], np.int32))
        p = flat["params"]
        if p.shape[1] < len(L.PARAMS):  # parameters appended since: zero, but a whole firm's cluster co-located
            flat["params"] = np.hstack([p, np.zeros((p.shape[0], len(L.PARAMS) - p.shape[1]))])
            if p.shape[1] <= L.P_COLOC:
                flat["params"][:, L.P_COLOC] = 1.0
        parts = {g: {} for g in GROUPS}
        for name, value in flat.items():
            g, f = ALIASES[name]
            parts[g][f] = value
        parts["draws"]["stream"] = np.arange(len(flat["params"]), dtype=np.int64)
        return cls(**{g: GROUPS[g](**parts[g]) for g in GROUPS})

    def flat(self) -> dict:
        """Every input by its flat name (the inverse of ``from_flat``)."""
        return {name: getattr(getattr(self, g), f) for name, (g, f) in ALIASES.items()}


def _alias(group: str, field: str) -> property:
    def get(self):
        return getattr(getattr(self, group), field)

    def set(self, value):
        setattr(self, group, getattr(self, group)._replace(**{field: value}))

    return property(get, set, doc=f"``{group}.{field}``")


for _name, (_g, _f) in ALIASES.items():
    setattr(KernelInputs, _name, _alias(_g, _f))
