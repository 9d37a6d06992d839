"""Authenticators: local accounts from the roster, and the ministry's OpenID Connect.

Both take the role and the groups from Cartable's database (local) or from the
provider's claims (OIDC); neither trusts anything else the browser sends.
"""

from __future__ import annotations

import datetime as dt

from jupyterhub.auth import Authenticator
from jupyterhub.handlers.login import LoginHandler
from tornado import web
from traitlets import Bool, Integer, Unicode

from cartable.core.db import Credential, Database
from cartable.core.i18n import _, gettext_for
from cartable.hub import accounts

CHANGE_TOKEN = "cartable-password-change"
CHANGE_TOKEN_MINUTES = 10


class CartableLoginHandler(LoginHandler):
    """The login form, with the refusal reasons and the first-login password change."""

    async def post(self):
        data = {arg: self.get_argument(arg, strip=arg == "username")
                for arg in self.request.body_arguments if arg != "_xsrf"}
        data.setdefault("username", "")
        user = await self.login_user(data)
        if user:
            self._jupyterhub_user = user
            self.redirect(self.get_next_url(user))
            return
        state = getattr(self, "cartable_state", None) or {}
        self.set_status(200 if state.get("change_token") else 403)
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        html = await self._render(
            login_error=state.get("error") or _("Invalid username or password."),
            username=data["username"][:64],
            change_token=state.get("change_token"),
        )
        self.finish(html)


class CartableAuthenticator(Authenticator):
    """Local accounts imported from the school's roster.

    Passwords are stored only as argon2id hashes in Cartable's database. An
    account is locked after ``max_failures`` failed logins in a row for
    ``lockout_minutes``; with ``force_password_change`` a user must choose a new
    password at first login. People removed from the roster cannot log in, and
    their open sessions end at the next refresh (``auth_refresh_age``).
    """

    db_url = Unicode(config=True, help="SQLAlchemy URL of Cartable's database (the roster and accounts).")
    max_failures = Integer(5, config=True, help="Failed logins in a row before the account is locked.")
    lockout_minutes = Integer(15, config=True, help="How long a locked account stays locked, in minutes.")
    min_password_length = Integer(8, config=True, help="The shortest password a user may choose.")
    force_password_change = Bool(True, config=True, help="Make users choose a new password at their first login.")
    language = Unicode("fr", config=True, help="Language of the login page's messages (fr, ar, en).")

    _db = None

    @property
    def db(self) -> Database:
        if self._db is None:
            self._db = Database(self.db_url)
        return self._db

    @property
    def policy(self) -> accounts.Policy:
        return accounts.Policy(self.max_failures, self.lockout_minutes, self.min_password_length, self.force_password_change)

    def get_handlers(self, app):
        return [(r"/login", CartableLoginHandler)]

    def normalize_username(self, username):
        return username.strip().lower()

    def check_allowed(self, username, authentication=None):
        person = self.db.person(username)
        return person is not None and person.active

    async def authenticate(self, handler, data):
        t = gettext_for(self.language)
        username = self.normalize_username(data.get("username", ""))
        if data.get("change_token"):
            return self._change_password(handler, data, t)
        outcome = accounts.check_login(self.db, username, data.get("password", ""), self.policy)
        if outcome is accounts.Outcome.OK:
            return self._user_model(username)
        if outcome is accounts.Outcome.MUST_CHANGE:
            self._state(handler, error=t(_("This is your first login: choose your own password.")),
                        change_token=self._issue_change_token(handler, username))
            return None
        self.log.warning("Login refused for %r: %s", username[:64], outcome.value)
        self._state(handler, error=t(accounts.MESSAGES[outcome]))
        return None

    def _user_model(self, username):
        # admin stays None: JupyterHub takes it from admin_users (cartable.yaml auth.admins)
        return {"name": username, "admin": None}

    def _state(self, handler, **state):
        if handler is not None:
            handler.cartable_state = state

    def _issue_change_token(self, handler, username):
        cred = self._credential(username)
        return handler.create_signed_value(CHANGE_TOKEN, f"{username}|{cred.password_set_at.isoformat()}").decode()

    def _credential(self, username) -> Credential | None:
        with self.db.session() as s:
            return s.get(Credential, username)

    def _change_password(self, handler, data, t):
        value = web.decode_signed_value(
            handler.settings["cookie_secret"], CHANGE_TOKEN, data["change_token"],
            max_age_days=CHANGE_TOKEN_MINUTES / (24 * 60))
        if value is None:
            self._state(handler, error=t(_("The password-change form has expired: log in again.")))
            return None
        username, set_at = value.decode().rsplit("|", 1)
        cred = self._credential(username)
        if cred is None or cred.password_set_at.isoformat() != set_at:
            self._state(handler, error=t(_("The password-change form has expired: log in again.")))
            return None
        new, confirm = data.get("new_password", ""), data.get("new_password_confirm", "")
        problem = accounts.password_problem(new, confirm, data.get("password", ""), self.policy)
        if problem is None and accounts._verify(cred.password_hash, new):
            problem = _("The new password must differ from the old one.")
        if problem:
            self._state(handler, error=t(problem), change_token=data["change_token"])
            return None
        accounts.set_password(self.db, username, new, must_change=False)
        with self.db.session() as s:
            s.get(Credential, username).last_login = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        self.log.info("User %s chose a new password", username)
        return self._user_model(username)

    async def refresh_user(self, user, handler=None):
        """End the session of anyone removed from the roster."""
        person = self.db.person(user.name)
        if person is not None and person.active:
            return True
        if user.admin and person is None:
            return True
        return False
