"""No pickle, eval or exec of user content: nothing in registry/, numpyml/ or mlsite/ imports
a pickle-family module (pickle, marshal, shelve, cloudpickle, joblib, dill...), reads a
pickled numpy array, or runs code it builds at run time (eval, exec, compile, __import__,
importlib.import_module with anything but a constant).

Checked twice: statically (the AST of every .py file), and at run time (every module
imported in a fresh interpreter). numpy itself imports pickle when it loads, so the run-time
check compares with a baseline interpreter that only imported numpy and django, and looks
for pickle-family modules and objects bound in our modules' namespaces.
"""

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.helpers import PYTHON, ROOT

PACKAGES = ("registry", "numpyml", "mlsite")
PICKLE_FAMILY = {
    "pickle",
    "_pickle",
    "cPickle",
    "pickletools",
    "_compat_pickle",
    "marshal",
    "shelve",
    "cloudpickle",
    "joblib",
    "dill",
}
DYNAMIC_CODE = {"eval", "exec", "compile", "__import__", "import_module"}


def is_constant(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant)


def problems_in(source: str, filename: str) -> list[str]:
    """What a file does that it must not: imports, pickled loads, dynamic code."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        where = f"{filename}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""] if node.level == 0 else []
        else:
            names = []
        for name in names:
            if name.split(".")[0] in PICKLE_FAMILY:
                found.append(f"{where} imports {name}")
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        is_builtin_like = isinstance(func, ast.Name) or (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id in ("builtins", "importlib")
        )
        if called in DYNAMIC_CODE and is_builtin_like:
            args = [*node.args, *(k.value for k in node.keywords)]
            if not args or not all(is_constant(a) for a in args):
                found.append(f"{where} calls {called} with a computed argument")
        for keyword in node.keywords:
            if keyword.arg == "allow_pickle" and not (
                is_constant(keyword.value) and keyword.value.value is False
            ):
                found.append(f"{where} loads with allow_pickle other than False")
        if called in ("read_pickle", "load_pickle") or (
            called in ("load", "loads")
            and isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id in PICKLE_FAMILY
        ):
            found.append(f"{where} calls {called}")
    return found


def python_files() -> list[Path]:
    files = [p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))]
    assert len(files) > 30
    return files


def test_no_module_imports_pickle_or_runs_built_code_statically():
    found = []
    for path in python_files():
        found += problems_in(path.read_text(), str(path.relative_to(ROOT)))
    assert found == [], "\n".join(found)


def test_the_static_check_catches_what_it_looks_for():
    source = textwrap.dedent(
        """
        import pickle
        import numpy as np
        from joblib import load
        import dill.settings
        eval(user_text)
        exec(compile(code, "<x>", "exec"))
        __import__(name)
        importlib.import_module(f"registry.{name}")
        np.load(blob, allow_pickle=True)
        marshal.loads(blob)
        pd.read_pickle(path)
        re.compile(pattern)  # a method called compile: fine
        importlib.import_module("numpyml.tree")  # a constant: fine
        np.load(blob, allow_pickle=False)  # fine
        """
    )
    found = problems_in(source, "bad.py")
    assert len(found) == 11, "\n".join(found)
    assert not any(":13 " in f or ":14 " in f or ":15 " in f for f in found), found


# The run-time check: a fresh interpreter imports numpy and django (the baseline), then
# every module of the packages named on the command line.
PROBE = textwrap.dedent(
    """
    import importlib, json, os, pkgutil, sys, types
    family = set(json.loads(sys.argv[1]))
    packages = sys.argv[2:]
    import numpy, django
    baseline = sorted(m for m in family if m in sys.modules)
    if "registry" in packages or "mlsite" in packages:
        django.setup()
    modules = []
    for package in packages:
        root = importlib.import_module(package)
        modules.append(root)
        for info in pkgutil.walk_packages(root.__path__, package + "."):
            if all(part.isidentifier() for part in info.name.split(".")):
                modules.append(importlib.import_module(info.name))
    bound = []
    for module in modules:
        for name, value in list(vars(module).items()):
            try:
                origin = value.__name__ if isinstance(value, types.ModuleType) else (
                    getattr(value, "__module__", None))
            except Exception:
                continue
            if isinstance(origin, str) and origin.split(".")[0] in family:
                bound.append(f"{module.__name__}.{name} is {origin}")
    after = sorted(m for m in family if m in sys.modules)
    print(json.dumps({"baseline": baseline, "after": after, "bound": bound,
                      "modules": sorted(m.__name__ for m in modules)}))
    """
)


def probe(*packages: str, extra_path: Path | None = None) -> dict:
    env = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "mlsite.settings"}
    for name in ("DJANGO_SECRET_KEY", "MLSERVE_VAR_DIR", "DATABASE_URL", "MLSERVE_MANIFEST_STATIC"):
        if name in os.environ:
            env[name] = os.environ[name]
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in (extra_path, ROOT) if p)
    result = subprocess.run(
        [PYTHON, "-c", PROBE, json.dumps(sorted(PICKLE_FAMILY)), *packages],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def importable(packages) -> list[str]:
    """The modules the packages hold (gunicorn.conf.py is a config file, not one)."""
    names = []
    for package in packages:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            in_packages = all(
                (ROOT.joinpath(*parts[:i]) / "__init__.py").exists() for i in range(1, len(parts))
            )
            if in_packages and all(part.isidentifier() for part in parts):
                names.append(".".join(parts).removesuffix(".__init__"))
    return sorted(names)


@pytest.mark.system  # starts a Python process
@pytest.mark.system_parallel
def test_importing_every_module_brings_in_no_pickle_family_module():
    for packages in (("numpyml",), PACKAGES):
        found = probe(*packages)
        assert found["modules"] == importable(packages), found  # every module was imported
        new = sorted(set(found["after"]) - set(found["baseline"]))
        assert new == [], f"{packages} imported {new}"
        assert found["bound"] == [], found["bound"]
        print(f"\n{packages}: {len(found['modules'])} modules; numpy loads {found['baseline']}")


@pytest.mark.system  # starts a Python process
@pytest.mark.system_parallel
def test_the_run_time_check_catches_a_module_that_imports_pickle(tmp_path):
    package = tmp_path / "leaky"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "store.py").write_text("import shelve\nfrom pickle import loads\n")
    found = probe("leaky", extra_path=tmp_path)
    assert found["modules"] == ["leaky", "leaky.store"]
    assert set(found["after"]) - set(found["baseline"]) == {"shelve"}
    assert found["bound"] == ["leaky.store.shelve is shelve", "leaky.store.loads is _pickle"]
    assert sys.modules.get("leaky") is None  # probed in its own interpreter only
