"""Invariants every run must satisfy, checked over every trial, territory and quarter before its results
are written. A violation is a bug (or an input the validation should have refused): the run stops with
one line naming the invariant and the first place it fails, and writes nothing.

Checked (volumes in H100e by dense 16-bit FLOP/s, caps in H100e by TPP):
- every output is finite (no NaN or inf);
- no stock or flow is negative (beyond float round-off);
- the largest cluster located in a territory is at most the stock of its largest firm;
- conservation, per territory, cumulated over quarters: ordered = shipped + denied + lapsed + pending + backlog;
- the national allocation used never exceeds the allocation in force, an NVEU's installed base never exceeds
  the NVEU cap, and what a bilateral deal's pre-approval gave never exceeds the pre-approved volume;
- no chip reaches a territory licence-free in a quarter in which no chip is free to it (and it is not capped,
  where LPP shipments are licence-free);
- the stock by chip family adds up to the stock delivered during the run (every channel but the initial base);
- no chip reaches an embargoed territory (every US chip under 'embargo') through a legal channel;
- exhaustion quarters are -1 (never) or a quarter of the run.
"""

from __future__ import annotations

import numpy as np

from .errors import InvariantError
from .kernel import layout as L

H100_TPP = L.H100_TPP
_REL, _ABS = 1e-4, 1.0  # conservation tolerance: float32 outputs, cumulated over quarters (H100e)


def _where(res, t: int, c: int, q: int | None = None) -> str:
    iso = res.compiled.iso3[c]
    return f"trial {res.compiled.first_trial + t}, {iso}" + ("" if q is None else f", {res.compiled.labels[q]}")


def _first(mask: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argwhere(mask)[0])


def _fail_where(res, bad: np.ndarray, describe) -> None:
    """Raise InvariantError if ``bad`` holds anywhere: ``describe(index)`` says what fails at the first place."""
    if bad.any():
        raise InvariantError(res.scenario.name, describe(_first(bad)))


def check(res) -> None:
    """Raise InvariantError at the first violated invariant of the run ``res`` (a RunResult)."""
    out = res.outputs
    fields = ("stock", "stock_tpp", "largest", "flows", "family", "units", "revenue", "refused", "cluster", "run_loc")
    for field in (*fields, "run_hq"):
        a = getattr(out, field)
        _fail_where(res, ~np.isfinite(a), lambda i: f"{field} is not finite at {_where(res, *i[:3])}")
        axes = tuple(range(a.ndim - 1)) if field == "flows" else None  # round-off at each flow's own scale
        floor = -(1e-6 * np.abs(a).max(axis=axes, initial=0.0) + 1e-3)
        what = (lambda i: f"{field}[{L.FLOWS[i[3]]}]") if field == "flows" else (lambda i: field)
        _fail_where(res, a < floor, lambda i: f"{what(i)} is negative ({a[i]:.4g}) at {_where(res, *i[:3])}")
    _conservation(res)
    _allocation(res)
    _grants(res)
    _licence_free(res)
    _families(res)
    _embargo(res)
    _clusters(res)
    Q = len(res.compiled.labels)
    for field in ("exhaust", "nveu_exhaust"):
        a = getattr(out, field)
        _fail_where(res, (a < -1) | (a >= Q), lambda i: f"{field} quarter {a[i]} out of range at {_where(res, *i)}")


def _clusters(res) -> None:
    """A firm's cluster is part of its stock: the largest cluster located in a territory is at most its largest
    firm's stock."""
    out = res.outputs
    bad = out.cluster > out.largest.astype(np.float64) * (1 + _REL) + _ABS
    _fail_where(
        res,
        bad,
        lambda i: f"cluster {out.cluster[i]:.6g} exceeds the largest firm's {out.largest[i]:.6g} at {_where(res, *i)}",
    )


def _conservation(res) -> None:
    fl = res.outputs.flows
    for t0 in range(0, fl.shape[0], 100):  # blocks of trials bound the float64 copies
        f = fl[t0 : t0 + 100]
        lhs = np.cumsum(f[..., L.FL_ORDERED], axis=2, dtype=np.float64)
        flow = f[..., L.FL_SHIPPED].astype(np.float64) + f[..., L.FL_DENIED] + f[..., L.FL_LAPSED]
        rhs = np.cumsum(flow, axis=2) + f[..., L.FL_PENDING] + f[..., L.FL_BACKLOG]
        _fail_where(
            res,
            np.abs(lhs - rhs) > _REL * np.abs(lhs) + _ABS,
            lambda i: (
                f"conservation fails at {_where(res, t0 + i[0], i[1], i[2])}: ordered {lhs[i]:.6g} != "
                f"shipped + denied + lapsed + pending + backlog {rhs[i]:.6g} (H100e, cumulated)"
            ),
        )


