"""Config overrides given to the benchmarks on the command line: --override FIELD=JSON."""

from __future__ import annotations

import argparse
import json


def add_override_flag(parser: argparse.ArgumentParser, help_text: str) -> None:
    """--override FIELD=JSON, repeatable."""
    parser.add_argument("--override", action="append", default=[], help=help_text)


def parse_overrides(items: list[str]) -> dict:
    """["train.g_lr=4e-4", 'train.augment="cutout"'] -> {"train.g_lr": 0.0004, ...}; the
    value is JSON (strings quoted). A malformed item exits with one line."""
    updates = {}
    for item in items:
        field, sep, value = item.partition("=")
        try:
            if not sep:
                raise ValueError("expected FIELD=JSON_VALUE")
            updates[field] = json.loads(value)
        except ValueError as e:
            raise SystemExit(f"--override {item!r}: {e}") from None
    return updates
