"""The Inbox: shoppers' conversations (list with filters and search, a conversation's
page with reply, notes, status, assignment and topic), the FAQ, saved replies and the
inbox settings. Its own staff area (`Area.INBOX`). The rules live in `tenants.inbox`."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from saas.db import db
from tenants.backoffice import bp
from tenants.backoffice.access import requires
from tenants.backoffice.helpers import (
    acting_staff_id,
    confirm_then,
    get_or_404,
    paginate_or_404,
)
from tenants.customers.models import Customer
from tenants.inbox import attachments, classifier, conversations, faq, saved_replies
from tenants.inbox.models import (
    STATUS_LABELS,
    TOPIC_LABELS,
    Attachment,
    Conversation,
    FaqEntry,
    Message,
    SavedReply,
    Status,
    Topic,
    TopicModel,
)
from tenants.inbox.settings import (
    RESPONSE_CHOICES,
    get_inbox_settings,
    response_time,
    update_inbox_settings,
)
from tenants.inbox.text import MAX_BODY, plain_text
from tenants.orders.models import Order
from tenants.staff.models import Area, Staff

PER_PAGE = 25


def _acting_staff() -> Staff | None:
    staff_id = acting_staff_id()
    return db.session.get(Staff, staff_id) if staff_id else None


def _staff_names() -> dict[int, str]:
    return {s.id: s.name or s.email for s in conversations.assignable_staff()}


@bp.get("/inbox")
@requires(Area.INBOX)
def inbox() -> Any:
    filters = conversations.Filters.of(request.args)
    page = paginate_or_404(conversations.conversations_query(filters, acting_staff_id()), PER_PAGE)
    any_at_all = page.total > 0 or db.session.scalar(select(Conversation.id).limit(1)) is not None
    return render_template(
        "backoffice/inbox.html",
        page=page,
        filters=filters,
        any_at_all=any_at_all,
        status_labels=STATUS_LABELS,
        topic_labels=TOPIC_LABELS,
        staff_names=_staff_names(),
        unread=conversations.unread_count(),
    )


def _conversation_page(
    conversation: Conversation,
    *,
    form: str = "",
    errors: dict[str, str] | None = None,
    reply: str = "",
    note: str = "",
    status: int = 200,
) -> Any:
    customer = (
        db.session.get(Customer, conversation.customer_id) if conversation.customer_id else None
    )
    order = db.session.get(Order, conversation.order_id) if conversation.order_id else None
    if not reply and (saved_id := request.args.get("saved", type=int)):
        saved = db.session.get(SavedReply, saved_id)
        reply = saved.body if saved is not None else ""
    return render_template(
        "backoffice/inbox_conversation.html",
        conversation=conversation,
        customer=customer,
        order=order,
        status_labels=STATUS_LABELS,
        topic_labels=TOPIC_LABELS,
        staff_names=_staff_names(),
        saved=saved_replies.saved_replies(),
        chosen_saved=request.args.get("saved", type=int),
        form=form,
        errors=errors or {},
        reply=reply,
        note=note,
        max_body=MAX_BODY,
    ), status


@bp.get("/inbox/<int:conversation_id>")
@requires(Area.INBOX)
def inbox_conversation(conversation_id: int) -> Any:
    conversation = get_or_404(Conversation, conversation_id)
    if not getattr(current_user, "read_only", False):  # an operator only looking changes nothing
        conversations.mark_read(conversation)
    return _conversation_page(conversation)


def _back(conversation: Conversation) -> Any:
    return redirect(url_for("backoffice.inbox_conversation", conversation_id=conversation.id))


@bp.post("/inbox/<int:conversation_id>/reply")
@requires(Area.INBOX)
def inbox_reply(conversation_id: int) -> Any:
    conversation = get_or_404(Conversation, conversation_id)
    body = plain_text(request.form.get("reply"))
    if not body:
        return _conversation_page(
            conversation, form="reply", errors={"reply": "Write your reply."}, status=400
        )
    close = request.form.get("close") == "1"
    conversations.staff_reply(conversation, body, _acting_staff(), close=close)
    flash(
        f"Reply sent to {conversation.email}." + (" The conversation is closed." if close else "")
    )
    return _back(conversation)


@bp.post("/inbox/<int:conversation_id>/note")
@requires(Area.INBOX)
def inbox_note(conversation_id: int) -> Any:
    conversation = get_or_404(Conversation, conversation_id)
    body = plain_text(request.form.get("note"))
    if not body:
        return _conversation_page(
            conversation, form="note", errors={"note": "Write the note."}, status=400
        )
    conversations.add_note(conversation, body, _acting_staff())
    flash("Note added. Only staff see it.")
    return _back(conversation)


@bp.post("/inbox/<int:conversation_id>/details")
@requires(Area.INBOX)
def inbox_details(conversation_id: int) -> Any:
    """Status, assignee and topic: one form, each saved when it changed."""
    conversation = get_or_404(Conversation, conversation_id)
    errors: dict[str, str] = {}
    status = request.form.get("status", "")
    topic = request.form.get("topic", "")
    assignee = request.form.get("assignee", "")
    if status not in set(Status):
        errors["status"] = "Choose a status."
    if topic not in set(Topic):
        errors["topic"] = "Choose a topic."
    if assignee and not assignee.isdigit():
        errors["assignee"] = "Choose a staff member."
    if errors:
        return _conversation_page(conversation, form="details", errors=errors, status=400)
    if not conversations.assign(conversation, int(assignee) if assignee else None):
        return _conversation_page(
            conversation,
            form="details",
            errors={"assignee": "This person can't open the Inbox."},
            status=400,
        )
    if status != conversation.status:
        conversations.set_status(conversation, Status(status))
    if topic != conversation.topic:
        conversations.correct_topic(conversation, Topic(topic))
    flash("Conversation updated.")
    return _back(conversation)


@bp.post("/inbox/<int:conversation_id>/unread")
@requires(Area.INBOX)
def inbox_unread(conversation_id: int) -> Any:
    conversation = get_or_404(Conversation, conversation_id)
    conversations.mark_unread(conversation)
    flash("Marked as unread.")
    return redirect(url_for("backoffice.inbox"))


@bp.get("/inbox/<int:conversation_id>/files/<int:attachment_id>")
@requires(Area.INBOX)
def inbox_attachment(conversation_id: int, attachment_id: int) -> Any:
    found = get_or_404(Attachment, attachment_id)
    message = db.session.get(Message, found.message_id)
    if message is None or message.conversation_id != conversation_id:
        abort(404)
    return attachments.download(found)


# --- the FAQ ----------------------------------------------------------------------------


@bp.route("/inbox/faq", methods=["GET", "POST"])
@requires(Area.INBOX)
def inbox_faq() -> Any:
    values = {"question": "", "answer": ""}
    errors: dict[str, str] = {}
    if request.method == "POST":
        question, answer = faq.clean_entry(request.form)
        errors = faq.entry_errors(question, answer)
        if not errors:
            faq.add_entry(question, answer)
            flash(f"“{question}” added to the FAQ.")
            return redirect(url_for("backoffice.inbox_faq"))
        values = {
            "question": request.form.get("question", ""),
            "answer": request.form.get("answer", ""),
        }
    return render_template(
        "backoffice/inbox_faq.html", entries=faq.entries(), values=values, errors=errors
    ), 400 if errors else 200


@bp.route("/inbox/faq/<int:entry_id>", methods=["GET", "POST"])
@requires(Area.INBOX)
def inbox_faq_edit(entry_id: int) -> Any:
    entry = get_or_404(FaqEntry, entry_id)
    values = {"question": entry.question, "answer": entry.answer}
    errors: dict[str, str] = {}
    if request.method == "POST":
        question, answer = faq.clean_entry(request.form)
        errors = faq.entry_errors(question, answer)
        if not errors:
            faq.update_entry(entry, question, answer)
            flash(f"“{question}” saved.")
            return redirect(url_for("backoffice.inbox_faq"))
        values = {
            "question": request.form.get("question", ""),
            "answer": request.form.get("answer", ""),
        }
    return render_template(
        "backoffice/inbox_faq_edit.html", entry=entry, values=values, errors=errors
    ), 400 if errors else 200


@bp.post("/inbox/faq/<int:entry_id>/move")
@requires(Area.INBOX)
def inbox_faq_move(entry_id: int) -> Any:
    entry = get_or_404(FaqEntry, entry_id)
    faq.move_entry(entry, -1 if request.form.get("direction") == "up" else 1)
    return redirect(url_for("backoffice.inbox_faq"))


@bp.route("/inbox/faq/<int:entry_id>/delete", methods=["GET", "POST"])
@requires(Area.INBOX)
def inbox_faq_delete(entry_id: int) -> Any:
    entry = get_or_404(FaqEntry, entry_id)

    def delete() -> str:
        faq.delete_entry(entry)
        return f"“{entry.question}” deleted from the FAQ."

    return confirm_then(
        delete,
        heading=f"Delete “{entry.question}” from the FAQ?",
        message="It leaves the FAQ page and the automatic replies. This cannot be undone.",
        button="Delete question",
        back=url_for("backoffice.inbox_faq"),
    )


# --- saved replies ----------------------------------------------------------------------


@bp.route("/inbox/replies", methods=["GET", "POST"], endpoint="inbox_replies")
@bp.route("/inbox/replies/<int:reply_id>", methods=["GET", "POST"])
@requires(Area.INBOX)
def inbox_reply_edit(reply_id: int | None = None) -> Any:
    """The saved replies, with the form to add one (no id) or to edit one."""
    current = get_or_404(SavedReply, reply_id)
    values = (
        {"title": current.title, "body": current.body} if current else {"title": "", "body": ""}
    )
    errors: dict[str, str] = {}
    if request.method == "POST":
        title, body = saved_replies.clean(request.form)
        errors = saved_replies.errors_of(title, body, current)
        if not errors:
            saved_replies.save_reply(title, body, current)
            flash(f"Saved reply “{title}” " + ("updated." if current else "added."))
            return redirect(url_for("backoffice.inbox_replies"))
        values = {"title": request.form.get("title", ""), "body": request.form.get("body", "")}
    return render_template(
        "backoffice/inbox_replies.html",
        replies=saved_replies.saved_replies(),
        current=current,
        values=values,
        errors=errors,
    ), 400 if errors else 200


@bp.route("/inbox/replies/<int:reply_id>/delete", methods=["GET", "POST"])
@requires(Area.INBOX)
def inbox_reply_delete(reply_id: int) -> Any:
    reply = get_or_404(SavedReply, reply_id)

    def delete() -> str:
        saved_replies.delete_reply(reply)
        return f"Saved reply “{reply.title}” deleted."

    return confirm_then(
        delete,
        heading=f"Delete the saved reply “{reply.title}”?",
        message="Replies already sent keep their text. This cannot be undone.",
        button="Delete saved reply",
        back=url_for("backoffice.inbox_replies"),
    )


# --- settings ---------------------------------------------------------------------------


@bp.route("/inbox/settings", methods=["GET", "POST"])
@requires(Area.INBOX)
def inbox_settings() -> Any:
    settings = get_inbox_settings()
    errors: dict[str, str] = {}
    values: dict[str, Any] = {
        "response_hours": settings.response_hours,
        "auto_reply": settings.auto_reply,
    }
    if request.method == "POST":
        hours = request.form.get("response_hours", type=int)
        auto = request.form.get("auto_reply") == "1"
        if hours not in RESPONSE_CHOICES:
            errors["response_hours"] = "Choose a response time."
            values = {"response_hours": request.form.get("response_hours", ""), "auto_reply": auto}
        else:
            update_inbox_settings(hours, auto)
            flash("Inbox settings saved.")
            return redirect(url_for("backoffice.inbox_settings"))
    model = db.session.scalar(select(TopicModel).limit(1))
    return render_template(
        "backoffice/inbox_settings.html",
        values=values,
        errors=errors,
        choices=[(h, response_time(h).capitalize()) for h in RESPONSE_CHOICES],
        labels=classifier.label_count(),
        min_labels=classifier.MIN_LABELS,
        model=model,
    ), 400 if errors else 200
