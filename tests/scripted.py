"""A scripted world where one firm places known orders, for legislated-case tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from sim.inputs import compile_scenario
from sim.kernel import layout as L
from sim.kernel.allocate import run_kernel
from sim.scenario import load_scenario
from sim.world import World

ROOT = Path(__file__).resolve().parents[1]


def small_world(world: World, buyers: dict[str, float], sites: list[tuple[str, str, float]] = ()) -> World:
    """The world with demand only in ``buyers`` (iso3 → weight), no diversion, and only the hyperscaler
    ``sites`` given as (hyperscaler, site iso3, share of the site's demand)."""
    c = world.countries.with_columns(
        pl.col("iso3").replace_strict(buyers, default=0.0, return_dtype=pl.Float64).alias("demand_weight"),
        pl.lit(0.0).alias("diversion_risk"),
    )
    site_rows = pl.DataFrame(
        {
            "hyperscaler": [h for h, _, _ in sites],
            "hq_iso3": ["USA"] * len(sites),
            "site_iso3": [c for _, c, _ in sites],
            "share_of_site_demand": [x for _, _, x in sites],
            "source": ["test"] * len(sites),
        },
        schema=world.sites.schema,
    )
    return World(c, world.groups, site_rows)


def write_scenario(
    tmp_path: Path,
    regime: str | list,
    quarters: int = 4,
    extra: str = "",
    regime_lines: str = "",
    start: str = "2025Q1",
) -> Path:
    if isinstance(regime, list):  # a timeline: [(date, regime name), ...]
        regime_line = "timeline = [" + ", ".join(f'{{ from = {d}, name = "{n}" }}' for d, n in regime) + "]"
        regime = "timeline"
    else:
        regime_line = f'name = "{regime}"'
    p = tmp_path / f"{regime}.toml"
    p.write_text(f"""
[run]
start = "{start}"
quarters = {quarters}
trials = 1
seed = 7
[regime]
{regime_line}
{regime_lines}
[firms]
total = 1
orders_per_quarter = 1
[outputs]
countries = ["USA", "CHN"]
{extra}
""")
    return p


def scripted(
    tmp_path,
    world,
    regime: str,
    buyer: str,
    chip: str,
    h100e_per_quarter: float,
    quarters: int = 4,
    approve: float = 1.0,
    extra: str = "",
    supply: float = 1e12,
    grey: float = 0.0,
    life: float = 24.0,
    installed: float = 0.0,
    regime_lines: str = "",
    sites=(),
    init_shares: dict | None = None,
    start: str = "2025Q1",
    subst: float = 1.0,
    approve_denial: float = 0.0,
    hw_share: float = 0.0,
    china_chip: str | None = None,
    smuggle: float = 1.0,
    params: dict | None = None,
):
    """One firm in ``buyer`` (or in each territory of a dict iso3 → demand weight) orders
    ``h100e_per_quarter`` (times its weight) of ``chip`` every quarter (one order, no noise);
    supply (H100e a quarter per vendor) ample unless given, no installed base unless given, licences
    approved with probability ``approve`` without delay (``approve_denial`` under a policy of denial),
    smuggling capacity ``grey`` of which smugglers serve a share ``smuggle`` of refused demand, ``subst``
    fallback chips per refused chip, other per-trial ``params`` (layout.P_* → value), a share ``hw_share`` of
    eligible orders to the Huawei-abroad row (which asks for the same chip); Chinese buyers order
    ``china_chip`` when given."""
    buyers = buyer if isinstance(buyer, dict) else {buyer: 1.0}
    sc = load_scenario(
        write_scenario(tmp_path, regime, quarters, extra, regime_lines, start),
        world=small_world(world, buyers, list(sites)),
    )
    comp = compile_scenario(sc)
    inp = comp.inputs
    if init_shares is not None:  # where the installed base sits (iso3 → share)
        inp.c_init_share[:] = 0.0
        for iso, x in init_shares.items():
            inp.c_init_share[comp.iso3.index(iso)] = x
    k = comp.chips["name"].to_list().index(chip)
    inp.mix_prob[:] = 0.0  # every alias column points at the chip
    inp.mix_alias[:] = k
    if china_chip is not None:
        inp.mix_alias[:, L.GROUP_CHINA] = comp.chips["name"].to_list().index(china_chip)
    p = inp.params
    p[:, L.P_ORDER_SIGMA], p[:, L.P_INSTALLED], p[:, L.P_APPROVE] = 0.0, installed, approve
    p[:, L.P_APPROVE_DENIAL], p[:, L.P_DELAY], p[:, L.P_DIVERSION], p[:, L.P_LIFE] = approve_denial, 0.0, 0.0, life
    p[:, L.P_SUBST], p[:, L.P_HW_ABROAD], p[:, L.P_SMUGGLE] = subst, hw_share, smuggle
    p[:, L.P_CUT_GUIDANCE] = p[:, L.P_CUT_LV] = 0.0  # enforcement cuts nothing unless a test sets it
    p[:, L.P_COLOC] = 1.0  # a firm's whole window of one family is one cluster, no site bound, unless a test sets it
    inp.cluster_cap[:] = np.inf
    for col, value in (params or {}).items():
        p[:, col] = value
    inp.quarterly[:, :, L.QT_DEMAND] = h100e_per_quarter
    inp.quarterly[:, :, L.QT_GREY] = grey
    if isinstance(supply, dict):  # vendor → H100e a quarter, the others ample
        inp.quarterly[:, :, L.QT_SUPPLY :] = 1e12
        for v, x in supply.items():
            inp.quarterly[:, :, L.QT_SUPPLY + L.VENDORS.index(v)] = x
    else:
        inp.quarterly[:, :, L.QT_SUPPLY :] = supply
    out = run_kernel(inp)
    return comp, out, comp.iso3.index(next(iter(buyers)))


def binding_inputs(world, trials: int = 2):
    """Diffusion with NVEU, UVEU and a G2G deal, 8 quarters: vendors sold out (backlog, lapses), allocations
    and NVEU caps used up, per-trial chip rates perturbed."""
    import numpy as np

    sc = load_scenario(ROOT / "scenarios" / "diffusion_2025.toml", world=world)
    sc = sc.replace(nveu=["ARE", "IND", "MYS", "SAU"], g2g={"ARE": 2.0})
    inp = compile_scenario(
        sc.replace(
            trials=trials,
            quarters=8,
            start="2025Q1",
            firms_total=150,
            buyers_per_data_centre=0.01,
            orders_per_quarter=2,
        )
    ).inputs
    inp.quarterly[:, :, L.QT_GREY] = 2e4
    inp.quarterly[:, :, L.QT_SUPPLY :] *= 0.2
    inp.nveu_cap[:] *= 0.003
    inp.alloc[:] *= 0.3
    inp.chip_h100e = inp.chip_h100e * np.random.default_rng(5).uniform(0.8, 1.25, inp.chip_h100e.shape)
    return inp


def rerun(comp, **params):
    """Run ``comp`` again with some per-trial parameters set (``P_DIVERSION=1.0``...)."""
    for name, value in params.items():
        comp.inputs.params[:, getattr(L, name)] = value
    return run_kernel(comp.inputs)
