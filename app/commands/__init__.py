"""The `dydx-bot` subcommands and the main job, one module each (`add_parser`/`add_arguments` and `run`)."""


class UsageError(Exception):
    """A bad argument or input: printed as one line, exit status 2."""