def _allocation(res) -> None:
    alloc = res.compiled.regime.alloc / H100_TPP  # [Q, C], H100e by TPP; inf where there is none
    used = res.outputs.flows[..., L.FL_CAP_USED]
    _fail_where(
        res,
        used > alloc.T[None] * (1 + 1e-5) + 1e-3,
        lambda i: (
            f"national allocation exceeded at {_where(res, *i)}: used {used[i]:.6g} > "
            f"{alloc[i[2], i[1]]:.6g} H100e by TPP"
        ),
    )


def _grants(res) -> None:
    """NVEU and pre-approved (bilateral deal) volumes stay within their caps (cumulative, H100e by TPP)."""
    reg, out = res.compiled.regime, res.outputs
    limits = (
        ("NVEU cap", out.nveu_used, np.full(out.nveu_used.shape[1], reg.nveu_cap.max(initial=0.0))),
        ("pre-approved volume", out.allow_used, reg.allow_tpp.max(axis=0, initial=0.0)),
    )
    for what, used, cap_tpp in limits:
        cap = cap_tpp / H100_TPP
        _fail_where(
            res,
            used > cap[None] * (1 + 1e-9) + 1e-6,
            lambda i: f"{what} exceeded at {_where(res, *i)}: {used[i]:.6g} > {cap[i[1]]:.6g} H100e by TPP",
        )


def _families(res) -> None:
    """Stock by chip family = stock of every channel but the initial base (same retirement windows)."""
    out = res.outputs
    fam = out.family.sum(axis=3, dtype=np.float64)
    new = out.stock[..., L.CH_FREE :].sum(axis=3, dtype=np.float64)
    bad = np.abs(fam - new) > _REL * np.maximum(np.abs(fam), np.abs(new)) + _ABS  # float32 round-off per cell
    _fail_where(
        res, bad, lambda i: f"stock by family {fam[i]:.6g} != delivered stock {new[i]:.6g} at {_where(res, *i)}"
    )


def _embargo(res) -> None:
    """A territory under an embargo for every US chip in every quarter of the run gets no legal channel
    (licence-free, licensed, VEU) stock: chips outside US jurisdiction (Ascend) are the only exception,
    and the Huawei-abroad buyers leave embargoed destinations out."""
    reg = res.compiled.regime
    us = res.compiled.chips["us_jurisdiction"].cast(bool).to_numpy()
    pol = effective_policy(reg)[:, us, :]  # [Q, K_us, C]
    embargoed = (pol == L.EMBARGO).all(axis=(0, 1))  # [C]
    if not embargoed.any():
        return
    legal = res.outputs.stock[..., [L.CH_FREE, L.CH_LICENSED, L.CH_VEU]].sum(axis=3, dtype=np.float64)
    hw = res.compiled.inputs.terr.hw_abroad.astype(bool)
    bad = (legal > 1e-3) & (embargoed & ~hw)[None, :, None]
    _fail_where(res, bad, lambda i: f"{legal[i]:.6g} H100e of legal stock at embargoed {_where(res, *i)}")


def effective_policy(reg) -> np.ndarray:
    """int8 [Q, K, C]: the policy each chip meets at each territory (chip rule, else its ECCN class's)."""
    cls = reg.chip_class.astype(np.int64)  # [Q, K]
    by_class = np.take_along_axis(reg.policy, np.maximum(cls - 1, 0)[:, None, :], axis=2)  # [Q, C, K]
    by_class = np.where(cls[:, None, :] == 0, L.FREE, by_class).transpose(0, 2, 1)
    return np.where(reg.chip_override >= 0, reg.chip_override, by_class)


def _licence_free(res) -> None:
    """Licence-free stock additions only where some chip is free (or the territory is capped: LPP)."""
    reg = res.compiled.regime
    pol = effective_policy(reg)
    allowed = (pol == L.FREE).any(axis=1) | (pol == L.CAPPED).any(axis=1)  # [Q, C]
    if allowed.all():
        return
    stock = res.outputs.stock[..., L.CH_FREE].astype(np.float64)  # [T, C, Q]
    life = np.rint(np.clip(np.nan_to_num(res.compiled.draws["service_life_quarters"], nan=1.0), 1, 2**20))
    life = life.astype(np.int64)  # [T], as the kernel bounds it (kernel/trial.py: _whole)
    T, C, Q = stock.shape
    add = np.zeros_like(stock)
    rows = np.arange(T)
    for q in range(Q):  # stock[q] = sum of additions over the last `life` quarters
        prev = stock[:, :, q - 1] if q else 0.0
        back = q - life
        old = np.where((back >= 0)[:, None], add[rows, :, np.maximum(back, 0)], 0.0)
        add[:, :, q] = stock[:, :, q] - prev + old
    scale = 1e-4 * np.abs(stock).max(initial=0.0) + 1e-3
    _fail_where(
        res,
        (add > scale) & ~allowed.T[None],
        lambda i: f"{add[i]:.6g} H100e shipped licence-free at {_where(res, *i)}, where no chip is free",
    )
