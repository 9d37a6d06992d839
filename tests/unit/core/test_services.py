"""Services declared once (cartable.core.services), the group parser and Identity (cartable.core.roles)."""

from __future__ import annotations

from support.site import site_config
from traitlets.config import Config

from cartable.core import roles, services
from cartable.hub import layers


def site(tmp_path, **sections):
    return site_config(tmp_path, **sections)


def test_every_service_is_found_through_the_entry_point_group(tmp_path):
    names = {n for n, _fn in services.spec_functions()}
    assert {"sync", "idle-culler", "prestart", "exchange", "dashboards", "lessons"} <= names
    specs = {s.name for s in services.discover(site(tmp_path))}
    assert {layers.SYNC_SERVICE, layers.CULLER_SERVICE, layers.PRESTART_SERVICE, layers.EXCHANGE_SERVICE,
            layers.DASHBOARDS_SERVICE, layers.LESSONS_SERVICE} == specs


def test_a_new_entry_point_is_registered_by_the_last_layer(tmp_path, monkeypatch):
    extra = services.ServiceSpec(name="cartable-extra", command=["true"], port_offset=4, scopes=("read:users",),
                                 server_env={"CARTABLE_EXTRA": "1"}, enabled=lambda cfg: cfg["auth"]["method"] == "local")
    real = services.spec_functions

    def with_extra(names=None):
        if names is None:
            return [*real(), ("extra", lambda cfg: extra)]
        return [("extra", lambda cfg: extra)] if names == ("extra",) else real(names)

    monkeypatch.setattr(layers, "spec_functions", with_extra)
    monkeypatch.setattr(services, "spec_functions", with_extra)
    cfg = site(tmp_path)
    c = layers.apply(Config(), cfg)
    names = [s["name"] for s in c.JupyterHub.services]
    assert names[-1] == "cartable-extra" and names.count("cartable-extra") == 1
    assert c.JupyterHub.services[-1]["url"] == f"http://127.0.0.1:{cfg['hub']['port'] + 4}"
    role = next(r for r in c.JupyterHub.load_roles if r["name"] == "cartable-extra")
    assert role == {"name": "cartable-extra", "description": "", "scopes": ["read:users"], "services": ["cartable-extra"]}
    assert c.Spawner.environment.get_value({})["CARTABLE_EXTRA"] == "1"


def test_a_disabled_spec_adds_nothing(tmp_path):
    c = Config()
    spec = services.ServiceSpec(name="x", server_env={"X": "1"}, scopes=("read:users",), enabled=lambda cfg: False)
    layers.register(c, site(tmp_path), [spec])
    assert c.JupyterHub.services == [] and c.JupyterHub.load_roles == []
    assert "environment" not in c.Spawner


def test_group_names_parsed_once():
    assert roles.parse_group("class:LYC1:2BSM1") == roles.GroupName("class:LYC1:2BSM1", "class", school="LYC1",
                                                                   klass="2BSM1")
    assert roles.parse_group("inspect:LYC1:*").subject == "*"
    assert roles.parse_group("course:lyc1-2026-2bsm1-maths").course == "lyc1-2026-2bsm1-maths"
    assert roles.parse_group("role:teacher").role == "teacher"
    assert roles.parse_group("school:LYC1").school == "LYC1"
    for other in ("admins", "class:LYC1", "inspect:LYC1", "club:chess"):
        assert roles.parse_group(other) is None


def test_identity_from_groups_and_token_scopes():
    ident = roles.Identity.from_model({"name": "t1", "groups": ["role:teacher", "school:LYC1", "course:c1",
                                                               "course:c1", "class:LYC1:A", "other"],
                                       "scopes": ["custom:cartable:teach"]})
    assert ident.roles == ("teacher",) and ident.schools == ("LYC1",) and ident.courses == ("c1",)
    assert ident.classes == (("LYC1", "A"),) and not ident.admin
    assert ident.role_in_token() == "teacher"
    assert roles.Identity.from_groups("t1", ["role:teacher"], scopes=["custom:cartable:learn"]).role_in_token() is None
    assert roles.cartable_scope("director") == "custom:cartable:manage-school"
    assert roles.cartable_scope("nobody") is None
