"""The `offswitch` group: its commands, by what users do, each in its own module.

- `list`, `run` (`run.py`): choose configurations and run them on a model;
- `results`, `report`, `calibrate` (`analyse.py`): read the logs of runs;
- `judge validate`, `judge rescore` (`judge.py`): the LLM judge;
- `guard serve|scan|bench|audit` (`guard.py`): the runtime guard.

`offswitch audit ...` and `offswitch rescore` are the old names of `guard audit` and
`judge rescore`, kept as aliases.
"""

from __future__ import annotations

import click

from offswitch import __version__
from offswitch.cli._lazy import LazyGroup

COMMANDS = {
    "list": "offswitch.cli.run:list_configs",
    "run": "offswitch.cli.run:run",
    "results": "offswitch.cli.analyse:results",
    "report": "offswitch.cli.analyse:report",
    "calibrate": "offswitch.cli.analyse:calibrate",
    "judge": "offswitch.cli.judge:judge",
    "guard": "offswitch.cli.guard:guard",
}
ALIASES = {
    "audit": "offswitch.cli.guard_audit:audit",
    "rescore": "offswitch.cli.judge:rescore",
}


@click.group(cls=LazyGroup, lazy=COMMANDS, aliases=ALIASES)
@click.version_option(__version__, prog_name="offswitch")
def main() -> None:
    """Measure and stop self- and peer-preservation in AI agents.

    Old names still work: `offswitch audit` is `offswitch guard audit`, and
    `offswitch rescore` is `offswitch judge rescore`.
    """
