"""The Flask extensions every part of the platform shares, created here unbound and bound
to the app by `create_app`: modules import them from here, never from the factory, so
importing a blueprint never imports the whole application."""

from __future__ import annotations

from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

login_manager = LoginManager()
csrf = CSRFProtect()
