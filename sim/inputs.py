"""Compile a scenario into the arrays the kernel takes (KernelInputs, grouped by axis: the uncertain inputs
drawn per trial, firms, territories, chips, rules per quarter, tables, constants). Pure data preparation,
no rules."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import stats

from . import paths as timepaths
from . import quarters, uncertainty
from .chips import CHIPS_CSV, H100_FP16_TFLOPS, load_chips
from .contracts import demand_add
from .errors import DataError, ScenarioError
from .firms import firms
from .kernel import layout as L
from .kernel.structures import Chips, Consts, Draws, Firms, KernelInputs, Rules, Tables, Territories
from .regimes.compile import RegimeArrays, compile_regime
from .scenario import Scenario
from .training import mfu_by_family


@dataclass
class Compiled:
    inputs: KernelInputs
    regime: RegimeArrays
    chips: pl.DataFrame
    iso3: list[str]
    labels: list[str]
    firm_names: list[str]
    draws: dict[str, np.ndarray]  # every uncertain input per trial (also the ones used in metrics)
    abroad: list[int]  # territories where Chinese developers rent clusters (training_abroad.countries)
    first_trial: int = 0  # the run's trial number of the first row (a block's first trial)


def divertible(reg: RegimeArrays, dest: int) -> np.ndarray:
    """uint8 [Q, K]: chips worth diverting, those the rules do not let ship freely to ``dest``."""
    cls = reg.chip_class.astype(np.int64)
    by_class = np.where(
        cls == 0, L.FREE, reg.policy[:, dest, :][np.arange(cls.shape[0])[:, None], np.maximum(cls - 1, 0)]
    )
    eff = np.where(reg.chip_override[:, :, dest] >= 0, reg.chip_override[:, :, dest], by_class)
    return (eff != L.FREE).astype(np.uint8)


def supply_cost(chips: pl.DataFrame) -> np.ndarray:
    """Vendor capacity one chip uses, in H100e: the larger of its dense 16-bit FLOP/s and its logic-die
    area, each relative to the H100 (814 mm²). A cut-down part (H20: a full H100 die at 15 % of the
    FLOP/s) costs its maker as much as the full part. Vendors whose output is given in FLOP terms
    (layout.FLOP_COSTED_VENDORS: Huawei) pay FLOP/s alone, and so do parts not designed for data centres
    (RTX 4090 D: gaming boards with GDDR memory, outside the packaging-bound data-centre output)."""
    die = chips["die_area_mm2"].fill_null(0.0).to_numpy() / 814.0
    flop_only = chips["vendor"].is_in(list(L.FLOP_COSTED_VENDORS)).to_numpy()
    flop_only |= ~chips["data_center"].cast(pl.Boolean).to_numpy()
    flops = chips["h100e_flops"].to_numpy()
    return np.where(flop_only, flops, np.maximum(flops, die))


def chip_dists(chips: pl.DataFrame) -> dict[str, uncertainty.Dist]:
    """The chip catalogue's uncertain inputs by stream name: ``chips.<name>.fp16_dense_tflops`` (a lognormal
    with the 90 % interval ``fp16_ci90_low``/``fp16_ci90_high``: roadmap parts whose 16-bit rate is not
    published, TFLOP/s) and ``chips.<name>.price_usd`` (the interval ``price_low_usd``/``price_high_usd``, USD;
    fixed where it is a point)."""
    dists = {}
    has_fp16 = "fp16_ci90_low" in chips.columns
    for r in chips.iter_rows(named=True):
        lo, hi = (r["fp16_ci90_low"], r["fp16_ci90_high"]) if has_fp16 else (None, None)
        if lo is not None or hi is not None:
            if lo is None or hi is None or not 0 < lo < hi:
                raise DataError(CHIPS_CSV, f"fp16_ci90_low/fp16_ci90_high ({r['name']})", "expected 0 < low < high")
            name = f"chips.{r['name']}.fp16_dense_tflops"
            dists[name] = uncertainty.interval(lo, hi, CHIPS_CSV, name)
        lo, hi = r.get("price_low_usd"), r.get("price_high_usd")
        if lo is not None and hi is not None:
            name = f"chips.{r['name']}.price_usd"
            dists[name] = uncertainty.interval(lo, hi, CHIPS_CSV, name)
    return dists


def chip_h100e_draws(
    chips: pl.DataFrame, seed: int, T: int, design: uncertainty.Design | None = None
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Dense 16-bit FLOP/s per chip and trial in H100e [T, K]: the catalogue's value, or, for chips with an
    interval, a draw from the stream ``chips.<name>.fp16_dense_tflops`` (``chip_dists``). Also returns the
    draws by stream name (TFLOP/s)."""
    out = np.repeat(chips["h100e_flops"].to_numpy()[None, :], T, axis=0)
    dists, draws = chip_dists(chips), {}
    for k, chip in enumerate(chips["name"]):
        name = f"chips.{chip}.fp16_dense_tflops"
        if name in dists:
            draws[name] = dists[name].ppf(uncertainty.uniforms(seed, name, T, design))
            out[:, k] = draws[name] / H100_FP16_TFLOPS
    return out, draws


