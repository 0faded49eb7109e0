"""The caches' code identity covers every module: editing any one of them recomputes (issue 16)."""

import shutil
from pathlib import Path

import pytest

import camg
import schemas
from camg.ops.cache import package_identity

PACKAGES = [Path(camg.__file__).parent, Path(schemas.__file__).parent]


@pytest.fixture(scope="module")
def copied(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """A copy of the installed camg and schemas packages, to edit."""
    root = tmp_path_factory.mktemp("code")
    return [Path(shutil.copytree(p, root / p.name)) for p in PACKAGES]


def source_files() -> list[str]:
    """Every module and SQL file of both packages, relative to the packages' parent."""
    return sorted(
        p.relative_to(PACKAGES[0].parent).as_posix()
        for package in PACKAGES
        for p in package.rglob("*")
        if p.suffix in {".py", ".sql"} and "__pycache__" not in p.parts
    )


def test_identity_is_stable_for_unchanged_code(copied: list[Path]) -> None:
    assert package_identity(copied) == package_identity(copied)
    assert package_identity(copied) == package_identity(PACKAGES)


# The modules the old hand-written key lists missed are in here too (schemas/*.py, ingest/combine.py).
@pytest.mark.parametrize("name", source_files())
def test_editing_any_source_file_changes_the_identity(copied: list[Path], name: str) -> None:
    path = copied[0].parent / name
    before = package_identity(copied)
    original = path.read_bytes()
    try:
        path.write_bytes(
            original + b"\n-- edited\n" if name.endswith(".sql") else original + b"\n# edited\n"
        )
        assert package_identity(copied) != before
    finally:
        path.write_bytes(original)
