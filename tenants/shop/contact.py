"""The contact page, the FAQ page, and a conversation's own page for the shopper.

Contacting needs no account. The contact form never shows the conversation back (its
address is typed, not proven): the thread is reached only through the signed link in
the emails we send to that address. "Ask about this order" on the order status page
links here with the order's token, which links the order without asking its number.

A honeypot field (hidden from people, filled by bots) makes a post look sent and
write nothing; posts are rate limited per address. Every page here carries a CSRF
token or is personal, so none is kept by the page cache.
"""

from __future__ import annotations

from typing import Any

from flask import Response, make_response, request, url_for

from saas.auth import current_customer
from saas.extensions import csrf
from saas.ratelimit import limiter
from tenants.customers import services as customers
from tenants.inbox import attachments, conversations, faq, inbound
from tenants.inbox.links import conversation_for_token
from tenants.inbox.models import Conversation, Direction
from tenants.inbox.text import plain_text
from tenants.orders.models import Order
from tenants.shop import bp, render

HONEYPOT = "website"


def _personal(template: str, status: int = 200, **context: Any) -> Response:
    body, status = render(template, status, **context)
    response = make_response(body, status)
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _linked_order(token: str | None) -> Order | None:
    return customers.order_by_token(token) if token else None


def _contact_page(status: int = 200, **context: Any) -> Response:
    context.setdefault("errors", {})
    context.setdefault("upload_limit", attachments.limit_label())
    response = _personal("contact.html", status, **context)
    if context.get("order_token"):
        # The order's token is in this page's address: never sent on to another site.
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.get("/contact")
def contact() -> Any:
    order = _linked_order(request.args.get("order"))
    customer = current_customer()
    values = {
        "name": (order.customer_name if order else "") or (customer.name if customer else ""),
        "email": (order.email if order else "") or (customer.email if customer else ""),
        # Without a token (a customer's older order), only the number is filled in: it
        # links the order when the email is the order's.
        "order_number": f"#{order.number}"
        if order
        else (f"#{number}" if (number := request.args.get("number", "")[:9]).isdigit() else ""),
        "message": "",
    }
    return _contact_page(values=values, order=order, order_token=order.token if order else "")


@bp.post("/contact")
def contact_send() -> Any:
    order = _linked_order(request.form.get("order_token"))
    values = {k: request.form.get(k, "") for k in ("name", "email", "order_number", "message")}
    context = {"values": values, "order": order, "order_token": order.token if order else ""}
    if request.form.get(HONEYPOT):
        return _personal("contact_sent.html")  # a bot: it sees success, nothing is kept
    if limited := limiter().hit("contact"):
        return _contact_page(429, problem=limited.message, **context)
    contact = conversations.read_contact_form(request.form, order=order)
    upload = None
    file = request.files.get("attachment")
    if not contact.errors:
        try:
            upload = conversations.read_attachment(
                file.stream if file else None, file.filename if file else None
            )
        except attachments.AttachmentError as error:
            contact.errors["attachment"] = str(error)
    if contact.errors:
        return _contact_page(400, errors=contact.errors, **context)
    conversations.receive_contact(
        contact,
        order=order if order is not None and order.email.lower() == contact.email.lower() else None,
        customer=current_customer(),
        upload=upload,
    )
    return _personal("contact_sent.html", email=contact.email)


@bp.get("/faq")
def faq_page() -> Any:
    return render("faq.html", entries=faq.entries())


# --- the conversation's page, by its signed link --------------------------------------


def _thread(token: str) -> Conversation | None:
    return conversation_for_token(token)


def _thread_page(
    conversation: Conversation, token: str, status: int = 200, **context: Any
) -> Response:
    context.setdefault("errors", {})
    context.setdefault("body", "")
    response = _personal(
        "contact_thread.html",
        status,
        conversation=conversation,
        messages=[m for m in conversation.messages if m.direction != Direction.NOTE],
        token=token,
        upload_limit=attachments.limit_label(),
        **context,
    )
    # The link is the key to this page: never sent on to another site, never indexed.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def _not_found() -> Response:
    response = _personal("contact_link_problem.html", 404)
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.get("/contact/thread/<token>")
def contact_thread(token: str) -> Any:
    conversation = _thread(token)
    if conversation is None:
        return _not_found()
    return _thread_page(conversation, token, sent=request.args.get("sent") == "1")


@bp.post("/contact/thread/<token>")
def contact_thread_reply(token: str) -> Any:
    conversation = _thread(token)
    if conversation is None:
        return _not_found()
    body = plain_text(request.form.get("message"))
    if request.form.get(HONEYPOT):
        return _thread_page(conversation, token)
    if limited := limiter().hit("contact-reply"):
        return _thread_page(conversation, token, 429, problem=limited.message, body=body)
    errors: dict[str, str] = {}
    if not body:
        errors["message"] = "Enter your message."
    upload = None
    file = request.files.get("attachment")
    if not errors:
        try:
            upload = conversations.read_attachment(
                file.stream if file else None, file.filename if file else None
            )
        except attachments.AttachmentError as error:
            errors["attachment"] = str(error)
    if errors:
        return _thread_page(conversation, token, 400, errors=errors, body=body)
    conversations.shopper_reply(conversation, body, upload=upload)
    response = make_response("", 303)
    response.headers["Location"] = url_for("shop.contact_thread", token=token, sent=1)
    return response


@bp.get("/contact/thread/<token>/files/<int:attachment_id>")
def contact_attachment(token: str, attachment_id: int) -> Any:
    conversation = _thread(token)
    found = None
    if conversation is not None:
        found = next(
            (
                a
                for m in conversation.messages
                if m.direction != Direction.NOTE
                for a in m.attachments
                if a.id == attachment_id
            ),
            None,
        )
    if found is None:
        return _not_found()
    return attachments.download(found)


# --- replies by email, from the mail provider --------------------------------------------


def _problem(refused: inbound.InboundRefused) -> Response:
    return inbound.problem_response(refused.status, refused.title, refused.detail)


@bp.post("/contact/inbound-email")
@csrf.exempt  # the provider signs its requests instead; a browser never posts here
def inbound_email() -> Any:
    payload = request.get_data(cache=False)
    try:
        inbound.verify(payload, request.headers.get(inbound.SIGNATURE_HEADER))
        message = inbound.receive(inbound.parse(payload))
    except inbound.InboundRefused as refused:
        return _problem(refused)
    if message is None:
        # Accepted, so the provider does not retry, but threaded nowhere.
        return inbound.json_response({"received": True, "threaded": False})
    return inbound.json_response({"received": True, "threaded": True, "message": message.id})
