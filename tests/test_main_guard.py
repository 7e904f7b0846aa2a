"""Scripts without ``if __name__ == '__main__':``: which pools need the guard, and the error that says so."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

HEADER = """
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
import teem as dask

def inc(x):
    return x + 1
"""


def run_script(tmp_path, body: str) -> subprocess.CompletedProcess:
    path = tmp_path / "job.py"
    path.write_text(textwrap.dedent(HEADER) + textwrap.dedent(body))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, str(path)], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)


SPAWN_POOL = "ProcessPoolExecutor(2, mp_context=multiprocessing.get_context({method!r}))"


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_unguarded_script_on_a_reimporting_pool_gets_an_error_that_explains_the_guard(tmp_path, method):
    proc = run_script(tmp_path, f"""
        pool = {SPAWN_POOL.format(method=method)}
        print(dask.compute([dask.delayed(inc)(i) for i in range(4)], scheduler=pool))
    """)
    assert proc.returncode == 1
    assert "teem.core.errors.MainGuardError: this compute runs on a ProcessPoolExecutor" in proc.stderr
    assert "if __name__ == '__main__':" in proc.stderr
    assert "job.py" in proc.stderr and "line 10" in proc.stderr
    assert "scheduler='processes'" in proc.stderr
    assert "bootstrapping" not in proc.stderr


def test_a_compute_started_from_a_function_points_at_the_top_level_line(tmp_path):
    proc = run_script(tmp_path, f"""
        def main():
            pool = {SPAWN_POOL.format(method="spawn")}
            return dask.compute(dask.delayed(inc)(1), scheduler=pool)

        print(main())
    """)
    assert "MainGuardError" in proc.stderr and "line 13" in proc.stderr, proc.stderr


def test_guarded_script_on_a_spawn_pool_runs(tmp_path):
    proc = run_script(tmp_path, f"""
        if __name__ == "__main__":
            pool = {SPAWN_POOL.format(method="spawn")}
            print(dask.compute([dask.delayed(inc)(i) for i in range(4)], scheduler=pool))
            pool.shutdown()
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "([1, 2, 3, 4],)"


@pytest.mark.parametrize("pool", ["ProcessPoolExecutor(2, mp_context=multiprocessing.get_context('fork'))",
                                  "'processes'"])
def test_unguarded_script_runs_where_workers_do_not_import_it(tmp_path, pool):
    proc = run_script(tmp_path, f"""
        print(dask.compute([dask.delayed(inc)(i) for i in range(4)], scheduler={pool}))
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "([1, 2, 3, 4],)"


def test_interactive_code_is_never_stopped():
    code = textwrap.dedent(HEADER) + textwrap.dedent(f"""
        pool = {SPAWN_POOL.format(method="spawn")}
        print(dask.compute(dask.delayed(inc)(1), scheduler=pool))
        pool.shutdown()
    """)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=120)
    # Code given with -c (as in notebooks and shells) is not a file workers could import again.
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "(2,)"
