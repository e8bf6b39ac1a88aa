"""What is installed and what the tests read is pinned in the repository (docs/dependencies.md)."""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
VENDOR = ROOT / "haven" / "web" / "static" / "vendor"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
# One pinned package of a pip-compile lock: "name==version \" then its "--hash=sha256:..." lines.
PIN = re.compile(r"^([A-Za-z0-9._-]+)==(\S+)((?:\s*\\\n\s+--hash=sha256:[0-9a-f]{64})+)", re.M)


def locked(name: str) -> dict[str, tuple[Version, int]]:
    """A lock file's pins: canonical name -> (version, number of hashes). Every requirement line is a pin."""
    text = (ROOT / name).read_text("utf-8")
    pins = {canonicalize_name(m[1]): (Version(m[2]), m[3].count("--hash=")) for m in PIN.finditer(text)}
    requirement_lines = [line for line in text.splitlines() if line and not line.startswith((" ", "#"))]
    assert len(requirement_lines) == len(pins), f"{name} has a line that is not a hashed pin"
    return pins


@pytest.mark.parametrize(
    ("lock", "groups"), [("requirements.lock", ()), ("requirements-dev.lock", ("dev",))], ids=["runtime", "dev"]
)
def test_the_lock_pins_every_dependency_of_pyproject_within_its_range_with_hashes(
    lock: str, groups: tuple[str, ...]
) -> None:
    pins = locked(lock)
    wanted = [*PYPROJECT["project"]["dependencies"], *PYPROJECT["build-system"]["requires"]]
    for group in groups:
        wanted += PYPROJECT["project"]["optional-dependencies"][group]
    for line in wanted:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{lock} does not pin {requirement.name}: run bash scripts/lock.sh"
        version, hashes = pins[name]
        assert requirement.specifier.contains(version, prereleases=True), (lock, line, version)
        assert hashes >= 1
    assert all(hashes >= 1 for _, hashes in pins.values())


def test_the_two_locks_agree_on_every_version_they_share() -> None:
    runtime, dev = locked("requirements.lock"), locked("requirements-dev.lock")
    assert set(runtime) <= set(dev)
    assert {n: v for n, (v, _) in runtime.items()} == {n: dev[n][0] for n in runtime}


def test_run_sh_installs_only_from_the_lock_and_haven_without_dependencies() -> None:
    script = (ROOT / "scripts" / "run.sh").read_text("utf-8")
    lines = [line.strip() for line in script.splitlines() if not line.lstrip().startswith("#")]
    installs = [line for line in lines if "pip install" in line]
    assert installs == [
        '.venv/bin/python -m pip install -q --require-hashes --only-binary :all: -r "$lock"',
        ".venv/bin/python -m pip install -q --no-deps --no-build-isolation -e .",
    ]
    assert 'lock="requirements.lock"' in script and 'lock="requirements-dev.lock"' in script


def test_every_vendored_file_has_its_recorded_sha256() -> None:
    sums = dict(
        reversed(line.split("  ", 1)) for line in (VENDOR / "SHA256SUMS").read_text("ascii").splitlines() if line
    )
    vendored = {p.name for p in VENDOR.iterdir()} - {"README.md", "SHA256SUMS"}
    assert set(sums) == vendored
    for name, digest in sums.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name
    readme = (VENDOR / "README.md").read_text("utf-8")
    assert sums["jsQR.min.js"] in readme


def test_the_vendored_jsqr_is_rebuilt_from_exact_npm_releases() -> None:
    """The rebuild installs exact versions with their sha512 (npm ci), the ones the banner and README name."""
    folder = ROOT / "scripts" / "vendor-js"
    wanted = json.loads((folder / "package.json").read_text("utf-8"))["devDependencies"]
    assert all(re.fullmatch(r"\d+\.\d+\.\d+", v) for v in wanted.values()), wanted
    packages = json.loads((folder / "package-lock.json").read_text("utf-8"))["packages"]
    for path, package in packages.items():
        if path:
            assert package["integrity"].startswith("sha512-"), path
    for name, version in wanted.items():
        assert packages[f"node_modules/{name}"]["version"] == version
    banner = (VENDOR / "jsQR.min.js").read_bytes().split(b"\n", 1)[0].decode()
    assert banner == f'/*! jsQR {wanted["jsqr"]} (npm "jsqr") | Apache-2.0 | see jsQR.LICENSE.txt */'
    readme = (VENDOR / "README.md").read_text("utf-8")
    assert f"`jsqr` {wanted['jsqr']}" in readme and f"`terser` {wanted['terser']}" in readme


def test_tests_benchmarks_and_scripts_read_nothing_outside_the_repository() -> None:
    """Test vectors live in tests/vectors/; nothing looks for a shared/ folder beside the repository."""
    outside = re.compile(r"\.\./shared\b|\.parent\s*/\s*\"shared\"")
    found = [
        str(path.relative_to(ROOT))
        for folder in ("tests", "haven", "scripts", "bench")
        for path in (ROOT / folder).rglob("*")
        if path.suffix in {".py", ".sh", ".js", ".md", ".toml"} and outside.search(path.read_text("utf-8"))
    ]
    assert found == []


def test_every_test_vector_folder_says_where_it_came_from() -> None:
    vectors = ROOT / "tests" / "vectors"
    readme = (vectors / "README.md").read_text("utf-8")
    for path in vectors.iterdir():
        if path.name != "README.md":
            assert f"`{path.name}" in readme, path.name
    for licence in ("eu-dcc/LICENSE", "eu-dcc/NOTICE", "shc/LICENSE", "shc/dev-tools-testdata/LICENSE"):
        assert (vectors / licence).is_file() and licence in readme, licence
