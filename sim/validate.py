"""`sim validate`: the published arithmetic of the sources and the reference training runs, recomputed by
the model's own functions and data, as a pass/fail table (the test suite runs it)."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from .chips import H100_TPP, load_chips
from .training import chips_needed, published_runs


@dataclass
class Check:
    name: str
    computed: float
    published: float
    tolerance: float  # allowed ratio computed / published: within [1/t, t]
    source: str

    @property
    def ratio(self) -> float:
        return self.computed / self.published

    @property
    def passed(self) -> bool:
        return 1 / self.tolerance <= self.ratio <= self.tolerance


def checks() -> list[Check]:
    chips = {r["name"]: r for r in load_chips().iter_rows(named=True)}
    out = [
        Check(
            "LPP allowance in H100 (26.9M TPP / H100 TPP)",
            26_900_000 / H100_TPP,
            1_699,
            1.005,
            "90 FR 4544 § 740.29; SemiAnalysis: 1,699 H100e",
        ),
        Check(
            "Tier-2 country allocation in H100 (790M TPP)",
            790_000_000 / H100_TPP,
            49_901,
            1.005,
            "90 FR 4544 § 742.6(b)(10)(iii)(B); SemiAnalysis: 49,901 H100e",
        ),
        Check(
            "Tier-2 country allocation in GB300",
            790_000_000 / chips["GB300"]["tpp"],
            13_166,
            1.01,
            "SemiAnalysis: the country cap is about 13,166 GB300 (https://newsletter.semianalysis.com/p/"
            "2025-ai-diffusion-export-controls-microsoft-regulatory-capture-oracle-tears)",
        ),
        Check(
            "NVEU 2027 allocation in H100 (5,064M TPP)",
            5_064_000_000 / H100_TPP,
            320_000,
            1.005,
            "90 FR 4544 § 748.15 Table 1; ~320,000 H100e (SemiAnalysis; RAND PEA3776-1, "
            "https://www.rand.org/pubs/perspectives/PEA3776-1.html)",
        ),
        Check(
            "H100 for 1e26 FLOP in 100 days at 40 % MFU",
            chips_needed(1e26, 0.40, 100),
            29_200,
            1.02,
            "model's own arithmetic (hardware method, Epoch AI https://epoch.ai/data/ai-models-documentation): "
            "1e26 FLOP / (989.5e12 dense BF16 FLOP/s, NVIDIA H100 SXM datasheet, x 0.40 x 8.64e6 s) = 29,200 H100",
        ),
        Check("H100 SXM TPP", chips["H100"]["tpp"], 15_832, 1.0001, "989.5 dense BF16 TFLOP/s x 16 (NVIDIA)"),
        Check("A100 TPP", chips["A100"]["tpp"], 4_992, 1.0001, "312 dense BF16 TFLOP/s x 16 (NVIDIA)"),
        Check(
            "H20 TPP (below the 4,800 and 2,400 thresholds)",
            chips["H20"]["tpp"],
            2_368,
            1.0001,
            "148 dense BF16 TFLOP/s x 16; SemiAnalysis 'white zone'",
        ),
    ]
    for r in published_runs().iter_rows(named=True):
        out.append(
            Check(
                f"{r['name']}: hardware arithmetic vs stated FLOP",
                r["estimated_flop"],
                r["training_flop"],
                1.5,
                r["source"].split(" http")[0],
            )
        )
    return out


def table() -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "check": c.name,
                "computed": c.computed,
                "published": c.published,
                "ratio": c.ratio,
                "tolerance": c.tolerance,
                "pass": c.passed,
                "source": c.source,
            }
            for c in checks()
        ]
    )
