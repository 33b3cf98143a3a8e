"""The contract test suite: judges a journal and writes the test protocol, as pytest test cases.

    tox -e contract -- --journal .mockplatform/journal.sqlite --out protocol-out [--consumer HSAID ...]

It takes the options of ``mockplatform verify`` and calls the same engine, so both give the same
verdict; here every protocol case and every rule becomes a test a CI page can show.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from mockplatform import domains
from mockplatform.cli import add_verify_arguments, verify_options
from mockplatform.errors import MockplatformError
from mockplatform.protocol import write_all
from mockplatform.protocol.console import render_summary
from mockplatform.verification import verify

# pytest has --fixtures of its own: here the platform's fixtures file is --platform-fixtures.
RENAMED = {"--fixtures": "--platform-fixtures"}


def pytest_addoption(parser: pytest.Parser) -> None:
    # The same options as `mockplatform verify`, declared once in the CLI and copied here.
    scratch = argparse.ArgumentParser(add_help=False)
    add_verify_arguments(scratch)
    group = parser.getgroup("mockplatform", "judging a journal (same options as `mockplatform verify`)")
    for action in scratch._actions:
        kwargs = {"dest": f"mp_{action.dest}", "help": action.help, "default": action.default}
        if isinstance(action, argparse._StoreTrueAction):
            kwargs["action"] = "store_true"
        elif isinstance(action, argparse._AppendAction):
            kwargs["action"] = "append"
            kwargs["default"] = None
            kwargs["type"] = action.type
        else:
            kwargs["type"] = action.type
            kwargs["metavar"] = action.metavar
        group.addoption(*(RENAMED.get(o, o) for o in action.option_strings), **kwargs)


def _args(config: pytest.Config) -> argparse.Namespace:
    scratch = argparse.ArgumentParser(add_help=False)
    add_verify_arguments(scratch)
    values = {}
    for action in scratch._actions:
        value = config.getoption(f"mp_{action.dest}")
        values[action.dest] = [] if value is None and isinstance(action, argparse._AppendAction) \
            and action.dest == "contracts" else value
    return argparse.Namespace(**values)


@pytest.fixture(scope="session")
def protocol(request: pytest.FixtureRequest):
    """Judge the journal once per session and write every protocol file."""
    args = _args(request.config)
    try:
        result = verify(verify_options(args))
        written = write_all(result, Path(args.out))
    except (MockplatformError, OSError) as exc:
        pytest.exit(f"mockplatform: {exc}", returncode=3)
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line("")
        reporter.write_line(render_summary(result))
        for path in written.values():
            reporter.write_line(f"  wrote {path}")
    return result


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    profile = domains.profile(metafunc.config.getoption("mp_profile"))
    if "case_id" in metafunc.fixturenames:
        metafunc.parametrize("case_id", [c.id for c in profile.cases])
    if "rule_id" in metafunc.fixturenames:
        metafunc.parametrize("rule_id", [r.id for r in profile.rules])
