"""Topics: the keyword rules, the per-shop model trained on the merchant's corrections,
and the accuracy of that model on the held-out part of a labelled set of shoppers'
messages shipped with the tests (`shopper_messages.tsv`: topic, a tab, the message)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from saas.db import db
from saas.tenancy import tenant_context
from tenants.inbox import classifier
from tenants.inbox.models import Topic, TopicLabel, TopicModel
from tests.inbox.helpers import contact, conversations, run_jobs

DATA = Path(__file__).with_name("shopper_messages.tsv")
GOAL = 0.85


def labelled() -> tuple[list[str], list[str]]:
    rows = [line.split("\t", 1) for line in DATA.read_text().splitlines() if line.strip()]
    return [text for _, text in rows], [topic for topic, _ in rows]


def held_out_split() -> tuple[list[str], list[str], list[str], list[str]]:
    from sklearn.model_selection import train_test_split

    texts, topics = labelled()
    train_x, test_x, train_y, test_y = train_test_split(
        texts, topics, test_size=0.25, random_state=14, stratify=topics
    )
    return train_x, test_x, train_y, test_y


def test_the_shipped_set_is_large_varied_and_labelled_with_known_topics():
    texts, topics = labelled()
    assert len(texts) >= 300 and len(set(texts)) == len(texts)
    counts = Counter(topics)
    assert set(counts) == {str(t) for t in Topic}
    assert min(counts.values()) >= 45


def test_the_model_reaches_its_goal_on_the_held_out_part():
    train_x, test_x, train_y, test_y = held_out_split()
    pipeline = classifier.train_pipeline(train_x, train_y)
    accuracy = sum(p == y for p, y in zip(pipeline.predict(test_x), test_y, strict=True)) / len(
        test_y
    )
    baseline = sum(
        classifier.rule_topic(x) == y for x, y in zip(test_x, test_y, strict=True)
    ) / len(test_y)
    print(f"held-out accuracy: model {accuracy:.1%}, keyword rules {baseline:.1%}")
    assert accuracy >= GOAL


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("Where is my order? It's been a week", Topic.ORDER_STATUS),
        ("Do you ship to Norway?", Topic.SHIPPING),
        ("I want a refund, the mug arrived broken", Topic.RETURNS),
        ("Is the sweater made of wool?", Topic.PRODUCT),
        ("My card was declined", Topic.PAYMENT),
        ("Are you hiring?", Topic.OTHER),
    ],
)
def test_the_keyword_rules(text, topic):
    assert classifier.rule_topic(text) == topic


def _correct(app, tenant, staff_client, how_many: int, texts, topics):
    merchant = staff_client(tenant, permissions=["inbox"])
    for n, text in enumerate(texts[:how_many]):
        contact(merchant, email=f"shopper{n}@example.com", message=text)
    for conversation, topic in zip(conversations(app, tenant), topics[:how_many], strict=True):
        merchant.post(
            f"/admin/inbox/{conversation['id']}/details",
            data={"status": "open", "topic": topic, "assignee": ""},
        )


def test_corrections_train_the_shops_own_model_which_then_decides(
    app, make_tenant, staff_client, shop_client, monkeypatch
):
    monkeypatch.setitem(app.config, "RATELIMIT_ENABLED", False)
    tenant, other = make_tenant(), make_tenant()
    # The merchant teaches what the rules cannot know: a "voucher" is about payment,
    # "wholesale" about products (the rules say Other to both, so each is a correction).
    taught = [f"Question {n} about my voucher for the spring sale" for n in range(20)]
    taught += [f"We'd like a wholesale deal on {n + 10} pieces for our cafe" for n in range(15)]
    topics = ["payment"] * 20 + ["product"] * 15
    assert {classifier.rule_topic(t) for t in taught} == {Topic.OTHER}
    _correct(app, tenant, staff_client, len(taught), taught, topics)
    run_jobs(app)  # the training queued by the last correction
    with app.app_context(), tenant_context(tenant):
        model = db.session.scalar(select(TopicModel))
        assert model is not None and model.labels == len(taught)
    with app.app_context(), tenant_context(other):
        assert db.session.scalar(select(func.count()).select_from(TopicModel)) == 0

    message = "Can I use my voucher from the spring sale?"
    assert classifier.rule_topic(message) == Topic.OTHER
    contact(shop_client(tenant), email="new@example.com", message=message)
    contact(shop_client(other), email="new@example.com", message=message)
    assert conversations(app, tenant)[-1]["topic"] == "payment"
    assert conversations(app, tenant)[-1]["topic_source"] == "model"
    # The other shop never learnt it: its rules decide.
    [elsewhere] = conversations(app, other)
    assert elsewhere["topic"] == "other" and elsewhere["topic_source"] == "rule"


def test_training_is_safe_to_run_twice_and_needs_enough_labels(app, make_tenant):
    tenant = make_tenant()
    with app.app_context(), tenant_context(tenant):
        assert classifier.train() is False  # no labels yet
        texts, topics = labelled()
        for n, (text, topic) in enumerate(zip(texts[::5], topics[::5], strict=True)):
            db.session.add(TopicLabel(conversation_id=None, text=f"{n} {text}", topic=topic))
        db.session.flush()
        assert classifier.train() is True and classifier.train() is True
        assert db.session.scalar(select(func.count()).select_from(TopicModel)) == 1
        model = db.session.scalar(select(TopicModel))
        assert model.accuracy is not None and model.accuracy > 0.5
