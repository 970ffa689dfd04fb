"""Helpers for the deployment tests: find uv, run the tools/iac environment, read HCL."""

import copy
import functools
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import hcl2
import pytest

from tests.helpers import ROOT

TERRAFORM = ROOT / "terraform"
IAC_PROJECT = ROOT / "tools" / "iac"
IAC_PYTHON = IAC_PROJECT / ".venv" / "bin" / "python"


def find_uv() -> str | None:
    """uv the way scripts/test.sh finds it: on PATH, else the Makefile's .tools/ copy."""
    local = ROOT / ".tools" / "bin" / "uv"
    return shutil.which("uv") or (str(local) if local.exists() else None)


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without the app's virtualenv, plus extra."""
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env.update({"UV_PYTHON_DOWNLOADS": "never", **extra})
    return env


def sync_iac_env() -> None:
    """Make tools/iac/.venv match its lock (checkov, zizmor, pyyaml)."""
    uv = find_uv()
    if uv is None:
        pytest.fail("uv not found (not on PATH nor .tools/bin/uv): run `make env` first")
    subprocess.run(
        [uv, "sync", "--frozen", "--project", str(IAC_PROJECT), "--quiet"],
        check=True,
        env=clean_env(),
        timeout=600,
    )


def load_yaml(path: Path) -> Any:
    """Parse YAML with the tools/iac environment's PyYAML (the app's has none)."""
    code = "import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)"
    result = subprocess.run(
        [str(IAC_PYTHON), "-c", code, str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(result.stdout)


def tf_files() -> list[Path]:
    return sorted(p for p in TERRAFORM.rglob("*.tf") if ".terraform" not in p.parts)


def unquote(value: Any) -> Any:
    """python-hcl2 keeps string literals' quotes ('"abc"'); drop them, recursively."""
    if isinstance(value, str):
        if len(value) >= 2 and value.startswith('"') and value.endswith('"'):
            return value[1:-1]
        return value
    if isinstance(value, list):
        return [unquote(item) for item in value]
    if isinstance(value, dict):
        return {
            unquote(key): unquote(item)
            for key, item in value.items()
            if key not in ("__is_block__", "__comments__", "__inline_comments__")
        }
    return value


@functools.cache
def _parse(path: Path, mtime_ns: int) -> dict[str, Any]:
    with path.open() as handle:
        return unquote(hcl2.load(handle))


def load_hcl(path: Path) -> dict[str, Any]:
    """A .tf file as plain data (parsed once per version of the file: parsing is slow)."""
    return copy.deepcopy(_parse(path, path.stat().st_mtime_ns))


def load_dir(directory: Path) -> dict[str, list]:
    """Every top-level block of a Terraform directory, merged across its files."""
    merged: dict[str, list] = {}
    for path in sorted(directory.glob("*.tf")):
        for kind, blocks in load_hcl(path).items():
            merged.setdefault(kind, []).extend(blocks)
    return merged


def blocks(tree: dict[str, list], kind: str, type_: str) -> dict[str, dict]:
    """{name: body} of every `kind "type_" "name"` block (resource, data)."""
    found: dict[str, dict] = {}
    for block in tree.get(kind, []):
        for name, body in block.get(type_, {}).items():
            found[name] = body
    return found


def one(tree: dict[str, list], kind: str, type_: str) -> dict:
    found = blocks(tree, kind, type_)
    assert len(found) == 1, f"expected one {kind} {type_}, found {sorted(found)}"
    return next(iter(found.values()))


def locals_of(tree: dict[str, list]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for block in tree.get("locals", []):
        merged.update(block)
    return merged


def walk(value: Any, path: str = ""):
    """Yield (dotted path, key, value) for every key of a parsed HCL tree."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield f"{path}.{key}", key, item
            yield from walk(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk(item, f"{path}[{index}]")
