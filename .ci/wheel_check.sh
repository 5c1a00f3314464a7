#!/usr/bin/env bash
# The wheel check (make wheel-check): build the wheel from a copy of the tree, install it in a fresh venv outside
# the checkout (dependencies from PyPI), and from another folder run `sim --version` and a small example scenario.
# Exits non-zero on any failure. PYTHON picks the interpreter that builds and makes the venv.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
py="${PYTHON:-$root/.venv/bin/python}"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/sim-wheel-check.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
step() { printf '[wheel-check %3ds] %s\n' "$SECONDS" "$*"; }

# the files a clone (plus uncommitted work) has: no build/, caches or ignored run outputs can leak into the wheel
step "copying the tree"
mkdir "$tmp/src"
if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
	(cd "$root" && git ls-files -z --cached --others --exclude-standard |
		tar --null -T - --ignore-failed-read --warning=no-failed-read -cf -) | tar -xf - -C "$tmp/src"
else  # an exported tree
	tar -C "$root" --exclude=.venv --exclude=build --exclude='*.egg-info' --exclude=__pycache__ --exclude=results \
		-cf - . | tar -xf - -C "$tmp/src"
fi

step "building the wheel"
"$py" -m pip wheel -q --no-deps -w "$tmp/dist" "$tmp/src" 2>"$tmp/pip.log" || { cat "$tmp/pip.log" >&2; exit 1; }
wheel="$(ls "$tmp"/dist/sim-*.whl)"
"$py" - "$wheel" <<'PY'
import sys, zipfile
names = set(zipfile.ZipFile(sys.argv[1]).namelist())
need = {"sim/world/blocs.toml", "sim/world/countries.csv", "sim/regimes/diffusion_2025.toml",
        "sim/assumptions/default.toml", "sim/scenarios/default.toml", "sim/examples.py", "sim/kernel/allocate.py"}
banned = [n for n in names if n.startswith(("sim/world/build/", "benchmarks/", "tests/"))
          or n in ("sim/kernel/bare_loop.py", "sim/kernel/vectorised.py", "sim/kernel/reference.py")]
missing = sorted(need - names)
if missing or banned:
    sys.exit(f"wheel contents: missing {missing}, not to ship {sorted(banned)}")
print(f"{sys.argv[1].rsplit('/', 1)[-1]}: {len(names)} files")
PY

step "installing it in a fresh venv (dependencies from PyPI)"
"$py" -m venv "$tmp/venv"
"$tmp/venv/bin/python" -m pip install -q --disable-pip-version-check "$wheel" 2>"$tmp/pip.log" ||
	{ cat "$tmp/pip.log" >&2; exit 1; }  # (pip's warnings about unreachable extra indexes only on failure)

mkdir "$tmp/elsewhere"
cd "$tmp/elsewhere"  # nothing of the checkout on the path
sim="$tmp/venv/bin/sim"
want="$("$tmp/venv/bin/python" -c 'import importlib.metadata as m; print(m.version("sim"))')"
step "sim --version (expect $want)"
got="$("$sim" --version)"
echo "$got"
[[ "$got" == *"$want"* ]] || { echo "sim --version printed '$got', the wheel is $want" >&2; exit 1; }

step "sim run --example default --trials 2 (figures too)"
"$sim" run --example default --trials 2 --no-progress --out "$tmp/out" --run-id wheel
for f in manifest.json summary.csv summary.parquet feasibility.csv rules.csv report.html figures/compute_blocs.png figures/map_compute.png; do
	[[ -s "$tmp/out/default/wheel/$f" ]] || { echo "missing $tmp/out/default/wheel/$f" >&2; exit 1; }
done
step "ok: $(basename "$wheel") installs and runs outside the checkout"
