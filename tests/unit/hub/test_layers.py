"""Each configuration layer, on a plain traitlets Config: no hub is started."""

from __future__ import annotations

import os
import stat
import sys

from support.site import site_config
from traitlets.config import Config

from cartable.core import roles
from cartable.hub import layers


def site(tmp_path, **sections):
    return site_config(tmp_path, **sections)


def test_network_puts_proxy_api_and_hub_next_to_the_public_port(tmp_path):
    c = Config()
    layers.network(c, site(tmp_path, hub={"port": 9000, "ip": "0.0.0.0"}))
    assert c.JupyterHub.bind_url == "http://0.0.0.0:9000/"
    assert c.ConfigurableHTTPProxy.api_url == "http://127.0.0.1:9001"
    assert c.JupyterHub.hub_bind_url == "http://127.0.0.1:9002"


def test_state_keeps_secrets_private_and_homes_traversable(tmp_path):
    c = Config()
    cfg = site(tmp_path)
    layers.state(c, cfg)
    assert c.JupyterHub.db_url == f"sqlite:///{tmp_path / 'state' / 'jupyterhub.sqlite'}"
    secret = c.JupyterHub.cookie_secret_file
    assert stat.S_IMODE(os.stat(secret).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(secret)).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(cfg.state_dir).st_mode) == 0o711
    # a secret is made once and then kept
    first = open(secret).read()
    layers.state(Config(), cfg)
    assert open(secret).read() == first


def test_lifecycle_and_proxy_follow_cleanup_setting(tmp_path):
    for keep in (True, False):
        c = Config()
        cfg = site(tmp_path, hub={"cleanup_servers_on_stop": keep})
        layers.lifecycle(c, cfg)
        layers.proxy(c, cfg)
        assert c.JupyterHub.cleanup_servers is keep
        assert c.JupyterHub.cleanup_proxy is keep
    assert c.ConfigurableHTTPProxy.command[0].endswith("configurable-http-proxy")


def test_local_authentication(tmp_path):
    c = Config()
    layers.authentication(c, site(tmp_path, auth={"admins": ["root1"], "local": {"max_failures": 3,
                                                                                 "force_password_change": False}}))
    assert c.JupyterHub.authenticator_class == "cartable-local"
    assert c.CartableAuthenticator.max_failures == 3
    assert c.CartableAuthenticator.force_password_change is False
    assert c.Authenticator.admin_users == {"root1"}
    assert c.Authenticator.auth_refresh_age == 60


def test_rbac_binds_static_roles_to_role_groups(tmp_path):
    c = Config()
    layers.rbac(c, site(tmp_path))
    by_name = {r["name"]: r for r in c.JupyterHub.load_roles}
    assert by_name["cartable-pupil"]["groups"] == ["role:pupil"]
    assert by_name["cartable-pupil"]["scopes"] == ["self", "custom:cartable:learn"]
    for role in ("teacher", "director", "inspector"):
        scopes = by_name[f"cartable-{role}"]["scopes"]
        assert not any(s.startswith(("access:servers", "admin", "servers")) for s in scopes)
    assert set(c.JupyterHub.custom_scopes) == set(roles.CUSTOM_SCOPES)
    assert c.JupyterHub.load_groups == {}


def test_spawner_settings(tmp_path):
    c = Config()
    layers.spawner(c, site(tmp_path, spawner={"mem_limit": "512M", "isolation": "none", "start_timeout": 90}))
    assert c.JupyterHub.spawner_class == "cartable"
    assert c.Spawner.cmd == [sys.executable, "-I", "-m", "jupyterhub.singleuser"]
    assert c.Spawner.disable_user_config is True
    assert c.Spawner.mem_limit == "512M"
    assert c.Spawner.start_timeout == 90
    assert c.CartableSpawner.isolation == "none"
    # homes away from the state directory: as root /home/cartable, else beside it
    assert c.CartableSpawner.homes_dir in ("/home/cartable", str(tmp_path / "state-homes"))
    assert c.CartableSpawner.config_dir == str(tmp_path / "state" / "server-config")
    assert c.CartableSpawner.pupil_group == "cartable-pupils"
    assert "nbgrader.server_extensions.formgrader" in c.CartableSpawner.pupil_disabled_server_extensions


def test_templates_speak_the_site_language(tmp_path):
    c = Config()
    layers.templates(c, site(tmp_path, school={"language": "ar"}))
    tv = c.JupyterHub.template_vars
    assert tv["cartable_lang"] == "ar" and tv["cartable_dir"] == "rtl"
    assert tv["tr"](None)("Sign in") == "تسجيل الدخول"
    c = Config()
    layers.templates(c, site(tmp_path))
    assert c.JupyterHub.template_vars["tr"](None)("Sign in") == "Se connecter"


def test_services_run_the_roster_sync_with_its_own_token(tmp_path):
    c = Config()
    cfg = site(tmp_path)
    layers.services(c, cfg)
    names = [s["name"] for s in c.JupyterHub.services]
    assert names == [layers.SYNC_SERVICE, layers.CULLER_SERVICE]
    assert c.JupyterHub.services[0]["api_token"] == layers.read_secret(cfg, "sync_token")
    c = Config()
    layers.services(c, site(tmp_path, spawner={"idle_timeout": 0}))
    assert [s["name"] for s in c.JupyterHub.services] == [layers.SYNC_SERVICE]


def test_apply_runs_every_layer(tmp_path):
    c = layers.apply(Config(), site(tmp_path))
    assert c.JupyterHub.authenticator_class == "cartable-local"
    assert c.JupyterHub.spawner_class == "cartable"
    assert c.JupyterHub.template_paths
