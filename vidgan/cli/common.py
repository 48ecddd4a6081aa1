"""Helpers shared by subcommands: flag parsing and one-line errors instead of tracebacks."""

from __future__ import annotations

import re
import sys
from typing import Callable, NoReturn

from absl import app
from absl import flags
from absl import logging


def fail(command: str, message: str, code: int = 2) -> NoReturn:
    """Prints `vidgan <command>: error: <message>` on stderr and exits."""
    logging.flush()
    print(f"vidgan {command}: error: {message}", file=sys.stderr)
    sys.exit(code)


def _one_line(error: BaseException) -> str:
    """The useful line of a flag error (config_flags nests tracebacks and KeyErrors)."""
    text = str(error).strip()
    if isinstance(error, (KeyError, AttributeError)) and text[:1] in "'\"":
        text = text[1:-1]  # repr() of a KeyError message
    text = text.replace("\\n", "\n").replace("\\'", "'")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    flag = next((line for line in lines if line.startswith("flag --")), "")
    detail = lines[-1] if lines else type(error).__name__
    if detail.startswith("Did you mean") and len(lines) > 1:
        detail = f"unknown config field {lines[0]}. {detail}"
    if flag and flag != detail:
        flag = re.sub(r":.*$", "", flag)
        return f"{flag}: {detail}"
    return detail


def last_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__


def run_app(command: str, main: Callable[[list[str]], None], argv: list[str]) -> None:
    """app.run with flag errors (including bad --config overrides) as one line."""

    def parse(args: list[str]) -> list[str]:
        try:
            return flags.FLAGS(args)
        except (flags.Error, AttributeError, KeyError, TypeError, ValueError) as e:
            fail(command, _one_line(e))

    app.run(main, argv=argv, flags_parser=parse)
