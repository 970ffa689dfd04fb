"""Dependencies: every dependency in pyproject.toml is pinned by uv.lock (an exact version
with hashes, inside the declared range) and listed in the README's table with its reason;
and nothing is installed at run time: the app's code and its start-up scripts run no
installer, and `make` only ever syncs the environment from the lock (`uv sync --frozen`)."""

import re
import tomllib

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.helpers import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
LOCK = tomllib.loads((ROOT / "uv.lock").read_text())


def declared() -> dict[str, list[Requirement]]:
    groups = {"runtime": PYPROJECT["project"]["dependencies"]}
    groups.update(PYPROJECT.get("dependency-groups", {}))
    return {group: [Requirement(r) for r in reqs] for group, reqs in groups.items()}


def locked() -> dict[str, list[dict]]:
    packages: dict[str, list[dict]] = {}
    for package in LOCK["package"]:
        packages.setdefault(canonicalize_name(package["name"]), []).append(package)
    return packages


def project_entry() -> dict:
    (entry,) = [p for p in LOCK["package"] if p["name"] == PYPROJECT["project"]["name"]]
    return entry


def test_every_dependency_is_pinned_by_the_lock_inside_its_range():
    packages = locked()
    problems = []
    for group, requirements in declared().items():
        for requirement in requirements:
            versions = packages.get(canonicalize_name(requirement.name))
            if not versions:
                problems.append(f"{requirement.name} ({group}) is not in uv.lock")
                continue
            for entry in versions:
                if not requirement.specifier.contains(Version(entry["version"]), prereleases=True):
                    problems.append(f"{requirement} ({group}) is locked at {entry['version']}")
    assert problems == [], problems


def test_the_lock_is_up_to_date_with_pyproject():
    entry = project_entry()

    def as_set(items):
        return {
            (
                canonicalize_name(i["name"]),
                str(SpecifierSet(i.get("specifier", ""))),
                tuple(sorted(i.get("extras", []))),
            )
            for i in items
        }

    def wanted(requirements):
        return {
            (canonicalize_name(r.name), str(r.specifier), tuple(sorted(r.extras)))
            for r in requirements
        }

    groups = declared()
    assert as_set(entry["metadata"]["requires-dist"]) == wanted(groups.pop("runtime"))
    for group, requirements in groups.items():
        assert as_set(entry["metadata"]["requires-dev"][group]) == wanted(requirements), group


def test_every_locked_package_has_an_exact_version_and_hashes():
    unpinned = []
    for package in LOCK["package"]:
        if package.get("source", {}).get("virtual"):
            continue  # the project itself
        files = [package.get("sdist"), *package.get("wheels", [])]
        hashed = [f for f in files if f and f.get("hash", "").startswith("sha256:")]
        if not package.get("version") or not hashed:
            unpinned.append(package["name"])
    assert unpinned == [], unpinned
    assert len(LOCK["package"]) > 30


def readme_dependencies() -> dict[str, str]:
    """package name -> reason, from the README's "Dependencies" table."""
    text = (ROOT / "docs" / "development.md").read_text()
    section = text.split("\n## Dependencies", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 2 or cells[0] in ("package", "---") or set(cells[0]) <= {"-"}:
            continue
        for part in re.sub(r"\([^)]*\)", "", cells[0]).split(","):
            words = part.replace("`", "").split()
            if words:
                rows[canonicalize_name(words[0])] = cells[1]
    return rows


def test_every_dependency_is_listed_in_the_readme_with_its_reason():
    listed = readme_dependencies()
    missing = [
        f"{r.name} ({group})"
        for group, requirements in declared().items()
        for r in requirements
        if not listed.get(canonicalize_name(r.name))
    ]
    assert missing == [], f"add these to the README's Dependencies table: {missing}"


# Installers, as commands: pip, ensurepip, easy_install, uv's installing subcommands, apt.
INSTALLER = re.compile(
    r"\b(?:pip3?|ensurepip|easy_install)\b|\buv\b\"?\s+(?:pip|add|sync|tool)\b|"
    r"\bapt(?:-get)?\s+install\b|\bconda\s+install\b"
)
RUN_TIME = ["registry", "numpyml", "mlsite", "templates", "static/js"]
RUN_TIME_FILES = ["manage.py", "Procfile", "scripts/run.sh"]


def run_time_files():
    files = [ROOT / name for name in RUN_TIME_FILES]
    for folder in RUN_TIME:
        files += [p for p in (ROOT / folder).rglob("*") if p.suffix in (".py", ".html", ".js")]
    for folder in (".platform", ".ebextensions"):
        files += [p for p in (ROOT / folder).rglob("*") if p.is_file()]
    return files


def test_nothing_is_installed_at_run_time():
    files = run_time_files()
    assert len(files) > 50
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in files
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        if INSTALLER.search(line)
    ]
    assert found == [], found


def test_make_only_syncs_from_the_lock():
    makefile = (ROOT / "Makefile").read_text()
    recipes = {}
    for match in re.finditer(r"^([a-z-]+):[^\n=]*\n((?:\t[^\n]*\n)*)", makefile, re.M):
        recipes[match.group(1)] = match.group(2)
    assert re.search(r"^run: env\b", makefile, re.M)  # run only after env
    assert recipes["env"].strip() == "$(UV) sync --frozen"
    scripts = [makefile, *(p.read_text() for p in (ROOT / "scripts").glob("*.sh"))]
    uv_calls = [
        line
        for text in scripts
        for line in text.splitlines()
        if not line.lstrip().startswith("#")
        and re.search(r"\buv\b\"?\)?\s+(?:sync|run|lock)\b", line, re.I)
    ]
    assert len(uv_calls) >= 5
    for line in uv_calls:
        assert "--frozen" in line, line  # never resolves anew: the lock decides
    # The one pip in the Makefile installs uv itself into .tools/ when it is missing.
    pips = [line.strip() for line in makefile.splitlines() if re.search(r"\bpip\b", line)]
    assert pips == ['.tools/bin/pip install --quiet --disable-pip-version-check "uv>=0.5"']


def test_the_installer_check_catches_an_install_command():
    for line in (
        "subprocess.run(['pip', 'install', name])",
        'os.system("python -m pip install x")',
        '"$uv" pip install requests',
        "uv add requests",
        "apt-get install -y curl",
    ):
        assert INSTALLER.search(line), line
    assert not INSTALLER.search("the pipeline is fitted")
