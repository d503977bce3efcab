"""Every `reconcile ...` command line in the workflows parses with the real click CLI."""

from __future__ import annotations

import importlib
import re

import click
import pytest
from click.testing import CliRunner

from reconcile.cli import COMMANDS, cli
from tests.ci.workflows import all_workflows, commands, steps

WF = all_workflows()
# Values standing in for the shell variables the scripts use.
PLACEHOLDERS = {"ENV_NAME": "dev", "PLAN_FILE": "plan.json", "CODE": "2", "RUN_URL": "https://run",
                "ARTIFACT_URL": "https://artifact"}

LINES = sorted({(s.workflow, " ".join(cmd)) for s in steps(WF) for cmd in commands(s.step.get("run", ""))})


def _expand(token: str) -> str:
    def sub(m: re.Match[str]) -> str:
        return PLACEHOLDERS[m.group(1) or m.group(2)]
    return re.sub(r"\$\{([A-Z_]+)(?::-\$[A-Z_]+)?\}|\$([A-Z_]+)", sub, token)


def test_the_workflows_use_the_commands_we_expect() -> None:
    used = {line.split()[1] if line.startswith("reconcile ") else line.split()[2] for _w, line in LINES}
    assert used == {"validate", "plan", "apply", "reconcile.ci.pr_comment", "reconcile.ci.azure_token"}


@pytest.mark.parametrize(("workflow", "line"), LINES)
def test_command_line_parses(workflow: str, line: str) -> None:
    argv = [_expand(t) for t in line.split()]
    if argv[0] == "python":
        module = importlib.import_module(argv[2])
        command: click.Command = module.main
        args = argv[3:]
    else:
        sub, args = argv[1], argv[2:]
        assert sub in COMMANDS, f"{workflow}: `reconcile {sub}` is not a registered command"
        module_name, attr, _help = COMMANDS[sub]
        command = getattr(importlib.import_module(module_name), attr)
        help_run = CliRunner().invoke(cli, [sub, "--help"])
        assert help_run.exit_code == 0, help_run.output
    # Parse exactly as the shell would pass the arguments, without running the command.
    ctx = command.make_context(argv[0], list(args))
    assert ctx.params is not None
