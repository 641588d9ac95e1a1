"""Example Airflow DAG: klout's daily run for each date, in order, with retries; compaction and vacuum weekly.

Copy this file into Airflow's dags folder on a machine where `klout` (or spark-submit) can run. Settings come from the
environment of the Airflow worker:
  KLOUT_DAILY     the command that runs one date, without its options (default "klout daily"; on a cluster e.g.
                  "spark-submit --master yarn --deploy-mode cluster ... jobs/daily.py", see the README)
  KLOUT_MAINTAIN  the maintenance command (default "klout maintain")
  KLOUT_ARGS      options for both (default "--conf conf/cluster.yaml")
  KLOUT_START     first date to schedule (default 2026-01-01); Airflow's catchup backfills from there in order

Each date is one task: `klout daily --date {{ ds }} --run-id {{ run_id }}`. klout skips a date that already succeeded
with the same inputs and config, so a retry or a cleared task resumes safely. Exit codes decide the retry: 3 (the
day's input has not landed yet) and 5 (a concurrent run) and any crash are retried; 2 (bad usage or config) and 4 (a
data-quality gate stopped the publish) fail at once for a person to look at (see docs/operations.md, exit codes).
"""

from __future__ import annotations

import datetime as dt
import os
import shlex
import subprocess

try:  # Airflow 3 (Task SDK), then Airflow 2
    from airflow.exceptions import AirflowException, AirflowFailException
    from airflow.providers.standard.operators.python import PythonOperator
    from airflow.sdk import DAG
    from airflow.timetables.interval import CronDataIntervalTimetable
except ImportError:
    try:
        from airflow import DAG
        from airflow.exceptions import AirflowException, AirflowFailException
        from airflow.operators.python import PythonOperator
        from airflow.timetables.interval import CronDataIntervalTimetable
    except ImportError:  # not under Airflow: the commands can still be built and checked (tests/test_airflow_dag.py)
        DAG = PythonOperator = CronDataIntervalTimetable = None

        class AirflowException(Exception):  # type: ignore[no-redef]
            """Stands in for Airflow's retryable failure."""

        class AirflowFailException(AirflowException):  # type: ignore[no-redef]
            """Stands in for Airflow's failure without retry."""


DAILY = shlex.split(os.environ.get("KLOUT_DAILY", "klout daily"))
MAINTAIN = shlex.split(os.environ.get("KLOUT_MAINTAIN", "klout maintain"))
ARGS = shlex.split(os.environ.get("KLOUT_ARGS", "--conf conf/cluster.yaml"))
START = dt.date.fromisoformat(os.environ.get("KLOUT_START", "2026-01-01"))

# exit codes a retry cannot fix (klout/errors.py)
NO_RETRY = {2: "bad usage or configuration", 4: "a data-quality gate stopped the publish"}


def daily_command(ds: str, run_id: str) -> list[str]:
    """The command that scores date `ds` (YYYY-MM-DD), logged under Airflow's run id."""
    return [*DAILY, "--date", ds, "--run-id", run_id, *ARGS]


def maintain_command() -> list[str]:
    return [*MAINTAIN, *ARGS]


def run_klout(command: list[str]) -> None:
    """Run a klout command; fail without retry on exit 2 or 4, with retry on any other failure."""
    rc = subprocess.run(command, check=False).returncode
    if rc in NO_RETRY:
        raise AirflowFailException(f"{shlex.join(command)} exited {rc}: {NO_RETRY[rc]}; not retried")
    if rc != 0:
        raise AirflowException(f"{shlex.join(command)} exited {rc}; retried")


def _daily(ds: str, run_id: str, **_context) -> None:
    run_klout(daily_command(ds, run_id))


def _maintain(**_context) -> None:
    run_klout(maintain_command())


DEFAULTS = {
    "owner": "klout",
    "retries": 3,
    "retry_delay": dt.timedelta(minutes=15),
    "retry_exponential_backoff": True,
    "depends_on_past": True,  # a date builds on the day before (window state, warm start, smoothing)
}

if DAG is not None:
    # a data-interval schedule (as Airflow 2's "@daily"; Airflow 3's "@daily" would stamp runs with the next day):
    # the run at midnight scores the day that just ended, {{ ds }} = that day
    with DAG(
        dag_id="klout_daily",
        schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
        start_date=dt.datetime.combine(START, dt.time()),
        catchup=True,
        max_active_runs=1,
        default_args=DEFAULTS,
        tags=["klout"],
        doc_md=__doc__,
    ) as daily_dag:
        PythonOperator(task_id="daily", python_callable=_daily, execution_timeout=dt.timedelta(hours=6))

    with DAG(
        dag_id="klout_maintain",
        schedule=CronDataIntervalTimetable("0 3 * * 0", timezone="UTC"),
        start_date=dt.datetime.combine(START, dt.time()),
        catchup=False,
        max_active_runs=1,
        default_args={**DEFAULTS, "depends_on_past": False},
        tags=["klout"],
    ) as maintain_dag:
        PythonOperator(task_id="maintain", python_callable=_maintain)