def chip_price_draws(
    chips: pl.DataFrame, seed: int, T: int, design: uncertainty.Design | None = None
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Price per chip and trial, USD [T, K]: a draw from the stream ``chips.<name>.price_usd``
    (``chip_dists``), 0 where the catalogue has no price. Also returns the draws by stream name."""
    out = np.zeros((T, chips.height))
    dists, draws = chip_dists(chips), {}
    for k, chip in enumerate(chips["name"]):
        name = f"chips.{chip}.price_usd"
        if name in dists:
            draws[name] = out[:, k] = dists[name].ppf(uncertainty.uniforms(seed, name, T, design))
    return out, draws


def smuggling_take_up(draws: dict[str, np.ndarray]) -> np.ndarray:
    """Per trial: the share of refused demand smugglers serve before enforcement, base × (1 + premium) ^
    -elasticity (buyers who would pay list price, fewer the dearer smuggled chips are), within [0, 1]."""
    base = draws["smuggling.base_take_up"]
    premium = draws["smuggling.price_premium"]
    return np.clip(base * (1.0 + premium) ** -draws["smuggling.price_elasticity"], 0.0, 1.0)


def country_weights(sc: Scenario, weights: np.ndarray, draws: dict[str, np.ndarray]) -> np.ndarray:
    """float64 [T, C]: each territory's share of world demand per trial: the calibrated territories' draws
    (``demand_weight.<iso3>``), the others their central weight, renormalised to sum to 1."""
    T = len(draws["service_life_quarters"])
    out = np.repeat(weights[None, :], T, axis=0)
    idx = sc.world.index()
    for iso in sc.world.demand_ranges:
        if weights[idx[iso]] > 0:  # a territory without demand keeps none (it has no firms)
            out[:, idx[iso]] = draws[f"demand_weight.{iso}"]
    return out / out.sum(axis=1, keepdims=True)


def root_key(seed: int) -> np.uint64:
    return np.random.SeedSequence(seed).generate_state(1, np.uint64)[0]


def alias_table(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Walker's alias table (Vose's construction) of weights ``w`` [K]: column i is drawn uniformly and
    kept with probability prob[i], else replaced by alias[i]."""
    K = len(w)
    p = np.asarray(w, float) * K / np.sum(w)
    prob, alias = np.ones(K), np.arange(K, dtype=np.int32)
    small = [i for i in range(K) if p[i] < 1.0]
    large = [i for i in range(K) if p[i] >= 1.0]
    while small and large:
        s, g = small.pop(), large.pop()
        prob[s], alias[s] = p[s], g
        p[g] = p[g] + p[s] - 1.0
        (small if p[g] < 1.0 else large).append(g)
    return prob, alias


ABROAD_ROW = "huawei_abroad"


def mix_groups(sc: Scenario) -> list[str]:
    """Rows of the chip-mix tables: the buyer groups, hyperscalers with a mix of their own, then the buyers
    of Huawei's sales abroad (when the assumptions give them a mix)."""
    hs = set(sc.world.sites["hyperscaler"].to_list())
    mix = sc.assumptions.structure["chip_mix"]
    return ["world", "china"] + [g for g in mix if g in hs] + ([ABROAD_ROW] if ABROAD_ROW in mix else [])


def huawei_abroad(sc: Scenario, groups: list[str]) -> tuple[np.ndarray, int]:
    """uint8 [C]: territories whose domestic buyers may order Ascend (``huawei_abroad.countries`` of the
    assumptions, resolved at the first quarter's midpoint, Chinese buyers excluded), and the mix row they order from."""
    C = len(sc.world.iso3)
    spec = sc.assumptions.structure.get("huawei_abroad")
    if spec is None or ABROAD_ROW not in groups:
        return np.zeros(C, np.uint8), -1
    china = set(sc.assumptions.structure["buyers"]["china"])
    members = sc.world.resolve(
        spec.get("countries", []), quarters.midpoint(sc.labels[0]), sc.assumptions.path, "huawei_abroad.countries"
    )
    flags = np.array([iso in members and iso not in china for iso in sc.world.iso3], np.uint8)
    return flags, groups.index(ABROAD_ROW)


def _chip_mix(sc: Scenario, chips: pl.DataFrame, labels: list[str], slips: int) -> tuple[np.ndarray, np.ndarray]:
    """Alias tables [S, G, Q, K] of the chip an order asks for, by roadmap slip s (transitions from
    ``chip_mix.slip_from`` on happen s quarters late), mix row and quarter. A mix row is keyed by a year
    (from its Q1) or a quarter ("2026Q3") and holds until the next key."""
    names = chips["name"].to_list()
    mix = sc.assumptions.structure["chip_mix"]
    path = sc.assumptions.path
    groups = mix_groups(sc)
    slip_from = mix.get("slip_from", labels[0])
    first = quarters.parse_label(slip_from)
    last = quarters.parse_label(labels[-1])
    # a slip of (last - slip_from + 1) quarters or more holds every roadmap quarter at the table before
    # slip_from: one table serves them all (the kernel takes the last table for longer slips)
    slips = max(1, min(slips, max(0, 4 * (last[0] - first[0]) + last[1] - first[1] + 1) + 1))
    prob = np.ones((slips, len(groups), len(labels), len(names)))
    alias = np.zeros((slips, len(groups), len(labels), len(names)), np.int32)
    for g, group in enumerate(groups):
        raw = mix.get(group, {})
        if not isinstance(raw, dict) or not raw:
            raise ScenarioError(path, f"chip_mix.{group}", "missing")
        rows = {}  # quarter index → alias table
        for key, row in raw.items():
            try:
                y, qq = quarters.parse_label(key) if "Q" in str(key) else (int(key), 1)
            except ValueError:
                raise ScenarioError(
                    path, f"chip_mix.{group}.{key}", "expected a year or a quarter like 2026Q3"
                ) from None
            w = np.zeros(len(names))
            for chip, weight in row.items():
                if chip not in names:
                    raise ScenarioError(path, f"chip_mix.{group}.{key}.{chip}", "unknown chip")
                if not weight >= 0:
                    raise ScenarioError(path, f"chip_mix.{group}.{key}.{chip}", "weight must be >= 0")
                w[names.index(chip)] = weight
            if w.sum() <= 0:
                raise ScenarioError(path, f"chip_mix.{group}.{key}", "no positive weight")
            rows[4 * y + qq - 1] = alias_table(w)
        first_row = min(rows)
        for s in range(slips):
            for q, lab in enumerate(labels):
                y, qq = quarters.parse_label(lab)
                k = 4 * y + qq - 1
                if (y, qq) >= first:  # roadmap era: shifted back s quarters, not before slip_from
                    k = max(k - s, 4 * first[0] + first[1] - 2)
                prob[s, g, q], alias[s, g, q] = rows[max((x for x in rows if x <= k), default=first_row)]
    return prob, alias


def _installed_shares(sc: Scenario, start: str) -> dict[str, float]:
    """Shares of the world installed base by territory at the start quarter: ``installed_base.shares``
    is either iso3 → share or year → (iso3 → share), the latest year not after the start."""
    shares = sc.assumptions.structure["installed_base"]["shares"]
    if shares and all(str(k).isdigit() for k in shares):
        year = quarters.parse_label(start)[0]
        shares = shares[max((k for k in shares if int(k) <= year), key=int, default=min(shares, key=int))]
    return shares


def compile_scenario(sc: Scenario, design: uncertainty.Design | None = None) -> Compiled:
    """The kernel's inputs for scenario ``sc``, its per-trial draws and its compiled regime. With a ``design``
    (one row per trial), the inputs it names take its uniforms, and each row uses the noise of the trial it
    names (a block of trials or a sensitivity design: sim/execution, sim/sensitivity_analysis)."""
    if design is not None and design.rows != sc.trials:
        raise ValueError(f"the design has {design.rows} rows for {sc.trials} trials")
    chips = load_chips()
    labels = sc.labels
    iso3, idx = sc.world.iso3, sc.world.index()
    reg = compile_regime(sc.timeline, sc.world, chips, labels, sc.g2g, sc.nveu)
    countries = sc.world.countries
    weights = countries["demand_weight"].to_numpy().astype(float)
    weights = weights / weights.sum()
    (f_country, f_parent, f_hs, f_rank, f_sshare, f_nveu, dom_share, hq_us, uveu, names, f_hq) = firms(sc, weights, idx)
    for k in sc.contracts:  # contracted demand needs buyers to order it
        if not (f_country == idx[k.iso3]).any():
            raise ScenarioError(
                sc.path, f"regime.contracted_demand.{k.iso3}", "the territory has no buyers (no demand weight)"
            )
    s = sc.assumptions.structure
    china = s["buyers"]["china"]
    group = np.array([L.GROUP_CHINA if c in china else L.GROUP_WORLD for c in iso3], np.int8)
    init = np.zeros(len(iso3))
    for iso, share in _installed_shares(sc, labels[0]).items():
        if iso not in idx:
            raise ScenarioError(sc.assumptions.path, f"installed_base.shares.{iso}", "unknown territory")
        init[idx[iso]] = share
    abroad = s.get("training_abroad", {}).get("countries", [])
    for iso in abroad:
        if iso not in idx:
            raise ScenarioError(sc.assumptions.path, "training_abroad.countries", f"unknown territory {iso!r}")
    rest = 1.0 - init.sum()
    free = init == 0
    if weights[free].sum() > 0:
        init[free] = rest * weights[free] / weights[free].sum()
    vendors = list(L.VENDORS)
    unknown_vendor = set(chips["vendor"]) - set(vendors)
    if unknown_vendor:
        raise ScenarioError("sim/world/chips.csv", "vendor", f"unknown vendor {sorted(unknown_vendor)[0]!r}")
    chip_names = chips["name"].to_list()
    fb = []
    for name in s["fallback"]["chips"]:
        if name not in chip_names:
            raise ScenarioError(sc.assumptions.path, "fallback.chips", f"unknown chip {name!r}")
        fb.append(chip_names.index(name))
    years = np.array([int(lab[:4]) for lab in labels])
    avail = chips["year"].to_numpy() if "year" in chips.columns else np.zeros(len(chip_names))
    fallback = np.full((len(labels), max(1, len(fb))), -1, np.int32)
    for q in range(len(labels)):
        ok = [k for k in fb if avail[k] <= years[q]]
        fallback[q, : len(ok)] = ok
    draws = uncertainty.draw(sc.assumptions.dists, sc.seed, sc.trials, design)
    rows = None if design is None else np.asarray(design.noise, np.int64)
    paths = {n: timepaths.level(spec, draws, sc.seed, labels, rows) for n, spec in sc.assumptions.paths.items()}
    draws["installed_base.world_h100e"] = paths["installed_base.world_h100e"][:, 0]
    draws["smuggling.take_up"] = smuggling_take_up(draws)
    trial_weights = country_weights(sc, weights, draws)
    params = np.column_stack([draws[name] for name, _ in L.PARAMS])
    supply = np.stack([paths[name] for name in L.SUPPLY_PATHS], axis=2)  # [T, Q, V]
    grey = draws["grey_market.share_of_nvidia_output"][:, None] * supply[:, :, L.VENDORS.index("NVIDIA")]
    quarterly = np.concatenate([paths["demand.world_h100e_per_quarter"][:, :, None], grey[:, :, None], supply], axis=2)
    top = np.nan_to_num(params[:, L.P_SLIP], nan=0.0).max(initial=0.0)  # the longest roadmap slip drawn
    slips = int(round(min(top, 1e6))) + 1
    groups = mix_groups(sc)
    hw_flags, g_abroad = huawei_abroad(sc, groups)
    hs_names = list(dict.fromkeys(sc.world.sites["hyperscaler"].to_list()))
    firm_mix = np.array(
        [groups.index(hs_names[h]) if h >= 0 and hs_names[h] in groups else group[c] for c, h in zip(f_country, f_hs)],
        np.int32,
    )
    mix_prob, mix_alias = _chip_mix(sc, chips, labels, max(1, slips))
    chip_h100e, chip_draws = chip_h100e_draws(chips, sc.seed, sc.trials, design)
    draws.update(chip_draws)
    chip_price, price_draws = chip_price_draws(chips, sc.seed, sc.trials, design)
    draws.update(price_draws)
    if design is not None and set(design.u) - set(draws):
        raise ValueError(f"the design names an unknown input: {sorted(set(design.u) - set(draws))[0]!r}")
    ztab = stats.norm.ppf((np.arange(2**L.ZTAB_BITS) + 0.5) / 2**L.ZTAB_BITS)
    div = idx[s["buyers"]["diversion_destination"]]
    inputs = KernelInputs(
        draws=Draws(
            params,
            quarterly,
            chip_h100e,
            trial_weights,
            chip_price,
            mfu_by_family(draws),
            paths["cluster.frontier_h100e"],
            np.arange(sc.trials, dtype=np.int64) if rows is None else rows,
        ),
        firms=Firms(
            country=f_country,
            parent=f_parent,
            hs=f_hs,
            rank=f_rank,
            site_share=f_sshare,
            nveu=f_nveu,
            mix=firm_mix,
            hs_sites=np.argsort(np.where(f_hs >= 0, f_hs, len(hq_us)), kind="stable")[: int((f_hs >= 0).sum())].astype(
                np.int32
            ),
            hs_start=np.searchsorted(np.sort(f_hs[f_hs >= 0]), np.arange(len(hq_us) + 1)).astype(np.int32),
            hs_hq_us=hq_us,
            hs_uveu=uveu,
            div_firms=np.flatnonzero((f_country == div) & (f_rank > 0)).astype(np.int32),
            hq=f_hq,
        ),
        terr=Territories(
            weight=weights,
            dom_share=dom_share,
            div=countries["diversion_risk"].to_numpy().astype(float),
            init_share=init,
            group=group,
            hw_abroad=hw_flags,
        ),
        chips=Chips(
            tpp=chips["tpp"].to_numpy(),
            supply=supply_cost(chips),
            vendor=np.array([vendors.index(v) for v in chips["vendor"]], np.int32),
            family=np.array([L.FAMILIES.index(x) for x in chips["family"]], np.int32),
            vendor_china_only=np.array([v in L.CHINA_ONLY_VENDORS for v in vendors], np.uint8),
        ),
        rules=Rules(
            chip_class=reg.chip_class,
            chip_override=reg.chip_override,
            divertible=divertible(reg, div),
            policy=reg.policy,
            alloc=reg.alloc,
            lpp=reg.lpp,
            uveu_lim=reg.uveu_lim,
            nveu_cap=reg.nveu_cap,
            tier1=reg.tier1,
            allow_tpp=reg.allow_tpp,
            share_ratio=reg.share_ratio,
            share_chip=reg.share_chip,
            guidance_on=reg.guidance_on,
            lv_on=reg.lv_on,
            fallback=fallback,
            year_start=np.array([lab.endswith("Q1") for lab in labels], np.uint8),
            demand_add=demand_add(sc.contracts, iso3, labels),
        ),
        tables=Tables(mix_prob=mix_prob, mix_alias=mix_alias, ztab=ztab),
        consts=Consts(
            key=root_key(sc.seed), div_dest=div, us_index=idx["USA"], m=sc.orders_per_quarter, g_abroad=g_abroad
        ),
    ).plain()
    first = int(rows[0]) if rows is not None and len(rows) else 0
    return Compiled(inputs, reg, chips, iso3, labels, names, draws, [idx[c] for c in abroad], first)
