"""The code version a run used: the release plus the git commit it was built from, for run logs and comparisons.

A built artifact (`scripts/package.sh`: wheel or `--py-files` zip) carries a generated `klout/_build_info.py`
with the commit; a checkout asks git. Anything else (say, an unpacked sdist) only knows the release.
"""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

# the release: the one place it is written (pyproject.toml reads it, scripts/package.sh too)
__version__ = "0.1.0"

# the paths whose changes make a build (or a checkout) "dirty": what goes into the artifact
BUILD_PATHS = ("klout", "conf", "jobs", "pyproject.toml")


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """`<__version__>+g<shortsha>` (`.dirty` appended when the packaged paths differed from that commit), from the
    build info of a packaged klout or from git in a checkout; just `__version__` when neither is available."""
    commit, dirty = _build_info() or _git_info() or (None, False)
    if not commit:
        return __version__
    return f"{__version__}+g{commit}{'.dirty' if dirty else ''}"


def _build_info() -> tuple[str, bool] | None:
    """(short commit, dirty) recorded by scripts/package.sh, or None outside a built artifact."""
    try:
        from klout import _build_info  # type: ignore[attr-defined]  # generated into builds only
    except ImportError:
        return None
    return (_build_info.COMMIT, bool(_build_info.DIRTY)) if _build_info.COMMIT else None


def _git_info() -> tuple[str, bool] | None:
    """(short commit, dirty) of the checkout this package sits in, or None when it is not in one (or no git)."""
    root = Path(__file__).resolve().parent.parent
    if not ((root / ".git").exists() and (root / "pyproject.toml").is_file()):
        return None
    try:
        commit = _git(root, "rev-parse", "--short", "HEAD")
        dirty = _git(root, "status", "--porcelain", "--", *BUILD_PATHS) != ""
    except (OSError, subprocess.SubprocessError):
        return None
    return (commit, dirty) if commit else None


def _git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, check=True, timeout=10
    ).stdout.strip()
