"""The `klout` command line: one entry point, one subcommand per step.

Configuration is loaded and validated before Spark starts; failures map to exit codes
0 success, 2 usage or config error, 3 missing or invalid input, 4 data-quality gate failed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
from collections.abc import Callable, Sequence

import yaml

from klout.config import Config, load_config, to_plain
from klout.errors import EXIT_INPUT, EXIT_OK, EXIT_USAGE, KloutError
from klout.pipeline import COMMANDS, SCORE_DAYS, dates_between, run_dates
from klout.progress import setup_logging
from klout.publish import EXPORT_FORMATS, STDOUT_LIMIT


def _common(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("configuration")
    g.add_argument(
        "--conf",
        action="append",
        default=[],
        metavar="FILE",
        help="YAML overlay on conf/default.yaml (repeatable; later wins)",
    )
    g.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY.PATH=VALUE",
        dest="sets",
        help="override one config key, e.g. --set spark.shuffle_partitions=16 (repeatable)",
    )
    g.add_argument(
        "--remote",
        metavar="sc://HOST:PORT",
        help="run on this Spark Connect server (the config's spark.remote; the server has the Delta jar)",
    )
    g.add_argument("-q", "--quiet", action="store_true", help="log warnings and errors only")
    g.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="show Spark's and Ivy's own output here (default: into a log file, named at startup)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="klout", description="Open, explainable influence scoring on Spark + Delta.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    from klout.ingest.readers import FORMATS, KINDS

    p = sub.add_parser(
        "ingest",
        help="load interactions, profiles or identity links into bronze Delta tables",
        description="Read a source, validate it, MERGE good rows into bronze and bad rows (with a "
        "reason) into the quarantine table. Rerunning the same source changes nothing.",
    )
    p.add_argument("--source", required=True, metavar="PATH", help="file or directory (local path or URI)")
    p.add_argument("--format", choices=FORMATS, help="source format (default: guessed from the name)")
    p.add_argument("--kind", choices=KINDS, default="interactions", help="what the source holds")
    p.add_argument("--network", metavar="NAME", help="network for rows that carry none (adapters: all rows)")
    _common(p)
    p.set_defaults(run=_cmd_ingest)

    p = sub.add_parser(
        "generate",
        help="write a synthetic world (interactions, profiles, identities, truth)",
        description="Generate a deterministic synthetic world with Spark from the `synth` config "
        "section and write it as Parquet in the canonical schemas.",
    )
    p.add_argument("--out", required=True, metavar="DIR", help="output directory (overwritten)")
    p.add_argument("--ingest", action="store_true", help="also ingest the world into the warehouse")
    _common(p)
    p.set_defaults(run=_cmd_generate)

    # the commands that run dates (klout.pipeline.COMMANDS): --date, and --end for a range run in order
    for name, command in COMMANDS.items():
        p = sub.add_parser(name, help=command.summary, description=command.description)
        p.add_argument("--date", required=True, type=_date, metavar="YYYY-MM-DD", help="run date")
        p.add_argument(
            "--end", type=_date, metavar="YYYY-MM-DD", help="last run date of a range, run in order (inclusive)"
        )
        _run_options(p, resumable=name == "daily")
        _common(p)
        p.set_defaults(run=_cmd_dates, command=name, resumable=name == "daily")

    p = sub.add_parser(
        "backfill",
        help="run the daily step for every date of a range, in order, resumable",
        description="The daily step for each date from --start to --end in order. A date that "
        "already succeeded with the same inputs and config is skipped (unless --force), "
        "so a failed or killed backfill is resumed by running the same command again. The per-day aggregates of "
        "every date that runs are computed in one pass first. Stops at the first failing date with its exit code.",
    )
    p.add_argument("--start", required=True, type=_date, metavar="YYYY-MM-DD", help="first run date")
    p.add_argument("--end", required=True, type=_date, metavar="YYYY-MM-DD", help="last run date (inclusive)")
    _run_options(p, resumable=True)
    _common(p)
    p.set_defaults(run=_cmd_dates, command="daily", resumable=True)

    p = sub.add_parser(
        "evaluate",
        help="does the score predict influence? ours against three baselines",
        description="Compare each person's score on --date with the reactions their accounts receive "
        "in the --horizon days after (Spearman, NDCG@k, precision@k), against log "
        "followers, raw reactions in the window and unweighted PageRank computed the same "
        "way; with --truth, also against a synthetic world's hidden influence. Results "
        "are MERGEd into eval/evaluations; a Markdown report with a PNG plot is written "
        "under <warehouse>/reports/evaluation/<date>-h<horizon>/ (or --report-dir).",
    )
    p.add_argument("--date", required=True, type=_date, metavar="YYYY-MM-DD", help="run date of the scores")
    p.add_argument("--horizon", required=True, type=_positive, metavar="K", help="days after --date to count")
    p.add_argument("--k", type=_positive, default=100, help="top-k of NDCG and precision (default 100)")
    p.add_argument("--truth", metavar="DIR", help="a synthetic world's truth/ folder (people, accounts Parquet)")
    p.add_argument("--report-dir", metavar="DIR", help="where the report goes (default: under the warehouse)")
    _common(p)
    p.set_defaults(run=_cmd_evaluate)

    p = sub.add_parser("top", help="print the highest scores of a run date")
    p.add_argument("--date", required=True, type=_date, metavar="YYYY-MM-DD", help="run date")
    p.add_argument("--network", metavar="NAME", help="rank by this network's own score")
    p.add_argument("--n", type=int, default=20, help="how many (default 20)")
    _common(p)
    p.set_defaults(run=_cmd_top)

    p = sub.add_parser("explain", help="print why a person has their score on a run date")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--person", metavar="PERSON_ID", help='person id (an unlinked account is "<network>:<user_id>")')
    who.add_argument("--rank", type=int, metavar="N", help="the person ranked N that day (ties: first by id)")
    p.add_argument("--date", required=True, type=_date, metavar="YYYY-MM-DD", help="run date")
    _common(p)
    p.set_defaults(run=_cmd_explain)

    p = sub.add_parser(
        "scores",
        help="write every person's score of a run date as CSV, JSON lines or Parquet",
        description="Every published score of the date, highest first (CSV with a header and network_scores as "
        "JSON text; JSON lines; Parquet). With --output the executors write it with Spark's writer: a folder of "
        "part files in score order, or one file with --single-file; without, it streams to stdout through the "
        f"driver, up to --limit rows (default {STDOUT_LIMIT:,}).",
    )
    p.add_argument("--date", required=True, type=_date, metavar="YYYY-MM-DD", help="run date")
    p.add_argument("--format", choices=EXPORT_FORMATS, default="csv")
    p.add_argument("--output", metavar="PATH_OR_URI", help="folder (or file, --single-file) to write; replaced")
    p.add_argument("--single-file", action="store_true", help="one file at --output (one task writes it)")
    p.add_argument("--limit", type=_positive, default=STDOUT_LIMIT, help="most rows streamed to stdout")
    _common(p)
    p.set_defaults(run=_cmd_scores)

    p = sub.add_parser(
        "maintain",
        help="compact (OPTIMIZE) and vacuum every table",
        description="OPTIMIZE each Delta table of the warehouse (maintenance.optimize), then VACUUM "
        "it, deleting files no version of the last maintenance.vacuum_retention_hours "
        "needs.",
    )
    _common(p)
    p.set_defaults(run=_cmd_maintain)

    p = sub.add_parser(
        "optout",
        help="exclude a person or account from scoring and publishing (or --remove)",
        description="Record an opt-out in privacy/optouts (MERGE: repeating it changes nothing). From "
        "the next run on the person's accounts get no score or explanation and their "
        "reactions no longer count for anyone; the current window's per-day aggregates "
        "they took part in are recomputed now.",
    )
    _subject_args(p)
    p.add_argument("--reason", metavar="TEXT", help="why (kept with the opt-out)")
    p.add_argument("--remove", action="store_true", help="withdraw the opt-out (an erasure's suppression stays)")
    _common(p)
    p.set_defaults(run=_cmd_optout)

    p = sub.add_parser(
        "erase",
        help="delete a person's (or account's) data from every table",
        description="Delete the accounts from every table (Delta DELETE/UPDATE, one commit per table), "
        "recompute the per-day aggregates their reactions went into, drop the window "
        "state from the first such day (the next run rebuilds it), keep a suppression row "
        "in privacy/optouts, and VACUUM with maintenance.vacuum_retention_hours. Rerun it "
        "if it was interrupted.",
    )
    _subject_args(p)
    p.add_argument("--reason", metavar="TEXT", help="why (kept with the suppression row)")
    _common(p)
    p.set_defaults(run=_cmd_erase)

    p = sub.add_parser("summary", help="print what the warehouse holds (rows per day, network, action; quarantine)")
    _common(p)
    p.set_defaults(run=_cmd_summary)

    p = sub.add_parser("config", help="print the effective configuration (no Spark)")
    p.add_argument("--get", metavar="KEY.PATH", help="print one value only")
    _common(p)
    p.set_defaults(run=_cmd_config, needs_spark=False)

    p = sub.add_parser(
        "doctor", help="check that Spark starts, and that the warehouse and the checkpoint directory can be written"
    )
    _common(p)
    p.set_defaults(run=_cmd_doctor)
    return parser


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(logging.WARNING if args.quiet else logging.INFO)
    try:
        cfg = load_config(args.conf, [*args.sets, *([f"spark.remote={args.remote}"] if args.remote else [])])
        if not getattr(args, "needs_spark", True):
            return args.run(None, cfg, args)
        from klout.session import get_spark

        uris = [getattr(args, name) for name in ("source", "output", "report_dir") if getattr(args, name, None)]
        return args.run(get_spark(cfg, verbose=args.verbose, uris=uris), cfg, args)
    except KloutError as e:
        print(f"klout: error: {e}", file=sys.stderr)
        return e.exit_code


# ---- subcommands: parse → call the library → print; no logic of their own -------------------------------------


def _cmd_ingest(spark, cfg: Config, args) -> int:
    from klout.ingest.run import ingest

    r = ingest(spark, cfg, args.source, args.format, args.kind, args.network)
    print(
        f"{r.kind} from {r.source} ({r.format}): read {r.rows_read:,}, accepted {r.accepted:,}, "
        f"inserted {r.inserted:,}, updated {r.updated:,}, unchanged {r.unchanged:,}, "
        f"quarantined {sum(r.quarantined.values()):,} in {r.seconds:.1f}s"
    )
    for reason, n in sorted(r.quarantined.items()):
        print(f"  quarantined {n:,}: {reason}")
    return EXIT_OK


def _cmd_generate(spark, cfg: Config, args) -> int:
    from klout.synth import generate_world, write_world

    counts = write_world(generate_world(spark, cfg), args.out)
    for name, n in counts.items():
        print(f"{name}: {n:,} rows")
    if args.ingest:
        from klout.ingest.run import ingest

        for kind, sub in (("identities", "identities"), ("profiles", "profiles"), ("interactions", "interactions")):
            r = ingest(spark, cfg, f"{args.out.rstrip('/')}/{sub}", "parquet", kind)
            print(f"ingested {kind}: inserted {r.inserted:,}, quarantined {sum(r.quarantined.values()):,}")
    return EXIT_OK


def _run_options(p: argparse.ArgumentParser, resumable: bool) -> None:
    p.add_argument(
        "--run-id",
        metavar="ID",
        help="id recorded in ops/run_log (default: UTC time + random suffix); an orchestrator passes its own",
    )
    if resumable:
        p.add_argument(
            "--force", action="store_true", help="rerun dates that already succeeded with the same inputs and config"
        )
        p.add_argument(
            "--score-days",
            choices=SCORE_DAYS,
            default="all",
            help="over a range: score every date (all, the default) or only the last one (last), over its whole "
            "window, aggregated afresh in one pass (the window's earlier days get their per-day aggregates only)",
        )


def _cmd_dates(spark, cfg: Config, args) -> int:
    """Run args.command for --date/--start up to --end, in order; one line per date."""
    from klout.runlog import new_run_id

    first = getattr(args, "start", None) or args.date
    end = args.end or first
    if end < first:
        print(f"klout: error: --end {end} is before the first date {first}", file=sys.stderr)
        return EXIT_USAGE
    run_id = args.run_id or new_run_id()
    for outcome in run_dates(
        spark,
        cfg,
        args.command,
        dates_between(first, end),
        run_id,
        resumable=args.resumable,
        force=getattr(args, "force", False),
        score_days=getattr(args, "score_days", "all"),
    ):
        detail = (
            outcome.message
            if outcome.status == "skipped"
            else ", ".join(f"{k} {_fmt(v)}" for k, v in outcome.counts.items())
        )
        print(f"{args.command} {outcome.date}: {outcome.status} ({run_id}): {detail}")
    return EXIT_OK


def _fmt(v: object) -> str:
    if isinstance(v, dict):
        return "(" + ", ".join(f"{k} {_fmt(x)}" for k, x in v.items()) + ")"
    return f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v)


def _cmd_evaluate(spark, cfg: Config, args) -> int:
    from klout.evaluation.report import LABELS, stability_line
    from klout.evaluation.run import run_evaluate

    ev, out = run_evaluate(spark, cfg, args.date, args.horizon, args.k, args.truth, args.report_dir)
    for target, qs in ev.results.items():
        print(f"{target} ({qs[0].persons:,} compared)")
        print(
            format_table(
                ("predictor", "spearman", f"ndcg@{qs[0].k}", f"precision@{qs[0].k}"),
                [
                    (LABELS[q.predictor], *(_rounded(v) for v in (q.spearman, q.ndcg_at_k, q.precision_at_k)))
                    for q in qs
                ],
            )
        )
    print(stability_line(ev))
    print(f"report: {out.rstrip('/')}/report.md")
    return EXIT_OK


def _rounded(v: float | None) -> object:
    return "n/a" if v is None else round(v, 3)


def _cmd_top(spark, cfg: Config, args) -> int:
    from klout.publish import top

    rows = top(spark, cfg, args.date, args.n, args.network)
    print(f"top {args.n} on {args.date}" + (f" by {args.network} score" if args.network else ""))
    if rows:
        headers = list(rows[0].asDict())
        print(format_table(headers, [tuple(_cell(r[h]) for h in headers) for r in rows]))
    return EXIT_OK


def _cell(v: object) -> object:
    return round(v, 2) if isinstance(v, float) else v


def _cmd_explain(spark, cfg: Config, args) -> int:
    from klout.publish import explanation

    e = explanation(spark, cfg, args.date, person_id=args.person, rank=args.rank)
    print(f"{e['person_id']} on {args.date}: {e['summary']}")
    sections = (
        ("networks", "top_networks", ("network", "score", "share")),
        ("actions", "top_actions", ("action", "weight", "share")),
        ("reactors", "top_reactors", ("network", "reactor_id", "contribution")),
        ("changes since the previous score", "network_changes", ("network", "before", "after", "delta")),
    )
    for title, key, cols in sections:
        if e[key]:
            print(f"\n{title}")
            print(format_table(cols, [tuple(_cell(item[c]) for c in cols) for item in e[key]]))
    return EXIT_OK


def _cmd_scores(spark, cfg: Config, args) -> int:
    from klout.publish import export_rows, write_export, write_scores

    if args.output:
        n = write_scores(spark, cfg, args.date, args.format, args.output, args.single_file)
        shape = "file" if args.single_file else "folder"
        print(f"wrote {n:,} scores of {args.date} to the {args.format} {shape} {args.output}", file=sys.stderr)
        return EXIT_OK
    if args.format == "parquet" or args.single_file:
        print("klout: error: --format parquet and --single-file need --output", file=sys.stderr)
        return EXIT_USAGE
    write_export(export_rows(spark, cfg, args.date, args.format, args.limit), args.format, sys.stdout)
    return EXIT_OK


def _cmd_maintain(spark, cfg: Config, args) -> int:
    from klout.maintain import maintain

    for name, counts in maintain(spark, cfg).items():
        print(f"{name}: " + ", ".join(f"{k} {_fmt(v)}" for k, v in counts.items()))
    return EXIT_OK


def _subject_args(p: argparse.ArgumentParser) -> None:
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument(
        "--person",
        metavar="PERSON_ID",
        help='a person: every account linked to them (an unlinked account is the person "<network>:<user_id>")',
    )
    who.add_argument("--account", metavar="NETWORK:USER_ID", help="one account")


def _subject(cfg: Config, args):
    from klout.privacy import Subject, parse_account

    return Subject(person_id=args.person) if args.person is not None else parse_account(args.account, cfg)


def _cmd_optout(spark, cfg: Config, args) -> int:
    from klout.privacy import opt_out

    subject = _subject(cfg, args)
    counts = opt_out(spark, cfg, subject, args.reason, args.remove)
    print(
        f"{'withdrew' if args.remove else 'opted out'} {subject.key}: "
        + ", ".join(f"{k} {_fmt(v)}" for k, v in counts.items())
    )
    return EXIT_OK


def _cmd_erase(spark, cfg: Config, args) -> int:
    from klout.privacy import erase

    subject = _subject(cfg, args)
    report = erase(spark, cfg, subject, args.reason)
    print(f"erased {subject.key}")
    for name, counts in report.items():
        print(f"{name}: " + ", ".join(f"{k} {_fmt(v)}" for k, v in counts.items()))
    return EXIT_OK


def _cmd_summary(spark, cfg: Config, args) -> int:
    from klout.summary import warehouse_summary

    for title, headers, rows in warehouse_summary(spark, cfg):
        print(f"\n{title}")
        print(format_table(headers, rows))
    return EXIT_OK


def _cmd_config(_spark, cfg: Config, args) -> int:
    plain = to_plain(cfg)
    if args.get:
        node = plain
        for part in args.get.split("."):
            if not isinstance(node, dict) or part not in node:
                print(f"klout: error: no config key {args.get}", file=sys.stderr)
                return EXIT_USAGE
            node = node[part]
        print(node if not isinstance(node, (dict, list)) else yaml.safe_dump(node, sort_keys=False).rstrip())
    else:
        print(yaml.safe_dump(plain, sort_keys=False).rstrip())
    return EXIT_OK


def _cmd_doctor(spark, cfg: Config, args) -> int:
    from klout.doctor import probe_checkpoints, probe_warehouse

    probes = [probe_warehouse(spark, cfg), probe_checkpoints(spark, cfg)]
    for p in probes:
        print(f"{'ok' if p.error is None else 'FAILED'}: {p.place} {p.path}" + (f": {p.error}" if p.error else ""))
    if cfg.spark.remote is not None:
        print(f"spark {spark.version}, over Spark Connect {cfg.spark.remote}")
    else:
        jars = spark.conf.get("spark.jars.packages", "jars from spark-submit")
        print(f"spark {spark.version}, master {spark.conf.get('spark.master', None)} ({jars})")
    return EXIT_OK if all(p.error is None for p in probes) else EXIT_INPUT


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Plain aligned text table; numbers right-aligned with thousands separators."""

    def cell(v: object) -> str:
        return f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else ("" if v is None else str(v))

    text = [[cell(v) for v in r] for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in text]) for i, h in enumerate(headers)]
    numeric = [all(isinstance(r[i], (int, float)) for r in rows) and rows for i in range(len(headers))]
    fmt: Callable[[str, int], str] = lambda s, i: s.rjust(widths[i]) if numeric[i] else s.ljust(widths[i])
    lines = ["  ".join(fmt(h, i) for i, h in enumerate(headers)), "  ".join("-" * w for w in widths)]
    lines += ["  ".join(fmt(v, i) for i, v in enumerate(r)) for r in text]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
