"""Where progress output goes: stdout, or ``logging`` when interactive logging is off."""

from __future__ import annotations

import logging
import sys

from kerax import config

_LOGGER = logging.getLogger("kerax")


def print_msg(message: str, line_break: bool = True) -> None:
    """Write ``message`` to stdout, or log it at INFO when interactive logging is off."""
    if config.is_interactive_logging_enabled():
        sys.stdout.write(message + ("\n" if line_break else ""))
        sys.stdout.flush()
    else:
        _LOGGER.info(message)
