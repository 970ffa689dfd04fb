#!/usr/bin/env bash
# `make bundle`: build the Elastic Beanstalk source bundle, a zip of what the instances
# run and nothing else (no var/, .git, tests, virtualenvs, terraform/ or caches).
#   scripts/bundle.sh [OUTPUT.zip]     default: dist/mlserving-<git describe>.zip
# Prints the zip's path. The same files give the same zip (sorted, fixed timestamps).
set -euo pipefail
cd "$(dirname "$0")/.."

# What goes in: the platform's files, the app, its templates and static sources.
include=(Procfile requirements.txt manage.py .ebextensions .platform mlsite registry numpyml
  templates static)
for path in "${include[@]}"; do
  [ -e "$path" ] || { echo "bundle: $path is missing" >&2; exit 1; }
done

label=$(git describe --always --dirty 2>/dev/null || date -u +%Y%m%d%H%M%S)
out=${1:-dist/mlserving-$label.zip}
mkdir -p "$(dirname "$out")"

python3 - "$out" "${include[@]}" <<'PY'
import os
import sys
import zipfile
from pathlib import Path

out, roots = Path(sys.argv[1]), sys.argv[2:]
# Never shipped even inside an included folder: caches, editor and OS litter, local data.
skip_dirs = {"__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache", "var", "node_modules"}
skip_suffixes = (".pyc", ".pyo", ".sqlite3", ".swp", "~")
skip_names = {".DS_Store"}

files = []
for root in roots:
    path = Path(root)
    if path.is_file():
        files.append(path)
        continue
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames[:] = [d for d in dirnames if d not in skip_dirs]
        for name in filenames:
            if name in skip_names or name.endswith(skip_suffixes):
                continue
            files.append(Path(dirpath) / name)

tmp = out.with_name(out.name + ".tmp")
with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as bundle:
    for path in sorted(files):
        info = zipfile.ZipInfo(path.as_posix(), date_time=(1980, 1, 1, 0, 0, 0))
        # Elastic Beanstalk runs .platform hooks only if they are executable: make sure they
        # are, even from a checkout that lost the bit.
        executable = path.parts[:2] in {(".platform", d) for d in ("hooks", "confighooks", "bin")}
        mode = 0o755 if executable or os.access(path, os.X_OK) else 0o644
        info.external_attr = (0o100000 | mode) << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        bundle.writestr(info, path.read_bytes())
tmp.replace(out)
print(out)
PY
