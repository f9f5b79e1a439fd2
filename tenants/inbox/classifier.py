"""Each conversation's topic: built-in keyword rules first, then the shop's own model.

A merchant who changes a topic in the Inbox leaves a label (`TopicLabel`). Once a shop
has `MIN_LABELS` of them over at least two topics, a job trains a scikit-learn pipeline
on them (TF-IDF of words, of character n-grams so typos still share most of their
features, and of the rules' own verdict, into a complement naive Bayes) and keeps it
in the shop's own schema: one shop's corrections never shape another's topics. From
then on the model decides, with the rules as the fallback when it is unsure.

scikit-learn is imported inside the functions that use it: every web and worker process
imports this module, and most of them never classify anything.
"""

from __future__ import annotations

import pickle
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from flask import g
from sqlalchemy import delete, func, select

from saas.db import db
from saas.jobs import enqueue
from tenants.inbox.models import Topic, TopicLabel, TopicModel, TopicSource

MIN_LABELS = 30  # fewer corrections than this teach less than the rules know
RETRAIN_EVERY = 10  # new labels before the model is trained again
CONFIDENT = 0.35  # below this probability the model defers to the rules

# Word stems per topic: a message gets the topic whose stems it hits most; ties go to
# the earlier topic (a broken item is a return before a product question, a late
# order an order question before a shipping one).
RULES: dict[Topic, tuple[str, ...]] = {
    Topic.RETURNS: (
        r"return",
        r"refund",
        r"money back",
        r"exchange",
        r"send (it|them) back",
        r"sent (it|them|the \w+) back",
        r"cancel",
        r"wrong (size|item)",
        r"doesn.?t fit",
        r"damaged",
        r"broke",
        r"crack",
        r"faulty",
        r"defective",
        r"replace",
        r"swap",
        r"stopped working",
    ),
    Topic.PAYMENT: (
        r"pa(y|id|ying)",
        r"charged",
        r"charge",
        r"card",
        r"invoice",
        r"receipt",
        r"paypal",
        r"bank transfer",
        r"declined",
        r"billing",
        r"vat",
        r"discount code",
        r"coupon",
        r"promo",
        r"klarna",
        r"apple pay",
        r"amex|american express",
        r"gift card",
    ),
    Topic.ORDER_STATUS: (
        r"where is my order",
        r"order status",
        r"status",
        r"my ord(e)?r",
        r"not (yet )?(arrived|received)",
        r"hasn.?t arrived",
        r"still waiting",
        r"confirm(ation)?",
        r"order #?\d+",
        r"when will (my|it)",
        r"haven.?t (got|received)",
        r"process",
        r"pending",
        r"update",
        r"placed",
        r"pre-?order",
    ),
    Topic.SHIPPING: (
        r"ship",
        r"deliver",
        r"courier",
        r"post(age|al)?",
        r"tracking",
        r"track",
        r"dispatch",
        r"parcel",
        r"package",
        r"abroad",
        r"international",
        r"customs",
        r"express",
        r"address",
        r"pick ?up point",
        r"dhl|ups|fedex",
    ),
    Topic.PRODUCT: (
        r"size",
        r"sizing",
        r"colou?r",
        r"material",
        r"in stock",
        r"restock",
        r"back in",
        r"fabric",
        r"dimension",
        r"wash",
        r"fit",
        r"made (of|with)",
        r"cotton",
        r"leather",
        r"wool",
        r"is (the|this|it) ",
        r"are (the|these|your) ",
        r"does (the|this|it) ",
        r"do you (have|make|sell) (it|this|the)",
        r"come with",
        r"included",
        r"suitable",
        r"safe",
        r"waterpro",
        r"capacity",
        r"how (heavy|long|big)",
        r"ingredients",
    ),
}
_COMPILED = {
    topic: [re.compile(rf"\b{stem}", re.IGNORECASE) for stem in stems]
    for topic, stems in RULES.items()
}


def rule_topic(text: str) -> Topic:
    """The keyword rules' topic for `text` (Other when nothing matches)."""
    best, hits = Topic.OTHER, 0
    for topic, patterns in _COMPILED.items():
        count = sum(1 for pattern in patterns if pattern.search(text))
        if count > hits:
            best, hits = topic, count
    return best


