"""The inbox's topic classifier, offline: held-out accuracy of the per-shop model
against the built-in keyword rules, on the labelled set shipped with the tests
(`tests/inbox/shopper_messages.tsv`, 312 shoppers' messages over six topics).

`SPLITS` stratified 75/25 splits, each model trained on its 75% exactly as a shop's
job trains on its corrections (`tenants.inbox.classifier.train_pipeline`), scored on
the 25% it never saw; the rules score on the same 25%. The figures are the mean and
the worst split. A learning curve shows what a shop gets from its first 30, 60 and
120 corrections, and the cost of training once and of classifying one message.

The rules were written while reading this set, so their figure flatters them: on a
shop's real messages they miss more, which is what the corrections teach the model.
No database is needed.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from bench.provisioning import progress

DATA = Path(__file__).resolve().parent.parent / "tests" / "inbox" / "shopper_messages.tsv"
SPLITS = 20
CURVE = (30, 60, 120)
GOAL = 0.85


def labelled() -> tuple[list[str], list[str]]:
    rows = [line.split("\t", 1) for line in DATA.read_text().splitlines() if line.strip()]
    return [text for _, text in rows], [topic for topic, _ in rows]


def _accuracy(predicted: list[str], truth: list[str]) -> float:
    return sum(p == t for p, t in zip(predicted, truth, strict=True)) / len(truth)


def measure() -> dict[str, Any]:
    from sklearn.model_selection import train_test_split

    from tenants.inbox.classifier import rule_topic, train_pipeline

    texts, topics = labelled()
    model, rules, train_seconds = [], [], []
    curve: dict[int, list[float]] = {n: [] for n in CURVE}
    for seed in range(SPLITS):
        train_x, test_x, train_y, test_y = train_test_split(
            texts, topics, test_size=0.25, random_state=seed, stratify=topics
        )
        started = time.perf_counter()
        pipeline = train_pipeline(train_x, train_y)
        train_seconds.append(time.perf_counter() - started)
        model.append(_accuracy(list(pipeline.predict(test_x)), test_y))
        rules.append(_accuracy([str(rule_topic(x)) for x in test_x], test_y))
        for n in CURVE:
            few_x, _, few_y, _ = train_test_split(
                train_x, train_y, train_size=n, random_state=seed, stratify=train_y
            )
            curve[n].append(_accuracy(list(train_pipeline(few_x, few_y).predict(test_x)), test_y))
    started = time.perf_counter()
    for text in texts:
        pipeline.predict_proba([text])
    classify_ms = (time.perf_counter() - started) * 1000 / len(texts)
    return {
        "messages": len(texts),
        "splits": SPLITS,
        "model_mean": statistics.mean(model),
        "model_worst": min(model),
        "rules_mean": statistics.mean(rules),
        "rules_worst": min(rules),
        "curve": {n: statistics.mean(v) for n, v in curve.items()},
        "train_ms": statistics.median(train_seconds) * 1000,
        "classify_ms": classify_ms,
    }


def run(report: Any, row: Any) -> None:
    progress(f"inbox: {SPLITS} held-out splits of {DATA.name}")
    figures = measure()
    report.raw["inbox"] = figures
    report.add(
        row(
            "inbox_model_accuracy",
            f"Inbox topics, per-shop model, held-out accuracy (mean of {SPLITS}, worst)",
            round(figures["model_mean"], 3),
            f"{figures['model_mean']:.1%} (worst {figures['model_worst']:.1%})",
            f">= {GOAL:.0%}",
            figures["model_worst"] >= GOAL,
        )
    )
    report.add(
        row(
            "inbox_rules_accuracy",
            "Inbox topics, keyword rules alone, same held-out parts (mean, worst)",
            round(figures["rules_mean"], 3),
            f"{figures['rules_mean']:.1%} (worst {figures['rules_worst']:.1%})",
        )
    )
    for n, accuracy in figures["curve"].items():
        report.add(
            row(
                f"inbox_model_accuracy_{n}_labels",
                f"Inbox topics, model trained on {n} corrections only",
                round(accuracy, 3),
                f"{accuracy:.1%}",
            )
        )
    report.add(
        row(
            "inbox_train_ms",
            f"Inbox topics, training on {round(figures['messages'] * 0.75)} labels (median)",
            round(figures["train_ms"], 1),
            f"{figures['train_ms']:.0f} ms",
        )
    )
    report.add(
        row(
            "inbox_classify_ms",
            "Inbox topics, classifying one message",
            round(figures["classify_ms"], 2),
            f"{figures['classify_ms']:.2f} ms",
        )
    )
