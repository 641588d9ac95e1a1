"""The example Airflow DAG (scripts/airflow_dag.py) without Airflow installed: its commands are ones the `klout` CLI
accepts, and its exit-code policy retries what a retry can fix only."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from klout import cli

DAG_FILE = Path(__file__).parent.parent / "scripts" / "airflow_dag.py"


@pytest.fixture
def dag(monkeypatch):
    for name in ("KLOUT_DAILY", "KLOUT_MAINTAIN", "KLOUT_ARGS"):
        monkeypatch.delenv(name, raising=False)
    spec = importlib.util.spec_from_file_location("airflow_dag", DAG_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.fast  # no subprocess (the retry test below starts some)
def test_the_dag_commands_are_valid_klout_commands(dag):
    daily = dag.daily_command("2026-01-02", "scheduled__2026-01-02T00:00:00+00:00")
    assert daily == [
        "klout",
        "daily",
        "--date",
        "2026-01-02",
        "--run-id",
        "scheduled__2026-01-02T00:00:00+00:00",
        "--conf",
        "conf/cluster.yaml",
    ]
    args = cli.build_parser().parse_args(daily[1:])
    assert (args.command, str(args.date), args.run_id, args.conf, args.force) == (
        "daily",
        "2026-01-02",
        "scheduled__2026-01-02T00:00:00+00:00",
        ["conf/cluster.yaml"],
        False,
    )
    maintain = dag.maintain_command()
    assert cli.build_parser().parse_args(maintain[1:]).run is cli._cmd_maintain


@pytest.mark.fast
def test_a_cluster_submit_command_passes_the_same_options_to_the_job(dag, monkeypatch):
    monkeypatch.setenv("KLOUT_DAILY", "spark-submit --master yarn --deploy-mode cluster jobs/daily.py")
    spec = importlib.util.spec_from_file_location("airflow_dag_cluster", DAG_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    command = module.daily_command("2026-01-02", "r1")
    job_args = command[command.index("jobs/daily.py") + 1 :]
    # jobs/daily.py runs `klout daily` with its own arguments
    assert cli.build_parser().parse_args(["daily", *job_args]).date.isoformat() == "2026-01-02"


@pytest.mark.parametrize("rc, retried", [(0, None), (1, True), (3, True), (5, True), (2, False), (4, False)])
def test_exit_codes_decide_the_retry(dag, rc, retried):
    command = [sys.executable, "-c", f"import sys; sys.exit({rc})"]
    if retried is None:
        dag.run_klout(command)
        return
    with pytest.raises(dag.AirflowException) as failure:
        dag.run_klout(command)
    assert isinstance(failure.value, dag.AirflowFailException) is (not retried)
    assert f"exited {rc}" in str(failure.value)