def rule_tokens(text: str) -> str:
    """The rules' verdict as a word of its own, so the model starts from what the rules
    know and learns, from the corrections, where they go wrong."""
    return f"rule{rule_topic(text).replace('_', '')} " * 3


def new_pipeline() -> Any:
    """An untrained pipeline: what the job trains and what the benchmark evaluates."""
    # Imported here: scikit-learn takes about a second to load, paid by the training
    # job and the benchmark only (see `faq.best_matches`).
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.naive_bayes import ComplementNB
    from sklearn.pipeline import FeatureUnion, Pipeline

    features = FeatureUnion(
        [
            (
                "words",
                TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, stop_words="english"),
            ),
            # Character n-grams inside words: "refnd" and "refund" share most of theirs.
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True)),
            ("rules", TfidfVectorizer(preprocessor=rule_tokens, token_pattern=r"\S+")),  # noqa: S106
        ]
    )
    return Pipeline([("features", features), ("nb", ComplementNB(alpha=0.5))])


def train_pipeline(texts: Sequence[str], topics: Sequence[str]) -> Any:
    pipeline = new_pipeline()
    pipeline.fit(list(texts), list(topics))
    return pipeline


def _model() -> Any | None:
    """The shop's trained pipeline, loaded once per request or job."""
    if "_inbox_model" not in g:
        row = db.session.scalar(select(TopicModel).limit(1))
        g._inbox_model = pickle.loads(row.pipeline) if row else None  # noqa: S301 (see import)
    return g._inbox_model


def classify(text: str) -> tuple[Topic, TopicSource]:
    """The topic of a new conversation, and which of the two decided it."""
    model = _model()
    if model is not None:
        probabilities = model.predict_proba([text])[0]
        best = int(probabilities.argmax())
        if probabilities[best] >= CONFIDENT:
            return Topic(model.classes_[best]), TopicSource.MODEL
    return rule_topic(text), TopicSource.RULE


def label_count() -> int:
    return db.session.scalar(select(func.count()).select_from(TopicLabel)) or 0


def record_label(conversation_id: int, text: str, topic: Topic) -> None:
    """Keep the merchant's correction (one per conversation, the latest wins); queue a
    training once there are enough, and again every `RETRAIN_EVERY` new ones. Flushes."""
    label = db.session.scalar(
        select(TopicLabel).where(TopicLabel.conversation_id == conversation_id)
    )
    if label is None:
        db.session.add(TopicLabel(conversation_id=conversation_id, text=text, topic=topic))
    else:
        label.topic, label.text = topic, text
    db.session.flush()
    count = label_count()
    # At the 30th label, then every 10th: each training reads every label there is then.
    if count >= MIN_LABELS and (count - MIN_LABELS) % RETRAIN_EVERY == 0:
        enqueue("tenants.inbox.jobs.train_topic_model", key=count)


def train(key: int | None = None) -> bool:
    """Job: train the shop's model on its labels and replace the stored one. Safe to
    run twice (the second run trains on the same labels). False if there are too few
    labels, or only one topic, to learn from. `key` only tells queued runs apart."""
    rows = db.session.execute(select(TopicLabel.text, TopicLabel.topic)).all()
    texts, topics = [r.text for r in rows], [r.topic for r in rows]
    if len(rows) < MIN_LABELS or len(set(topics)) < 2:
        return False
    pipeline = train_pipeline(texts, topics)
    db.session.execute(delete(TopicModel))
    db.session.add(
        TopicModel(
            pipeline=pickle.dumps(pipeline),
            labels=len(rows),
            accuracy=_cross_validated(texts, topics),
        )
    )
    db.session.flush()
    g.pop("_inbox_model", None)
    return True


def _cross_validated(texts: list[str], topics: list[str]) -> float | None:
    """Mean accuracy over a few folds, for the Inbox settings page; None when some topic
    has too few labels to be split."""
    from sklearn.model_selection import cross_val_score  # (see `new_pipeline`)

    folds = min(5, min(Counter(topics).values()))
    if folds < 2:
        return None
    return float(cross_val_score(new_pipeline(), texts, topics, cv=folds).mean())
