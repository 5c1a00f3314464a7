"""Packaging: one version everywhere, the example scenarios, a cheap `import sim`, and a wheel that carries every
data file sim reads but not the world build script nor the kernel's benchmark rivals."""

import importlib.metadata
import re
import shutil
import subprocess
import sys
import zipfile

import pytest
from scripted import ROOT

import sim
from sim import examples
from sim.errors import SimInputError
from sim.scenario import load_scenario

HEAVY = ("numba", "polars", "matplotlib", "scipy", "pyarrow")
# the kernel's test oracle (setup.py leaves it out) and the benchmark rivals, which live outside the package
NOT_SHIPPED = {"sim/kernel/reference.py", "benchmarks/rivals/bare_loop.py", "benchmarks/rivals/vectorised.py"}


def test_the_installed_metadata_has_sims_version():
    assert importlib.metadata.version("sim") == sim.__version__, "version bumped: reinstall (make install)"


def test_the_changelog_has_an_entry_for_the_version():
    heads = re.findall(r"^## (\d+\.\d+\.\d+(?:\.dev\d+)?) ", (ROOT / "CHANGELOG.md").read_text(), flags=re.M)
    assert heads and heads[0] == sim.__version__  # the newest entry first


def test_the_citation_file_has_the_version():
    found = re.findall(r"^version: (\S+)$", (ROOT / "CITATION.cff").read_text(), flags=re.M)
    assert found == [sim.__version__]


def _loaded_after(code: str) -> list[str]:
    probe = f"import sys\n{code}\nprint('loaded:', *(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    return out.stdout.splitlines()[-1].split()[1:]


def test_import_sim_and_sim_help_load_none_of_the_heavy_packages():
    assert _loaded_after("import sim") == []
    assert _loaded_after("from sim.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass") == []
    assert "polars" in _loaded_after("import sim\nsim.load_scenario")  # the lazy names still resolve


def test_lazy_names_are_the_modules_objects():
    from sim.runner import RunResult, run
    from sim.scenario import Scenario

    assert (sim.run, sim.RunResult, sim.Scenario, sim.load_scenario) == (run, RunResult, Scenario, load_scenario)
    with pytest.raises(AttributeError):
        sim.no_such_name  # noqa: B018


def test_every_scenario_file_is_an_example_and_loads(world):
    assert examples.names() == sorted(p.stem for p in (ROOT / "scenarios").glob("*.toml"))
    for name in examples.names():
        path = examples.path(name)
        assert path.read_bytes() == (ROOT / "scenarios" / f"{name}.toml").read_bytes()
        assert load_scenario(path, world=world).trials >= 1


@pytest.mark.parametrize("name", ["nope", "../pyproject", "default.toml", ""])
def test_an_unknown_example_names_the_known_ones(name):
    with pytest.raises(SimInputError) as e:
        examples.path(name)
    assert e.value.field == "--example" and e.value.path == "command line"
    assert f"unknown example {name!r}" in str(e.value) and "default" in e.value.message and "\n" not in str(e.value)


@pytest.mark.slow  # builds a wheel (pip fetches setuptools for the isolated build)
def test_the_wheel_ships_every_data_file_and_the_examples_but_not_the_build_script_nor_the_rivals(tmp_path):
    src = tmp_path / "src"  # a copy as a clone has it: no build/ or caches of the checkout leak in
    if (ROOT / ".git").exists():
        ls = ["git", "ls-files", "--cached", "--others", "--exclude-standard"]
        for f in subprocess.run(ls, cwd=ROOT, capture_output=True, text=True, check=True).stdout.splitlines():
            if (ROOT / f).is_file():
                (src / f).parent.mkdir(parents=True, exist_ok=True)
                (src / f).write_bytes((ROOT / f).read_bytes())
    else:  # an exported tree
        top = {"build", ".venv", "results", "sim.egg-info", ".git"}
        shutil.copytree(
            ROOT, src, ignore=lambda d, names: {n for n in names if n == "__pycache__" or (d == str(ROOT) and n in top)}
        )
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path / "dist"), str(src)],
        check=True,
        capture_output=True,
    )
    (wheel,) = (tmp_path / "dist").glob("sim-*.whl")
    assert wheel.name.startswith(f"sim-{sim.__version__}-")
    names = set(zipfile.ZipFile(wheel).namelist())

    tree = {str(p.relative_to(src)) for p in (src / "sim").rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    build = {f for f in tree if f.startswith("sim/world/build/")}
    assert build and not build & names  # the script that builds countries.csv stays in the repository
    assert not NOT_SHIPPED & names  # the test oracle stays in the checkout
    assert tree - build - NOT_SHIPPED <= names  # every module and every data file (CSV, TOML) of sim/
    assert {"sim/world/blocs.toml", "sim/world/countries.csv", "sim/assumptions/default.toml"} <= names
    scenarios = {f"sim/scenarios/{p.name}" for p in (src / "scenarios").glob("*.toml")}
    assert "sim/scenarios/default.toml" in scenarios and scenarios <= names
    assert not {n for n in names if n.startswith(("tests/", "benchmarks/", "scenarios/", "results/", "docs/"))}
    meta = zipfile.ZipFile(wheel).read(f"sim-{sim.__version__}.dist-info/METADATA").decode()
    assert f"\nVersion: {sim.__version__}\n" in meta
