"""The OpenID Connect authenticator's claim mapping and configuration, without a hub.

The login itself, against a real provider and a real hub, is in
``tests/hub/site/test_oidc.py``.
"""

from __future__ import annotations

import socket

import pytest
from support.site import site_config
from traitlets.config import Config

from cartable.core import config
from cartable.hub import layers, oidc

ENDPOINTS = {"authorize_url": "https://idp.example/auth", "token_url": "https://idp.example/token",
             "userdata_url": "https://idp.example/me"}


def site(tmp_path, **oidc_settings):
    return site_config(tmp_path, school={"code": "LYC1"}, spawner={"idle_timeout": 600},
                       auth={"method": "oidc", "oidc": {"client_id": "cartable", "client_secret": "s", **oidc_settings}})


@pytest.mark.parametrize("value,role", [
    ("eleve", "pupil"), ("Élève", "pupil"), ("STUDENT", "pupil"), (" enseignant ", "teacher"),
    ("Directeur", "director"), ("inspecteur", "inspector"), ("admin", "admin"),
    (["user", "eleve"], "pupil"),  # extra provider roles that map to nothing are ignored
])
def test_default_role_map(value, role):
    assert oidc.map_role(value, {}) == (role, None)


@pytest.mark.parametrize("value,reason", [
    (None, "no-role"), ("", "no-role"), ([], "no-role"), (42, "no-role"),
    ("parent", "unknown-role"), (["parent", "user"], "unknown-role"),
    (["eleve", "enseignant"], "ambiguous-role"),
])
def test_missing_unknown_or_ambiguous_roles_are_refused(value, reason):
    assert oidc.map_role(value, {}) == (None, reason)


def test_site_role_map_adds_and_overrides():
    assert oidc.map_role("ETUDIANT", {"etudiant": "pupil"}) == ("pupil", None)
    assert oidc.map_role("admin", {"admin": "director"}) == ("director", None)


def test_pupil_groups_from_claims():
    m = oidc.map_claims({"cartable_role": "eleve", "school": "LYC1", "classes": ["2BSM1", "bad:class", "", "1BSE2"],
                         "name": "ياسمين"}, allowed_schools=["LYC1"])
    assert m["refused"] is None
    assert m["groups"] == ["class:LYC1:1BSE2", "class:LYC1:2BSM1", "role:pupil", "school:LYC1"]
    assert m["name"] == "ياسمين"


def test_one_class_as_a_string_and_custom_claim_names():
    m = oidc.map_claims({"r": "student", "etab": "LYC1", "cl": "TCS3"}, role_claim="r", school_claim="etab",
                        classes_claim="cl")
    assert m["groups"] == ["class:LYC1:TCS3", "role:pupil", "school:LYC1"]


def test_teachers_get_no_class_groups_and_admins_no_role_group():
    teacher = oidc.map_claims({"cartable_role": "teacher", "school": "LYC1", "classes": ["2BSM1"]})
    assert teacher["groups"] == ["role:teacher", "school:LYC1"]
    admin = oidc.map_claims({"cartable_role": "admin"})
    assert admin["refused"] is None and admin["groups"] == []


def test_school_roles_need_an_admitted_school():
    assert oidc.map_claims({"cartable_role": "eleve"})["refused"] == "no-school"
    assert oidc.map_claims({"cartable_role": "eleve", "school": "a b"})["refused"] == "no-school"
    assert oidc.map_claims({"cartable_role": "enseignant", "school": "LYC2"},
                           allowed_schools=["LYC1"])["refused"] == "other-school"
    assert oidc.map_claims({"cartable_role": "enseignant", "school": "LYC2"}, allowed_schools=["*"])["refused"] is None
    # inspectors are not bound to a school
    assert oidc.map_claims({"cartable_role": "inspecteur", "school": "LYC2"},
                           allowed_schools=["LYC1"])["groups"] == ["role:inspector", "school:LYC2"]


@pytest.mark.parametrize("name,ok", [
    ("j130045789", True), ("a.b_c-d", True), ("élève", False), ("a b", False), ("", False), (".x", False),
    ("-x", False), ("x/y", False), ("ａ", False),
])
def test_usernames_are_ascii(name, ok):
    auth = oidc.CartableOIDCAuthenticator()
    assert auth.validate_username(auth.normalize_username(name)) is ok


def test_normalize_lowercases_ids_given_as_numbers_or_uppercase():
    auth = oidc.CartableOIDCAuthenticator()
    assert auth.normalize_username("J13") == "j13"
    assert auth.normalize_username(130045789) == "130045789"


def test_configure_with_explicit_endpoints_needs_no_network(tmp_path):
    c = Config()
    oidc.configure(c, site(tmp_path, **ENDPOINTS, callback_url="https://cartable.example/hub/oauth_callback",
                           role_map={"etudiant": "pupil"}))
    a = c.CartableOIDCAuthenticator
    assert c.JupyterHub.authenticator_class is oidc.CartableOIDCAuthenticator
    assert (a.authorize_url, a.token_url, a.userdata_url) == tuple(ENDPOINTS.values())
    assert a.oauth_callback_url == "https://cartable.example/hub/oauth_callback"
    assert a.manage_groups is True and a.allow_all is False and a.enable_pkce is True
    assert a.allowed_schools == ["LYC1"]  # by default only the site's own school
    assert a.role_map == {"etudiant": "pupil"}
    assert a.scope == ["openid", "profile"] and a.username_claim == "sub"
    assert "ministère" in a.login_service
    # the traits are real traits of the class
    auth = oidc.CartableOIDCAuthenticator(config=c)
    assert auth.allowed_schools == ["LYC1"] and auth.manage_groups


def test_unreachable_provider_stops_the_hub_with_a_bilingual_error(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(config.ConfigError) as e:
        oidc.configure(Config(), site(tmp_path, issuer=f"http://127.0.0.1:{port}"))
    text = str(e.value)
    fr, en = text.split("\n")
    assert fr.startswith("Impossible de lire le document de découverte")
    assert en.startswith("Cannot read the OpenID Connect provider's discovery document")
    assert f"127.0.0.1:{port}/.well-known/openid-configuration" in en


def test_oidc_layers_start_no_sync_service_and_load_no_groups(tmp_path):
    c = layers.apply(Config(), site(tmp_path, **ENDPOINTS))
    names = [s["name"] for s in c.JupyterHub.services]
    assert names == [layers.CULLER_SERVICE, layers.EXCHANGE_SERVICE, layers.DASHBOARDS_SERVICE,
                     layers.LESSONS_SERVICE]
    assert "load_groups" not in c.JupyterHub
    assert layers.SYNC_SERVICE not in [r["name"] for r in c.JupyterHub.load_roles]
    assert c.CartableOIDCAuthenticator.manage_groups is True
