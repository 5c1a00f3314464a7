"""The committed reference runs stay within the repository's weight budget: git tracks their CSV and markdown
tables, manifests, PNG figures and report pages, never their parquet files, PDF figures or a comparison's copies
of the scenarios' own results (the reference runs hold the same numbers)."""

import subprocess

import pytest
from scripted import ROOT

BUDGET_BYTES = 50 * 2**20  # what git tracks under results/: 13 reference runs and the comparison


def _tracked() -> list:
    try:
        out = subprocess.run(["git", "ls-files", "results"], cwd=ROOT, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [ROOT / p for p in out.stdout.splitlines()]


def test_the_committed_reference_runs_stay_within_the_weight_budget():
    files = [p for p in _tracked() if p.exists()]
    assert files, "no reference runs tracked"
    size = sum(p.stat().st_size for p in files)
    assert size <= BUDGET_BYTES, (
        f"results/ weighs {size / 2**20:.1f} MiB, over the {BUDGET_BYTES / 2**20:.0f} MiB budget"
    )
    heavy = [p for p in files if p.suffix in (".parquet", ".pdf") or "compare/reference/scenarios" in p.as_posix()]
    assert not heavy, heavy[:3]
