"""The evaluation's Markdown report and its plot: ours against the baselines per target, and how future reactions
grow with the score (per 5-point score bin: people, mean, median and 90th percentile of reactions received)."""

from __future__ import annotations

import datetime as dt
import io

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from klout import paths
from klout.evaluation.metrics import Evaluation
from klout.paths import joined

LABELS = {
    "score": "klout score",
    "target_score": "klout score, unsmoothed",
    "log_followers": "log followers",
    "reactions": "reactions in the window",
    "pagerank": "unweighted PageRank",
}
TITLES = {
    "future_reactions": "Reactions received in the {horizon} after {date}",
    "hidden_influence": "Hidden influence of the synthetic world (per true person)",
}
BIN_WIDTH = 5
PLOT = "score_vs_future_reactions.png"


def score_bins(people: DataFrame) -> list[dict]:
    """Per 5-point bin of the score (1–5, 5–10, … 95–100): people, and the mean, median and 90th percentile of
    their future reactions. At most 20 rows reach the driver."""
    low = F.least(F.floor(F.col("score") / BIN_WIDTH) * BIN_WIDTH, F.lit(100 - BIN_WIDTH))
    rows = (
        people.groupBy(low.alias("low"))
        .agg(
            F.count(F.lit(1)).alias("people"),
            F.avg("future_reactions").alias("mean"),
            F.percentile_approx("future_reactions", [0.5, 0.9], 10_000).alias("q"),
        )
        .orderBy("low")
        .collect()
    )
    return [
        {
            "low": int(r["low"]),
            "people": r["people"],
            "mean": r["mean"],
            "median": float(r["q"][0]),
            "p90": float(r["q"][1]),
        }
        for r in rows
    ]


def _plot(ev: Evaluation) -> bytes:
    """The report's figure as PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    mids = [b["low"] + BIN_WIDTH / 2 for b in ev.bins]
    for key, style in (("mean", "o-"), ("median", "s--"), ("p90", "^:")):
        left.plot(mids, [b[key] for b in ev.bins], style, label=key)
    left.set_yscale("symlog", linthresh=1.0)
    left.set_xlim(0, 100)
    left.set_xlabel(f"klout score on {ev.run_date} ({BIN_WIDTH}-point bins)")
    left.set_ylabel(f"reactions received in the next {days(ev.horizon)}")
    left.set_title("Future reactions by score")
    left.legend()
    left.grid(alpha=0.3)
    metrics = (("spearman", "Spearman"), ("ndcg_at_k", "NDCG@k"), ("precision_at_k", "precision@k"))
    qs = ev.results["future_reactions"]
    width = 0.8 / len(qs)
    for i, q in enumerate(qs):
        values = [getattr(q, m) or 0.0 for m, _ in metrics]
        right.bar([j + i * width for j in range(len(metrics))], values, width, label=LABELS[q.predictor])
    right.set_xticks([j + width * (len(qs) - 1) / 2 for j in range(len(metrics))], [t for _, t in metrics])
    right.set_title(f"Against future reactions (k = {qs[0].k})")
    right.legend(fontsize=8)
    right.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=110)
    plt.close(fig)
    return png.getvalue()


def days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def markdown(ev: Evaluation, notes: list[str]) -> str:
    c = ev.counts
    lines = [
        f"# Evaluation of the scores of {ev.run_date} (horizon {days(ev.horizon)})",
        "",
        f"{int(c['persons']):,} people scored on {ev.run_date}; {int(c['reacted_to']):,} of them received "
        f"{int(c['future_reactions'] or 0):,} reactions in the {days(ev.horizon)} after.",
        "",
        stability_line(ev),
        "",
    ]
    for target, qs in ev.results.items():
        best = {m: max((getattr(q, m) or 0.0) for q in qs) for m in ("spearman", "ndcg_at_k", "precision_at_k")}
        mark = lambda q, m, best=best: (
            f"**{_fmt(getattr(q, m))}**"
            if getattr(q, m) is not None  # noqa: E731
            and getattr(q, m) == best[m]
            else _fmt(getattr(q, m))
        )
        lines += [
            f"## {TITLES[target].format(horizon=days(ev.horizon), date=ev.run_date)}",
            "",
            f"{qs[0].persons:,} compared; best of each column in bold; n/a: undefined (the predictor is "
            f"the same for everyone, e.g. no follower counts in the data).",
            "",
            f"| predictor | Spearman | NDCG@{qs[0].k} | precision@{qs[0].k} |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {LABELS[q.predictor]} | {mark(q, 'spearman')} | {mark(q, 'ndcg_at_k')} | {mark(q, 'precision_at_k')} |"
            for q in qs
        ]
        lines.append("")
    lines += [
        "## Future reactions by score",
        "",
        f"![future reactions by score]({PLOT})",
        "",
        "| score | people | mean | median | 90th percentile |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {b['low']}–{b['low'] + BIN_WIDTH} | {b['people']:,} | {b['mean']:.2f} | {b['median']:.0f} | "
        f"{b['p90']:.0f} |"
        for b in ev.bins
    ]
    if notes:
        lines += ["", "## Notes", "", *notes]
    return "\n".join(lines) + "\n"


def stability_line(ev: Evaluation) -> str:
    """The day-to-day moves of the scores (`klout.evaluation.stability`), as a sentence."""
    c = ev.counts
    if not c["persons_day_before"]:
        return f"Stability: nobody was scored on both {ev.run_date - dt.timedelta(days=1)} and {ev.run_date}."
    return (
        f"Stability: of the {int(c['persons_day_before']):,} people scored on the day before too, the published score "
        f"moved a median {c['median_score_change']:.2f} points since then, the unsmoothed one "
        f"{c['median_target_change']:.2f}."
    )


def write_report(spark: SparkSession, ev: Evaluation, out: str, notes: list[str]) -> None:
    """Write `out`/report.md and its plot `out`/score_vs_future_reactions.png (`out` a local folder or a URI)."""
    paths.write_bytes(spark, joined(out, PLOT), _plot(ev))
    paths.write_bytes(spark, joined(out, "report.md"), markdown(ev, notes).encode())
