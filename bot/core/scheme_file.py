"""The scheme file in force: where it is, and reading it.

The rules of the scheme are pure (:mod:`bot.rules.scheme` parses and validates its text); reading
the file is I/O, so it lives here, with the one answer to "which file is in force"
(``SCHEME_FILE``, else ``examples/scheme.toml``, the product's defaults).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from bot.rules.scheme import Scheme, SchemeError, SchemeProblem, parse_scheme

__all__ = ["DEFAULT_SCHEME_PATH", "default_scheme", "load_scheme", "read_scheme", "scheme_path"]


DEFAULT_SCHEME_PATH = Path(__file__).resolve().parents[2] / "examples" / "scheme.toml"


def load_scheme(path: str | Path) -> Scheme:
    """Read and validate a scheme file (UTF-8)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SchemeError(
            [SchemeProblem("", "unreadable", f"cannot read the file: {exc}", {"path": str(path)})],
            str(path),
        ) from None
    return parse_scheme(text, source=str(path))


@cache
def default_scheme() -> Scheme:
    """The scheme of ``examples/scheme.toml``: the defaults of the product spec.

    Cached because the scheme is frozen; do not mutate its tables.
    """
    return load_scheme(DEFAULT_SCHEME_PATH)


def scheme_path(scheme_file: Path | None) -> Path:
    """The scheme file in force: ``SCHEME_FILE``, else ``examples/scheme.toml``.

    An empty ``SCHEME_FILE=`` in ``.env`` reaches the settings as ``Path(".")``; it means "not
    set" as well.
    """
    if scheme_file is None or scheme_file == Path():
        return DEFAULT_SCHEME_PATH
    return scheme_file


def read_scheme(scheme_file: Path | None) -> tuple[Scheme, str, Path]:
    """Read and validate the scheme in force: (scheme, its text, its path).

    Raise :class:`~bot.rules.scheme.SchemeError` with every problem: a period must never open
    under a scheme that does not validate.
    """
    path = scheme_path(scheme_file)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SchemeError(
            [SchemeProblem("", "unreadable", f"cannot read the file: {exc}", {"path": str(path)})],
            str(path),
        ) from None
    return parse_scheme(text, source=str(path)), text, path
