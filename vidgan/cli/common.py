"""Helpers shared by subcommands: flag parsing and one-line errors instead of tracebacks."""

from __future__ import annotations

import os
import re
import sys
import traceback
from typing import Callable, NoReturn

from absl import app
from absl import flags
from absl import logging

_VERBOSE = flags.DEFINE_bool(
    "verbose", False, "On an unexpected error, print the full Python traceback.")


def fail(command: str, message: str, code: int = 2) -> NoReturn:
    """Prints `vidgan <command>: error: <message>` on stderr and exits.

    Exits with os._exit after flushing: a failed tf.data pipeline can leave threads
    that hang or abort TensorFlow's interpreter teardown, which would hide the code.
    """
    logging.flush()
    print(f"vidgan {command}: error: {message}", file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def check_args(command: str, argv: list[str], required: tuple = ()) -> None:
    """One-line failures for positional arguments (every input is a flag) and for
    `required` flags left unset or empty."""
    if len(argv) > 1:
        fail(command, f"unexpected arguments: {' '.join(argv[1:])}")
    for flag in required:
        if flag.value is None or flag.value == "":
            fail(command, f"--{flag.name} is required")


def last_line(error: BaseException | str) -> str:
    """The last non-empty line of an error message (libraries nest tracebacks in them)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__


def load_config(command: str, config_flag, example: str):
    """The validated Config of a --config flag (ml_collections config_flags), or a
    one-line failure: missing flag, a file whose get_config() fails or returns None, or a
    field that does not validate."""
    from vidgan import config as config_lib  # noqa: PLC0415

    path = getattr(flags.FLAGS[config_flag.name], "config_filename", None) \
        if flags.FLAGS[config_flag.name].present else None
    if config_flag.value is None:
        if path:
            fail(command, f"--config={path}: get_config() returned None; it must return a "
                          "ConfigDict")
        fail(command, f"--config is required, e.g. --config={example}")
    try:
        return config_lib.from_dict(config_flag.value)
    except IOError as e:  # config_flags defers a failed load to the first access
        fail(command, f"cannot load --config={path}: {last_line(e)}")
    except config_lib.ConfigError as e:
        fail(command, str(e))


def _flag_error(error: BaseException) -> str:
    """One line for a flag error (config_flags nests tracebacks and KeyError reprs)."""
    text = str(error).strip()
    if isinstance(error, (KeyError, AttributeError)) and text[:1] in "'\"":
        text = text[1:-1]  # repr() of a KeyError message
    text = text.replace("\\n", "\n").replace("\\'", "'")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    detail = last_line(text)
    if detail.startswith("Did you mean") and len(lines) > 1:
        detail = f"unknown config field {lines[0]}. {detail}"
    flag = next((line for line in lines if line.startswith("flag --")), "")
    if flag and flag != detail:
        return f"{re.sub(r':.*$', '', flag)}: {detail}"
    return detail


def run_app(command: str, main: Callable[[list[str]], None], argv: list[str]) -> None:
    """app.run with flag errors (including bad --config overrides) and unexpected
    exceptions as one line; --verbose shows the traceback of the latter."""

    def parse(args: list[str]) -> list[str]:
        try:
            return flags.FLAGS(args)
        except (flags.Error, AttributeError, KeyError, TypeError, ValueError) as e:
            fail(command, _flag_error(e))

    def guarded_main(args: list[str]) -> None:
        try:
            main(args)
        except Exception as e:  # noqa: BLE001  last resort: known errors are handled in main
            if _VERBOSE.value:
                traceback.print_exc()
            fail(command, f"{type(e).__name__}: {last_line(e)} (--verbose shows the traceback)",
                 code=1)

    app.run(guarded_main, argv=argv, flags_parser=parse)
