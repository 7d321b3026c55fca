"""Bun and Deno for the JavaScript driver, installed by npm into a user cache.

The driver's ``package.json`` and ``package-lock.json`` (``conformance/drivers/js/``) pin
the npm packages ``bun`` and ``deno``, which bring their engines' binaries. ``npm ci`` runs
in a cache directory of the user's, never inside the package: an installed (non-editable)
package stays as pip wrote it, and ``pip uninstall`` leaves nothing behind in site-packages.
The directory is ``$WASM_CONFORMANCE_JS_DIR``, else ``wasm-memory-conformance/js`` under
``$XDG_CACHE_HOME`` (default ``~/.cache``), beside the compiled guests' ``cguest``; delete it
to take the engines away. An install is kept while the lockfile is the same (its sha256 is
in ``.installed``)::

    python -m conformance.js_engines          # npm ci, once per lockfile (make setup-js)
    python -m conformance.js_engines --where  # the directory
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

from conformance.runtimes import JS_DIR
from conformance.runtimes import js_engines_dir as engines_dir

LOCK_FILES = ("package.json", "package-lock.json")
STAMP = ".installed"


def lock_digest() -> str:
    digest = hashlib.sha256()
    for name in LOCK_FILES:
        digest.update((JS_DIR / name).read_bytes())
    return digest.hexdigest()


def is_installed(where: Path | None = None) -> bool:
    stamp = (where or engines_dir()) / STAMP
    try:
        return stamp.read_text().strip() == lock_digest()
    except OSError:
        return False


def install(where: Path | None = None) -> str:
    """``npm ci`` of the driver's lockfile into ``where``, unless it is there already.

    Returns "" when the engines are in place, else why they are not (one line). Two installs at
    once (two checkouts' setups) take turns on a lock file.
    """
    where = where or engines_dir()
    if is_installed(where):
        return ""
    npm = shutil.which("npm")
    if npm is None:
        return "no npm on PATH"
    where.mkdir(parents=True, exist_ok=True)
    with open(where / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if is_installed(where):
            return ""
        (where / STAMP).unlink(missing_ok=True)
        for name in LOCK_FILES:
            shutil.copyfile(JS_DIR / name, where / name)
        proc = subprocess.run(
            [npm, "ci", "--prefix", str(where), "--no-audit", "--no-fund", "--loglevel=error"],
            capture_output=True, text=True,
        )
        if proc.returncode != 0:
            lines = (proc.stderr or proc.stdout).strip().splitlines()
            return f"npm ci failed: {lines[-1] if lines else f'exit {proc.returncode}'}"
        (where / STAMP).write_text(lock_digest() + "\n")
    return ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m conformance.js_engines",
        description="Install bun and deno (npm ci of the JavaScript driver's lockfile) into a user cache.")
    parser.add_argument("--where", action="store_true", help="print the directory and exit")
    args = parser.parse_args(argv)
    where = engines_dir()
    if args.where:
        print(where)
        return 0
    if is_installed(where):
        return 0
    print(f"setup: bun and deno (npm ci, as the lockfile pins them) into {where}", flush=True)
    why = install(where)
    if why:
        print(f"setup: {why}; bun and deno will be skipped")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
