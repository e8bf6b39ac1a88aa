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
from tests.conftest import ADMIN_PASSPHRASE

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


def test_the_phones_section_of_web_md_runs_as_written(tmp_path: Path) -> None:
    """docs/web.md, "Phones on the clinic's Wi-Fi": its commands run as written (the server in an environment
    that makes it listen on 127.0.0.1 and a free port), and a client that trusts only the CA they made,
    checking the name clinic.local, gets /verify over https."""
    import os
    import signal
    import socket
    import ssl
    import subprocess
    import sys
    import time

    text = (DOCS / "web.md").read_text("utf-8")
    section = text.split("## Phones on the clinic's Wi-Fi\n", 1)[1].split("\n## ", 1)[0]
    make, serve = section.split("```sh\n", 1)[1].split("```", 1)[0].strip().splitlines()
    assert make.startswith("haven tls init ") and serve.startswith("haven serve ")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "HAVEN_HOME": str(tmp_path / "site"),
        "HAVEN_PASSPHRASE": ADMIN_PASSPHRASE,
        "HAVEN_WEB_HOST": "127.0.0.1",
        "HAVEN_WEB_PORT": str(port),
    }
    subprocess.run(["haven", "init", "--admin", "Ana"], env=env, cwd=tmp_path, check=True, capture_output=True)
    subprocess.run(["bash", "-c", make], env=env, cwd=tmp_path, check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile=str(tmp_path / "tls" / "ca.pem"))
    request = b"GET /verify HTTP/1.1\r\nHost: clinic.local\r\nConnection: close\r\n\r\n"
    with subprocess.Popen(
        ["bash", "-c", f"exec {serve}"], env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, start_new_session=True
    ) as server:
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    with (
                        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
                        context.wrap_socket(raw, server_hostname="clinic.local") as tls,
                    ):
                        tls.sendall(request)
                        answer = b"".join(iter(lambda: tls.recv(65536), b""))
                    break
                except ConnectionRefusedError:
                    assert time.monotonic() < deadline and server.poll() is None, "the server did not come up"
                    time.sleep(0.1)
        finally:
            os.killpg(server.pid, signal.SIGINT)
            server.wait(20)
    assert answer.startswith(b"HTTP/1.1 200 ") and b"strict-transport-security: max-age=31536000" in answer.lower()
