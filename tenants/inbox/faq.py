"""The shop's FAQ: questions and answers the merchant keeps, published as the
storefront's FAQ page and matched to each new message for the automatic reply."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from saas.db import db
from tenants.inbox.models import FaqEntry
from tenants.inbox.text import one_line, plain_text
from tenants.positions import move_one, renumber

MAX_QUESTION = 300
MAX_ANSWER = 5000
MATCHES = 3
# Cosine similarity under which an entry is not offered: sharing one common word with
# the message is not an answer to it.
MIN_SCORE = 0.12


def entries() -> list[FaqEntry]:
    return list(db.session.scalars(select(FaqEntry).order_by(FaqEntry.position, FaqEntry.id)))


def entry_errors(question: str, answer: str) -> dict[str, str]:
    errors = {}
    if not question:
        errors["question"] = "Enter the question."
    if not answer:
        errors["answer"] = "Enter the answer."
    return errors


def clean_entry(form: Any) -> tuple[str, str]:
    return one_line(form.get("question"), MAX_QUESTION), plain_text(form.get("answer"), MAX_ANSWER)


def add_entry(question: str, answer: str) -> FaqEntry:
    last = db.session.scalar(select(func.max(FaqEntry.position))) or 0
    entry = FaqEntry(question=question, answer=answer, position=last + 1)
    db.session.add(entry)
    db.session.flush()
    return entry


def update_entry(entry: FaqEntry, question: str, answer: str) -> None:
    entry.question, entry.answer = question, answer
    db.session.flush()


def delete_entry(entry: FaqEntry) -> None:
    db.session.delete(entry)
    db.session.flush()
    renumber(entries())
    db.session.flush()


def move_entry(entry: FaqEntry, step: int) -> None:
    rows = entries()
    if move_one(rows, rows.index(entry), step):
        renumber(rows)
        db.session.flush()


def best_matches(text: str, limit: int = MATCHES) -> list[FaqEntry]:
    """The entries whose question and answer are closest to `text` (TF-IDF cosine),
    best first; none when the FAQ is empty or nothing is close."""
    rows = entries()
    if not rows or not text.strip():
        return []
    # scikit-learn takes about a second to import: only the contact form's answer (a job)
    # pays for it, not every web worker and page that imports the inbox.
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import linear_kernel

    documents = [f"{row.question} {row.question} {row.answer}" for row in rows]
    vectorizer = TfidfVectorizer(stop_words="english", sublinear_tf=True)
    try:
        matrix = vectorizer.fit_transform([*documents, text])
    except ValueError:  # nothing but stop words anywhere
        return []
    scores = linear_kernel(matrix[-1], matrix[:-1])[0]
    ranked = sorted(range(len(rows)), key=lambda i: -scores[i])
    return [rows[i] for i in ranked[:limit] if scores[i] >= MIN_SCORE]
