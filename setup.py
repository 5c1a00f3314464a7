"""What pyproject.toml cannot say: the package list (every package under sim/ except the world build script,
plus the top-level scenarios/ folder as sim.scenarios), the kernel's test oracle kept out of the wheel, and a
clean build/lib so files left there by an earlier build never ship."""

import shutil
from pathlib import Path

from setuptools import find_namespace_packages, setup
from setuptools.command.build_py import build_py

PACKAGES = find_namespace_packages(include=["sim", "sim.*"], exclude=["sim.world.build*", "*__pycache__*"])

# modules the installed sim never imports: the kernel's plain-Python oracle, which the tests and `make bench` run
# from the checkout (the benchmark rivals live in benchmarks/rivals/, outside the package)
NOT_SHIPPED = {("sim.kernel", "reference")}


class BuildPy(build_py):
    def run(self):
        shutil.rmtree(Path(self.build_lib) / "sim", ignore_errors=True)
        super().run()

    def find_package_modules(self, package, package_dir):
        modules = super().find_package_modules(package, package_dir)
        return [m for m in modules if (m[0], m[1]) not in NOT_SHIPPED]


setup(
    packages=[*PACKAGES, "sim.scenarios"],
    package_dir={"sim.scenarios": "scenarios"},
    cmdclass={"build_py": BuildPy},
)
