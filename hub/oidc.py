"""Logging in through the ministry's OpenID Connect provider.

Production sites authenticate with OAuthenticator's ``GenericOAuthenticator``
(authorization code flow with PKCE). The provider's claims decide who may log in
and what they are:

- the username is the ``username_claim`` (the stable national ID), lower-cased; it
  must be ASCII letters, digits, ``.``, ``_`` or ``-``, or the login is refused;
- the role is the ``role_claim`` mapped through :data:`DEFAULT_ROLE_MAP` and the
  site's ``role_map``; an unknown or missing role is refused;
- the groups are ``role:<role>``, ``school:<school>`` and, for pupils,
  ``class:<school>:<class>`` for each class in ``classes_claim``; the Hub sets them
  at every login (``manage_groups``). The ``admin`` role makes a Hub administrator.

Pupils, teachers and directors must carry a school the site admits
(``allowed_schools``, by default the site's own school). Nothing the browser sends
is trusted: the claims come from the provider's userinfo endpoint, fetched by the
hub with the access token it obtained itself.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

import requests
from oauthenticator.generic import GenericOAuthenticator
from traitlets import Dict, List, Unicode

from cartable.core import config as site_config
from cartable.core import roles
from cartable.core.i18n import _, bilingual, gettext_for

ROLES = ("pupil", "teacher", "director", "inspector", "admin")

# Role names as ministries write them, in French, English and without accents.
# Keys are compared case-insensitively; a site's ``role_map`` adds to or overrides these.
DEFAULT_ROLE_MAP = {
    "eleve": "pupil",
    "élève": "pupil",
    "pupil": "pupil",
    "student": "pupil",
    "enseignant": "teacher",
    "teacher": "teacher",
    "directeur": "director",
    "director": "director",
    "inspecteur": "inspector",
    "inspector": "inspector",
    "admin": "admin",
}

# Roles that belong to one school and must carry an admitted school claim.
SCHOOL_ROLES = frozenset({"pupil", "teacher", "director"})
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
SCHOOL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
CLASS_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$")
ANY_SCHOOL = "*"

# Why a login is refused (English, for the log: the user sees custom_403_message).
REFUSALS = {
    "no-role": "the {claim!r} claim is missing",
    "unknown-role": "the role {value!r} in the {claim!r} claim is not in the role map",
    "ambiguous-role": "the {claim!r} claim maps to several roles {value!r}",
    "no-school": "a {role} needs a school code in the {claim!r} claim, got {value!r}",
    "other-school": "school {value!r} is not admitted on this site (allowed_schools: {allowed})",
}


def _as_list(value) -> list:
    if value is None:
        return []
    if isinstance(value, (list, tuple, set)):
        return list(value)
    return [value]


def map_role(value, role_map: dict) -> tuple[str | None, str | None]:
    """``(role, None)`` for a claim value the map knows, else ``(None, refusal reason)``.

    The claim may be one string or a list of strings (providers differ); a list must
    map to exactly one Cartable role.
    """
    values = [v for v in _as_list(value) if isinstance(v, str) and v.strip()]
    if not values:
        return None, "no-role"
    table = {k.strip().casefold(): v for k, v in {**DEFAULT_ROLE_MAP, **role_map}.items()}
    mapped = {table.get(v.strip().casefold()) for v in values}
    if None in mapped and len(values) == 1:
        return None, "unknown-role"
    mapped.discard(None)
    if not mapped:
        return None, "unknown-role"
    if len(mapped) > 1:
        return None, "ambiguous-role"
    return mapped.pop(), None


def map_claims(info: dict, *, role_claim: str = "cartable_role", school_claim: str = "school",
               classes_claim: str = "classes", name_claim: str = "name", role_map: dict | None = None,
               allowed_schools=(ANY_SCHOOL,)) -> dict:
    """Turn the provider's claims into Cartable's view of a user.

    Returns ``{"role", "school", "classes", "name", "groups", "refused", "detail"}``;
    ``refused`` is ``None`` when the user may log in, else a key of :data:`REFUSALS`
    whose English text, formatted with ``detail``, says why.
    """
    out = {"role": None, "school": None, "classes": [], "name": None, "groups": [], "refused": None, "detail": {}}
    name = info.get(name_claim)
    out["name"] = name if isinstance(name, str) and name.strip() else None
    role, reason = map_role(info.get(role_claim), role_map or {})
    if reason:
        out.update(refused=reason, detail={"claim": role_claim, "value": info.get(role_claim)})
        return out
    out["role"] = role
    school = info.get(school_claim)
    school = school.strip() if isinstance(school, str) else None
    if school and not SCHOOL_RE.match(school):
        school = None if role not in SCHOOL_ROLES else school
    allowed = set(allowed_schools or ())
    if role in SCHOOL_ROLES:
        if not school or not SCHOOL_RE.match(school):
            out.update(refused="no-school", detail={"role": role, "claim": school_claim, "value": info.get(school_claim)})
            return out
        if ANY_SCHOOL not in allowed and school not in allowed:
            out.update(refused="other-school", detail={"value": school, "allowed": ", ".join(sorted(allowed)) or "-"})
            return out
    out["school"] = school
    groups = []
    if role in roles.ROLE_GROUP:
        groups.append(roles.ROLE_GROUP[role])
    if school:
        groups.append(roles.school_group(school))
    if role == "pupil":
        for k in _as_list(info.get(classes_claim)):
            k = k.strip() if isinstance(k, str) else ""
            if CLASS_RE.match(k):
                out["classes"].append(k)
                groups.append(roles.class_group(school, k))
    out["groups"] = sorted(set(groups))
    return out


class CartableOIDCAuthenticator(GenericOAuthenticator):
    """The ministry's OpenID Connect provider, with claims mapped to Cartable roles and groups.

    Set up by :func:`configure` from ``auth.oidc`` in ``cartable.yaml``. A login is
    refused (403, with a log line saying why) when the username is not ASCII, when
    the role is missing or unknown, or when a pupil, teacher or director does not
    belong to a school this site admits.
    """

    role_claim = Unicode("cartable_role", config=True,
                         help="The claim holding the user's role (a string, or a list mapping to one role).")
    school_claim = Unicode("school", config=True, help="The claim holding the user's school code.")
    classes_claim = Unicode("classes", config=True,
                            help="The claim holding a pupil's classes (a list of class codes, or one code).")
    name_claim = Unicode("name", config=True, help="The claim holding the display name (any script).")
    role_map = Dict(config=True, help="""Provider role names mapped to Cartable roles
        (pupil, teacher, director, inspector, admin), compared case-insensitively; added to
        and overriding the defaults (eleve/élève/pupil/student, enseignant/teacher,
        directeur/director, inspecteur/inspector, admin).""")
    allowed_schools = List(Unicode(), [ANY_SCHOOL], config=True,
                           help="""School codes whose pupils, teachers and directors may log in here;
        '*' admits every school. Inspectors and administrators are not bound to a school.""")
    language = Unicode("fr", config=True, help="Language of the refusal message shown to users (fr, ar, en).")
    roster_db_url = Unicode("", config=True, help="""SQLAlchemy URL of Cartable's roster database. When set,
        teachers and inspectors also get the course:* and inspect:* groups the roster gives them (the
        provider's claims say role, school and classes, not what a teacher teaches).""")

    def normalize_username(self, username):
        username = str(username).strip().lower()
        return self.username_map.get(username, username)

    def user_info_to_username(self, user_info):
        value = user_info.get(self.username_claim) if isinstance(self.username_claim, str) else None
        if callable(self.username_claim):
            value = self.username_claim(user_info)
        if value is None or isinstance(value, (dict, list, bool)) or str(value).strip() == "":
            self.log.warning("OIDC login refused: the username claim %r is missing or empty", self.username_claim)
            return ""
        return str(value)

    def validate_username(self, username):
        if not USERNAME_RE.match(username or ""):
            self.log.warning("OIDC login refused: username %r (claim %r) is not ASCII letters, digits, '.', '_' or '-'",
                             username[:80], self.username_claim)
            return False
        return super().validate_username(username)

    def claims(self, user_info: dict) -> dict:
        return map_claims(user_info, role_claim=self.role_claim, school_claim=self.school_claim,
                          classes_claim=self.classes_claim, name_claim=self.name_claim,
                          role_map=self.role_map, allowed_schools=self.allowed_schools)

    async def update_auth_model(self, auth_model):
        auth_state = auth_model["auth_state"]
        info = auth_state.get(self.user_auth_state_key) or {}
        mapped = self.claims(info)
        mapped["username"] = auth_model["name"]
        auth_state["cartable"] = mapped
        if mapped["refused"] is None:
            # The claims are the truth: a user whose admin claim is withdrawn stops being admin,
            # unless cartable.yaml lists them in auth.admins.
            auth_model["admin"] = mapped["role"] == "admin" or auth_model["name"] in self.admin_users
            auth_model["user_info"] = {"name": mapped["name"] or auth_model["name"], "role": mapped["role"],
                                       "school": mapped["school"], "classes": mapped["classes"]}
        return auth_model

    async def get_user_groups(self, auth_state: dict):
        mapped = (auth_state or {}).get("cartable") or {}
        groups = set(mapped.get("groups") or [])
        if self.roster_db_url and mapped.get("role") in ("teacher", "inspector") and mapped.get("username"):
            from cartable.core.db import Database
            from cartable.hub.sync import teaching_groups

            db = Database(self.roster_db_url)
            try:
                groups |= teaching_groups(db, mapped["username"])
            finally:
                db.dispose()
        return groups

    async def check_allowed(self, username, auth_model):
        if auth_model is None:
            return username in self.admin_users
        mapped = (auth_model.get("auth_state") or {}).get("cartable") or {}
        if mapped.get("refused") is None and mapped.get("role"):
            self.log.info("OIDC login of %s as %s (groups: %s)", username, mapped["role"], ", ".join(mapped["groups"]))
            return True
        reason = REFUSALS.get(mapped.get("refused"), "no decision on the claims")
        if username in self.admin_users:
            self.log.warning("OIDC login of %s admitted as listed in auth.admins, although %s", username,
                             reason.format(**mapped.get("detail", {})))
            return True
        self.log.warning("OIDC login refused for %s: %s", username, reason.format(**mapped.get("detail", {})))
        return False


class DiscoveryError(site_config.ConfigError):
    """The provider's discovery document cannot be read; the hub does not start."""

    def __init__(self, message: str, **params):
        self.message, self.params = message, params
        Exception.__init__(self, self.render())

    def render(self) -> str:
        return bilingual(self.message, **self.params)


def discover(oidc: dict, path) -> dict:
    """The provider's discovery document (``<issuer>/.well-known/openid-configuration``)."""
    issuer = oidc["issuer"].rstrip("/")
    url = f"{issuer}/.well-known/openid-configuration"
    try:
        r = requests.get(url, timeout=15, verify=oidc.get("tls_verify", True), headers={"Accept": "application/json"})
        r.raise_for_status()
        doc = r.json()
    except (requests.RequestException, ValueError) as e:
        raise DiscoveryError(_(
            "Cannot read the OpenID Connect provider's discovery document at {url} ({detail}). "
            "Check auth.oidc.issuer in {path}, that this server can reach the provider, and its TLS "
            "certificate; or give authorize_url, token_url and userdata_url."),
            url=url, detail=f"{type(e).__name__}: {e}"[:300], path=path) from None
    missing = [k for k in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint")
               if not isinstance(doc, dict) or not doc.get(k)]
    if missing:
        raise DiscoveryError(_("The provider's discovery document at {url} lacks {missing}; give authorize_url, "
                               "token_url and userdata_url in auth.oidc of {path}."),
                             url=url, missing=", ".join(missing), path=path)
    if str(doc.get("issuer", "")).rstrip("/") != issuer:
        raise DiscoveryError(_("The provider at {url} says its issuer is {found!r}, not {issuer!r}: "
                               "write its exact issuer in auth.oidc.issuer of {path}."),
                             url=url, found=doc.get("issuer"), issuer=oidc["issuer"], path=path)
    return doc


def configure(c, cfg):
    """Set the authenticator's traits from ``auth.oidc`` of ``cartable.yaml``."""
    o = cfg["auth"]["oidc"]
    endpoints = {"authorize_url": o.get("authorize_url"), "token_url": o.get("token_url"),
                 "userdata_url": o.get("userdata_url")}
    doc = {}
    if not all(endpoints.values()):
        doc = discover(o, cfg.path)
        endpoints["authorize_url"] = endpoints["authorize_url"] or doc["authorization_endpoint"]
        endpoints["token_url"] = endpoints["token_url"] or doc["token_endpoint"]
        endpoints["userdata_url"] = endpoints["userdata_url"] or doc["userinfo_endpoint"]
    lang = cfg["school"]["language"]
    t = gettext_for(lang)
    # Set the class itself: it works whether or not the entry point is installed.
    c.JupyterHub.authenticator_class = CartableOIDCAuthenticator
    a = c.CartableOIDCAuthenticator
    a.client_id = o["client_id"]
    a.client_secret = o["client_secret"]
    for key, value in endpoints.items():
        setattr(a, key, value)
    if o.get("callback_url"):
        a.oauth_callback_url = o["callback_url"]
    a.scope = list(o["scope"])
    a.username_claim = o["username_claim"]
    a.name_claim = o["name_claim"]
    a.role_claim = o["role_claim"]
    a.school_claim = o["school_claim"]
    a.classes_claim = o["classes_claim"]
    a.role_map = dict(o["role_map"])
    a.allowed_schools = list(o.get("schools") or [cfg["school"]["code"]])
    a.validate_server_cert = o["tls_verify"]
    a.enable_pkce = True
    # RFC 6749 makes client_secret_basic the method every provider supports; use the
    # form body only when the provider says it supports nothing else.
    methods = doc.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    a.basic_auth = "client_secret_basic" in methods or "client_secret_post" not in methods
    a.manage_groups = True
    a.roster_db_url = cfg.database_url("cartable")
    # Admission is decided per user by check_allowed from the mapped role, never for all.
    a.allow_all = False
    a.allow_existing_users = False
    a.language = lang
    a.login_service = t(_("your ministry account"))
    a.custom_403_message = t(_(
        "Your account cannot use Cartable on this site: your role or school is not recognised. "
        "Ask your school's administration to check your account with the ministry."))
    # On shared school computers, leaving Cartable must also end the provider's session,
    # or the next pupil would be logged in as the previous one.
    end_session = doc.get("end_session_endpoint")
    if end_session:
        a.logout_redirect_url = f"{end_session}?{urlencode({'client_id': o['client_id']})}"
    return c
