"""The ``teem`` command line: ``python -m teem`` and the installed ``teem`` script."""

import os
import subprocess
import sys
import types

import pytest

import teem
import teem.__main__ as cli


def run(*args, executable=(sys.executable, "-m", "teem")):
    return subprocess.run([*executable, *args], capture_output=True, text=True, timeout=60)


def test_version():
    proc = run("--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"teem {teem.__version__}\n"


def test_no_arguments_prints_help():
    proc = run()
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: teem")
    assert "--version" in proc.stdout


def test_help():
    proc = run("--help")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: teem")


def test_unknown_command_is_an_error():
    proc = run("no-such-command")
    assert proc.returncode == 2
    assert "no-such-command" in proc.stderr
    assert proc.stdout == ""


def test_installed_script():
    script = os.path.join(os.path.dirname(sys.executable), "teem")
    if not os.path.exists(script):
        pytest.skip("teem is not installed as a script in this environment (pip install -e .)")
    proc = run("--version", executable=(script,))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"teem {teem.__version__}\n"


# --- sub-commands: registered in COMMANDS, imported only when run -------------------------------


@pytest.fixture
def fake_command(monkeypatch):
    calls = []
    module = types.ModuleType("teem_test_fake_command")

    def main(argv, prog):
        calls.append((argv, prog))
        return 3

    module.main = main
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setitem(cli.COMMANDS, "fake", (module.__name__, "a command used by the tests"))
    return calls


def test_command_gets_its_arguments(fake_command):
    assert cli.main(["fake", "--port", "0", "x"]) == 3
    assert fake_command == [(["--port", "0", "x"], "teem fake")]


def test_commands_are_listed_in_help(fake_command, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "fake" in out and "a command used by the tests" in out
    assert fake_command == []


def test_unknown_command_with_commands_registered(fake_command, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["fak"])
    assert exc.value.code == 2
    assert "invalid choice: 'fak'" in capsys.readouterr().err
