"""Docs that cannot drift: every command, option, error class and public name is documented."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

import haven
from haven import errors
from haven.cli import cli
from haven.exit_codes import exit_code
from haven.web.handlers import http_status

DOCS = Path(__file__).resolve().parents[1] / "docs"


def commands(group: click.Group, prefix: str = "haven") -> list[tuple[str, click.Command]]:
    out = []
    for name, command in sorted(group.commands.items()):
        if command.hidden:  # another spelling of a documented command (haven sync --hub = haven hub sync)
            continue
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            out.extend(commands(command, path))
        else:
            out.append((path, command))
    return out


def cli_docs() -> str:
    return "\n".join(p.read_text("utf-8") for p in sorted(DOCS.glob("cli*.md")))


def test_every_command_has_a_section_and_its_options() -> None:
    text = cli_docs()
    for path, command in commands(cli):
        match = re.search(rf"^### `{re.escape(path)}`\n(.*?)(?=^### |\Z)", text, re.M | re.S)
        assert match, f"{path} is not documented in docs/cli*.md"
        section = match.group(1)
        for param in command.params:
            if isinstance(param, click.Option) and param.name not in (
                "as_json",
                "home",
                "help",
                "unlock_passphrase_file",
            ):
                longest = max(param.opts, key=len)
                assert longest in section, f"{path}: option {longest} is not documented"


def test_every_command_has_help_with_an_example() -> None:
    for path, command in commands(cli):
        assert command.help and "Example:" in command.help, f"{path} has no example in its help"


def test_every_error_class_is_documented_with_its_exit_code() -> None:
    text = (DOCS / "errors.md").read_text("utf-8")
    for name in dir(errors):
        cls = getattr(errors, name)
        if isinstance(cls, type) and issubclass(cls, errors.HavenError):
            row = re.search(rf"^\| `{name}` \| `([^`]+)` \| (\d+) \| (\d+) \|", text, re.M)
            assert row, f"{name} is not in docs/errors.md"
            assert row.groups() == (cls.code, str(exit_code(cls)), str(http_status(cls))), name


def test_every_error_class_is_in_the_tree_diagram() -> None:
    doc = errors.__doc__ or ""
    for name in dir(errors):
        cls = getattr(errors, name)
        if isinstance(cls, type) and issubclass(cls, errors.HavenError):
            assert name in doc, f"{name} is missing from the diagram in haven/errors.py"


def test_exported_names_exist_and_are_exactly_the_public_api() -> None:
    assert sorted(haven.__all__) == haven.__all__
    for name in haven.__all__:
        assert hasattr(haven, name), name
    public = {n for n in vars(haven) if not n.startswith("_") and not isinstance(getattr(haven, n), type(haven))}
    assert public == set(haven.__all__)


def test_the_python_example_in_the_readme_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    readme = (DOCS.parent / "README.md").read_text("utf-8")
    example = re.search(r"^## Using Haven from Python\n.*?```python\n(.*?)^```", readme, re.M | re.S)
    assert example, "README.md has no ```python block under 'Using Haven from Python'"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HAVEN_KDF_PROFILE", "test")
    monkeypatch.setenv("HAVEN_PASSPHRASE", "grain twenty head airport swarm")
    exec(compile(example.group(1), "README.md", "exec"), {})
    assert (tmp_path / "clinic" / "site.db").exists()


def test_every_entry_field_is_documented() -> None:
    import dataclasses

    from haven.core import entries

    text = (DOCS / "entries.md").read_text("utf-8")
    for cls in (entries.Vaccination, entries.Test, entries.Treatment, entries.Note, entries.HolderFacts):
        for field in dataclasses.fields(cls):
            if field.name != "kind":
                assert f"`{field.name}`" in text, f"{cls.__name__}.{field.name} is not in docs/entries.md"
    for value in (*entries.SYMPTOMS, *entries.SEVERITIES, *entries.SAMPLES, *entries.AGE_BANDS, *entries.SEXES):
        assert f"`{value}`" in text, f"{value!r} is not in docs/entries.md"


def test_every_catalogue_product_is_documented() -> None:
    from haven.core.catalogue import catalogue

    text = (DOCS / "catalogue.md").read_text("utf-8") + (DOCS / "entries.md").read_text("utf-8")
    for key in catalogue().products:
        assert f"`{key}`" in text, key
