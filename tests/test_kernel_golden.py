"""Golden outputs: the kernel's output arrays on three stored inputs must keep their sha256 digests, so any
change to the kernel's numbers is deliberate. The inputs are stored (tests/data/kernel_golden.npz, flat
names), so changes to scenarios, assumptions or the input compiler do not move the digests.

Cases: ``binding`` (Diffusion with NVEU, UVEU, a G2G deal; supply, allocations and NVEU caps binding;
per-trial chip rates), ``history_paths`` (the history timeline: licence_share, pre-approved volumes,
prohibited destinations, the grey market), ``ranges`` (licence delays 0-30 quarters, service lives 1-100,
roadmap slips 0-3).

After a deliberate change: ``.venv/bin/python tests/test_kernel_golden.py --regenerate`` (and say why in
the commit message).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from sim.kernel.allocate import Outputs, run_kernel
from sim.kernel.structures import KernelInputs

DATA = Path(__file__).resolve().parent / "data"
INPUTS = DATA / "kernel_golden.npz"
DIGESTS = DATA / "kernel_golden.json"

pytestmark = pytest.mark.kernel


def golden_inputs() -> dict[str, KernelInputs]:
    flat: dict[str, dict] = {}
    with np.load(INPUTS) as z:
        for key in z.files:
            case, name = key.split("/")
            v = z[key]
            flat.setdefault(case, {})[name] = v.item() if v.ndim == 0 else v
    for f in flat.values():
        f["key"] = np.uint64(f["key"])
    return {case: KernelInputs.from_flat(**f) for case, f in flat.items()}


def digests(out: Outputs) -> dict[str, str]:
    """sha256 of each output array (dtype, shape and bytes)."""
    return {
        name: hashlib.sha256(f"{a.dtype.str}{a.shape}".encode() + np.ascontiguousarray(a).tobytes()).hexdigest()
        for name, a in out._asdict().items()
    }


def _run(inp: KernelInputs) -> Outputs:
    """In two blocks of trials, as the runner does."""
    out = Outputs.empty(*inp.shape)
    T = inp.shape[0]
    run_kernel(inp, out, 0, T // 2)
    run_kernel(inp, out, T // 2, T)
    return out


@pytest.mark.parametrize("case", ["binding", "history_paths", "ranges"])
def test_kernel_outputs_keep_their_golden_digests(case):
    want = json.loads(DIGESTS.read_text())["cases"][case]
    got = digests(_run(golden_inputs()[case]))
    changed = [name for name in want if got[name] != want[name]]
    assert not changed, f"{case}: output arrays changed: {changed} (deliberate? regenerate, see the module doc)"


def regenerate() -> None:
    cases = {case: digests(_run(inp)) for case, inp in golden_inputs().items()}
    DIGESTS.write_text(json.dumps({"about": __doc__.split("\n\n")[0], "cases": cases}, indent=1) + "\n")


if __name__ == "__main__" and "--regenerate" in sys.argv:
    regenerate()
    print(f"written {DIGESTS}")
