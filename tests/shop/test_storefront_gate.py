"""The "coming soon" gate in front of a shop that has not launched yet."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from saas.db import db
from saas.models import Tenant, TenantStatus
from saas.passwords import hash_password
from saas.tenancy import tenant_context
from tenants.settings.models import ShopSettings

PASSWORD = "sneak-peek-42"


def set_password(app, tenant, password: str | None) -> None:
    with app.app_context(), tenant_context(tenant):
        settings = db.session.get(ShopSettings, 1)
        settings.storefront_password_hash = hash_password(password) if password else None
        db.session.commit()


def test_unlaunched_shop_shows_coming_soon(make_tenant, shop_client):
    tenant = make_tenant(name="Quiet Shop", launched=False, products=[("Secret Lamp", 4200)])
    client = shop_client(tenant)
    for path in ("/", "/products/secret-lamp", "/?page=1"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "Quiet Shop is coming soon" in response.text
        assert "Secret Lamp" not in response.text and "$42.00" not in response.text
        assert response.headers["X-Robots-Tag"] == "noindex"
        assert "no-store" in response.headers["Cache-Control"]
    assert 'name="password"' not in client.get("/").text  # no password set: no form
    # The page's own assets and the back office stay reachable.
    with client.get("/assets/base/theme.css") as css:
        assert css.status_code == 200
    login = client.get("/admin/login")
    assert login.status_code == 200 and "coming soon" not in login.text
    assert client.get("/admin/").status_code == 302


def test_launched_shop_is_open(make_tenant, shop_client):
    tenant = make_tenant(products=[("Open Lamp", 100)])
    response = shop_client(tenant).get("/")
    assert "Open Lamp" in response.text and "coming soon" not in response.text
    assert "X-Robots-Tag" not in response.headers


def test_storefront_password_lets_a_visitor_in(app, make_tenant, shop_client):
    tenant = make_tenant(launched=False, products=[("Hidden Vase", 900)])
    set_password(app, tenant, PASSWORD)
    client = shop_client(tenant)
    page = client.get("/products/hidden-vase").text
    assert '<label for="password">' in page and 'value="/products/hidden-vase"' in page

    wrong = client.post("/password", data={"password": "nope", "next": "/"})
    assert wrong.status_code == 400 and "That password is not correct." in wrong.text
    assert "Hidden Vase" not in client.get("/").text

    right = client.post("/password", data={"password": PASSWORD, "next": "/products/hidden-vase"})
    assert right.status_code == 302 and right.location.endswith("/products/hidden-vase")
    assert "Hidden Vase" in client.get("/").text

    # Another shop with the same password is not opened by this visitor's session.
    other = make_tenant(launched=False, products=[("Other Vase", 900)])
    set_password(app, other, PASSWORD)
    assert "Other Vase" not in shop_client(other).get("/").text

    # A new password locks out everyone who gave the old one.
    set_password(app, tenant, "another-secret-9")
    assert "Hidden Vase" not in client.get("/").text


def test_password_redirect_stays_on_the_shop(app, make_tenant, shop_client):
    tenant = make_tenant(launched=False)
    set_password(app, tenant, PASSWORD)
    response = shop_client(tenant).post(
        "/password", data={"password": PASSWORD, "next": "//evil.example/"}
    )
    assert response.status_code == 302 and response.location == "/"


def test_password_attempts_are_rate_limited(app, make_tenant, shop_client):
    tenant = make_tenant(launched=False)
    set_password(app, tenant, PASSWORD)
    client = shop_client(tenant)
    wrong = [client.post("/password", data={"password": "guess"}) for _ in range(20)]
    assert {r.status_code for r in wrong} == {400}
    assert "That password is not correct." in wrong[0].text and "tries left" not in wrong[0].text
    assert (
        "That password is not correct. 10 tries left before tries from your network are "
        "paused for 15 minutes." in wrong[9].text
    )
    assert "Too many failed tries from your network. Try again in 15 minutes." in wrong[19].text
    limited = client.post("/password", data={"password": PASSWORD})
    assert limited.status_code == 429
    assert "Too many failed tries from your network. Try again in 15 minutes." in limited.text
    # Another shop's counter is its own.
    other = make_tenant(launched=False)
    set_password(app, other, PASSWORD)
    assert shop_client(other).post("/password", data={"password": "guess"}).status_code == 400


def test_signed_in_staff_see_the_real_storefront(make_tenant, staff_client, shop_client):
    tenant = make_tenant(launched=False, products=[("Staff Preview", 100)])
    staff = staff_client(tenant, permissions=[])
    assert "Staff Preview" in staff.get("/").text
    # A staff session of another shop does not count here.
    other = make_tenant(launched=False, products=[("Not Yours", 100)])
    assert "Not Yours" not in shop_client(other).get("/").text


def test_staff_are_told_the_shop_is_not_launched_yet(app, make_tenant, staff_client, shop_client):
    notice = "Your shop isn't launched yet: only you can see it."
    tenant = make_tenant(launched=False, products=[("Preview Lamp", 100)])
    staff = staff_client(tenant, permissions=[])
    for path in ("/", "/products/preview-lamp", "/products/no-such-thing"):
        page = staff.get(path).text
        assert notice in page, path
        assert '<a href="/admin/">Go to the back office</a>' in page
    # A visitor let in by the storefront password is a shopper: no notice for them.
    set_password(app, tenant, PASSWORD)
    visitor = shop_client(tenant)
    visitor.post("/password", data={"password": PASSWORD, "next": "/"})
    page = visitor.get("/").text
    assert "Preview Lamp" in page and notice not in page
    # Once the shop is live, staff see it as everyone does.
    live = make_tenant(products=[("Live Lamp", 100)])
    assert notice not in staff_client(live, permissions=[]).get("/").text


def test_launch_opens_the_storefront(app, make_tenant, staff_client, shop_client):
    tenant = make_tenant(launched=False, products=[("Launch Lamp", 100)])
    # Launching needs a way to pay and confirmed shipping (issue 12).
    with app.app_context(), tenant_context(tenant):
        settings = db.session.get(ShopSettings, 1)
        settings.bank_transfer, settings.shipping_needs_review = True, False
        db.session.commit()
    visitor = shop_client(tenant)
    assert "Launch Lamp" not in visitor.get("/").text
    assert staff_client(tenant, role="owner").post("/admin/launch").status_code == 302
    assert "Launch Lamp" in visitor.get("/").text
    # After launch the password form has nothing to do.
    assert visitor.post("/password", data={"password": "x"}).status_code == 302


def test_coming_soon_shows_the_logo(app, make_tenant, staff_client, shop_client):
    tenant = make_tenant(name="Logo Shop", launched=False)
    out = io.BytesIO()
    Image.new("RGB", (40, 20), "navy").save(out, format="GIF")
    staff_client(tenant, role="owner").post(
        "/admin/settings",
        data={
            "name": "Logo Shop",
            "contact_email": "hi@logo.test",
            "currency": "USD",
            "timezone": "UTC",
            "logo": (io.BytesIO(out.getvalue()), "logo.gif"),
        },
        content_type="multipart/form-data",
    )
    with app.app_context(), tenant_context(tenant):
        logo = db.session.get(ShopSettings, 1).logo_file
    assert logo and (Path(app.config["MEDIA_PATH"]) / tenant.schema / logo).exists()
    visitor = shop_client(tenant)
    assert f"/media/{logo}" in visitor.get("/").text
    with visitor.get(f"/media/{logo}") as image:  # reachable before launch
        assert image.status_code == 200


def test_suspended_shop_is_unavailable_but_its_back_office_opens(
    app, make_tenant, staff_client, shop_client
):
    tenant = make_tenant(products=[("Paused Lamp", 100)])
    with app.app_context():
        db.session.get(Tenant, tenant.id).status = TenantStatus.SUSPENDED
        db.session.commit()
    response = shop_client(tenant).get("/")
    assert response.status_code == 503 and "Paused Lamp" not in response.text
    assert shop_client(tenant).get("/media/anything.png").status_code == 503
    admin = staff_client(tenant, role="owner").get("/admin/")
    assert admin.status_code == 200 and "Your shop is suspended." in admin.text
