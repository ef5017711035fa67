"""constraints.txt pins every runtime dependency and test tool, transitive ones included, at the versions the
tests ran with: a dependency that moves (as redis-py 8 did, dropping every idle socket) moves only
by a change to this file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            requirement = Requirement(line)
            pins[requirement.name.lower().replace("_", "-")] = str(requirement.specifier)
    return pins


def test_constraints_cover_every_runtime_dependency_at_its_installed_version() -> None:
    run = subprocess.run(
        [sys.executable, "scripts/constraints.py", "--check"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stderr


def test_every_direct_requirement_is_pinned_exactly_and_agrees_with_the_constraints() -> None:
    direct = _pins(ROOT / "requirements.txt") | _pins(ROOT / "requirements-dev.txt")
    locked = _pins(ROOT / "constraints.txt")
    assert all(spec.startswith("==") for spec in direct.values()), direct
    assert {name: locked.get(name) for name in direct} == direct
    assert locked["redis"].startswith("==8.")  # the channel layer's settings are made for redis-py 8
