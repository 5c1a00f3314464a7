"""The scaling figure of the benchmark suite: benchmarks/results/scaling.png and .pdf."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

STYLE = {
    "A": ("A numba kernel", "C0", "o"),
    "B": ("B vectorised NumPy", "C1", "s"),
    "C": ("C reference twin", "C2", "^"),
    "D": ("D bare numba loop", "C3", "D"),
}


def _series(rows, impl, axis, x):
    pts = sorted((x(r), r) for r in rows if r["impl"] == impl and r.get("axis") == axis and x(r) is not None)
    return [p[0] for p in pts], [p[1] for p in pts]


def scaling_figure(res: dict, out_dir: Path) -> list[Path]:
    rows = res["measurements"]
    headline = [r for r in rows if r.get("axis") == "headline"]
    nterr = max((r["territories_total"] for r in rows), default=249)
    fig, ax = plt.subplots(2, 3, figsize=(14, 8))
    ax = ax.ravel()
    # 1. time vs trials
    for impl in "ABD":
        xs, rs = _series(rows + [r for r in headline if r["impl"] == impl], impl, "trials", lambda r: r["trials"])
        xs2, rs2 = _series(headline, impl, "headline", lambda r: r["trials"])
        pts = sorted(set(zip(xs + xs2, [r["seconds"] for r in rs + rs2])))
        if pts:
            lab, col, mk = STYLE[impl]
            ax[0].plot([p[0] for p in pts], [p[1] for p in pts], marker=mk, color=col, label=lab)
    ax[0].set(
        xscale="log",
        yscale="log",
        xlabel="trials",
        ylabel="seconds",
        title="time vs trials (A, D: 24 quarters; B: its quarters)",
    )
    # 2. orders/s vs trials
    for impl in "ABD":
        pts = sorted(
            {
                (r["trials"], r["orders_per_s"])
                for r in rows
                if r["impl"] == impl and r.get("axis") in ("trials", "headline")
            }
        )
        if pts:
            lab, col, mk = STYLE[impl]
            ax[1].plot([p[0] for p in pts], [p[1] / 1e6 for p in pts], marker=mk, color=col, label=lab)
    ax[1].set(xscale="log", yscale="log", xlabel="trials", ylabel="M orders/s", title="throughput vs trials")
    # 3-5. one series per implementation along an axis of the suite
    panels = (
        (ax[2], "territories", lambda r: r.get("territories") or nterr, lambda r: r["orders_per_s"] / 1e6, ""),
        (ax[3], "orders", lambda r: r["orders_per_trial_24q"], lambda r: r["orders_per_s"] / 1e6, ""),
        (ax[4], "orders", lambda r: r["orders_per_trial_24q"], lambda r: r["added_mb"], " (added)"),
    )
    for axis_ax, axis, xkey, ykey, suffix in panels:
        for impl in "ABD":
            xs, rs = _series(rows, impl, axis, xkey)
            if xs:
                lab, col, mk = STYLE[impl]
                axis_ax.plot(xs, [ykey(r) for r in rs], marker=mk, color=col, label=lab + suffix)
    ax[2].set(
        xscale="log",
        yscale="log",
        xlabel="territories with demand (largest first)",
        ylabel="M orders/s",
        title="throughput vs territories",
    )
    ax[3].set(
        xscale="log",
        yscale="log",
        xlabel="orders per trial (24 quarters)",
        ylabel="M orders/s",
        title="throughput vs orders per trial",
    )
    ax[4].set(
        xscale="log",
        xlabel="orders per trial (24 quarters)",
        ylabel="MB added during the run",
        title="peak memory vs orders per trial",
    )
    # 6. threads
    for impl in "AD":
        xs, rs = _series(rows, impl, "threads", lambda r: r["threads"])
        if xs:
            lab, col, mk = STYLE[impl]
            ax[5].plot(xs, [r["orders_per_s"] / 1e6 for r in rs], marker=mk, color=col, label=lab)
    ax[5].set(xlabel="numba threads", ylabel="M orders/s", title="throughput vs threads", xticks=[1, 2])
    for a in ax:
        a.grid(alpha=0.3)
        if a.lines:
            a.legend(fontsize=8)
    fig.suptitle(f"sim benchmark suite ({res['date']}, {res['machine']['cpus']} cores)")
    fig.tight_layout()
    paths = [Path(out_dir) / "scaling.png", Path(out_dir) / "scaling.pdf"]
    for p in paths:
        fig.savefig(p, dpi=120)
    plt.close(fig)
    return paths
