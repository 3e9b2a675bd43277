"""The ``schedlab`` command line: one module per command.

Only ``click`` is imported up front; each command imports what it needs when it runs, so
``schedlab --help`` answers at once.
"""

from __future__ import annotations

import logging
import sys

import click

from schedlab import __version__
from schedlab.cli.data import data
from schedlab.cli.fill import fill
from schedlab.cli.interference import interference
from schedlab.cli.kueue import kueue
from schedlab.cli.llm import llm
from schedlab.cli.mig import mig
from schedlab.cli.profile import profile
from schedlab.cli.replay import replay
from schedlab.cli.report import report
from schedlab.cli.serve import serve
from schedlab.cli.sweep import sweep
from schedlab.cli.synth import synth
from schedlab.cli.trace import trace
from schedlab.errors import SchedlabError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="schedlab")
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
@click.option(
    "--plugin",
    "plugins",
    multiple=True,
    metavar="FILE.py|MODULE",
    help="Import user code first (e.g. a file defining a @register-ed policy). Repeatable.",
)
def cli(verbose: bool, plugins: tuple[str, ...]) -> None:
    """schedlab: trace-driven scheduling experiments on shared, heterogeneous GPU clusters."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Lines())
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, handlers=[handler], force=True)
    if plugins:
        from schedlab.plugins import load_plugin

        for plugin in plugins:
            load_plugin(plugin)


class _Lines(logging.Formatter):
    """One line per message: ``warning: ...`` and ``error: ...``; information as it is."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return text if record.levelno == logging.INFO else f"{record.levelname.lower()}: {text}"


for command in (
    fill,
    replay,
    synth,
    sweep,
    report,
    interference,
    profile,
    serve,
    kueue,
    mig,
    llm,
    trace,
    data,
):
    cli.add_command(command)


def main() -> None:
    """Entry point: run the CLI; a :class:`SchedlabError` is printed without a traceback."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as err:  # a bad flag or argument: one line, exit status 2
        flag = ""
        if isinstance(err, click.UsageError) and err.ctx is not None and err.ctx.parent is not None:
            flag = f" (see `{err.ctx.command_path} --help`)"
        click.echo(f"error: {err.format_message()}{flag}", err=True)
        sys.exit(2)
    except SchedlabError as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(2)
    except click.exceptions.Exit as err:
        sys.exit(err.exit_code)
