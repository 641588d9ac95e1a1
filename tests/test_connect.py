"""The steps run unchanged through a Spark Connect client: `klout --remote sc://...` on a local Spark Connect server
(the session's `connect_server`, started from the installed pyspark with the Delta jar) runs the shared scored
world's first day from its bronze tables and publishes exactly the tables the in-process session published, with
its checkpoints deleted. (tests/test_layout.py checks that klout/ asks nothing of a SparkContext or the JVM.)"""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys

import pytest
import yaml
from pyspark.testing import assertDataFrameEqual

from klout import paths, tables
from klout.checkpoints import directory
from klout.config import to_plain
from klout.warehouse import Warehouse

pytestmark = pytest.mark.slow

COMPARED = (tables.FEATURES, tables.ACCOUNT_INFLUENCE, tables.SCORES, tables.SCORE_EXPLANATIONS)


@pytest.fixture(scope="module")
def over_connect(scored_world, copy_bronze, connect_server, spark_env, tmp_path_factory):
    """The world's bronze tables in a new warehouse, and its first day run there by `klout --remote ... daily`:
    (config, day, the command's output)."""
    tmp = tmp_path_factory.mktemp("connect-run")
    cfg = dataclasses.replace(scored_world.cfg, warehouse=str(tmp / "warehouse"))
    copy_bronze(cfg)
    (tmp / "run.yaml").write_text(yaml.safe_dump(to_plain(cfg)))
    day = scored_world.days[0]
    cmd = [sys.executable, "-m", "klout", "daily", "--date", str(day), "--conf", "run.yaml", "--remote", connect_server]
    done = subprocess.run(cmd, cwd=tmp, env=spark_env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{' '.join(cmd)} exited {done.returncode}:\n{done.stderr[-4000:]}"
    return cfg, day, done.stderr


def test_a_day_over_spark_connect_publishes_exactly_the_local_runs_tables(spark, over_connect, scored_world):
    cfg, day, log = over_connect
    assert "over Spark Connect sc://127.0.0.1:" in log
    assert re.search(r"graph\.iteration 1:", log)
    for table in COMPARED:
        expected = Warehouse(spark, scored_world.cfg)[table].partition(day)
        assert expected is not None and expected.count() > 300, table.name
        assertDataFrameEqual(Warehouse(spark, cfg)[table].partition(day), expected, rtol=0.0, atol=0.0)
    assert not paths.exists(spark, f"{directory(cfg)}/graph-*")  # the graph pass's run folder is gone
