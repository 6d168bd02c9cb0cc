"""The ``shopctl`` command: one typer app, one module per subcommand (``shopctl.commands``)."""

from __future__ import annotations

import typer

from shopctl.commands import events, lag, parked, rebuild, redrive

app = typer.Typer(
    name="shopctl",
    help=(
        "Operate the shop: against AWS (--stack-name) or the local stack (--endpoint-url). "
        "Every subcommand has --help and --json. Exit codes: docs/operations.md."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("lag")(lag.command)
app.command("events")(events.command)
app.command("rebuild")(rebuild.command)
app.command("parked")(parked.command)
app.command("redrive")(redrive.command)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
