"""``cartable config``, ``cartable hub`` and ``cartable demo`` commands."""

from __future__ import annotations

import csv
import os
import shutil
import sys
from pathlib import Path

import click
import yaml

from cartable.core import config as site_config
from cartable.core.i18n import _, bilingual

CONFIG_PY = Path(__file__).with_name("jupyterhub_config.py")


@click.group("config")
def config_cmd():
    """Check and change cartable.yaml."""


@config_cmd.command("check")
@click.pass_obj
def config_check(obj):
    """Validate cartable.yaml; exit 2 with the reasons if it is bad."""
    cfg = obj.cfg
    click.echo(bilingual(_("{path} is valid."), path=cfg.path))


@config_cmd.command("show")
@click.pass_obj
def config_show(obj):
    """Print the configuration with every default filled in."""
    click.echo(yaml.safe_dump(dict(obj.cfg), allow_unicode=True, sort_keys=False))


@config_cmd.command("set")
@click.argument("key")
@click.argument("value")
@click.pass_obj
def config_set(obj, key, value):
    """Set KEY (dotted, e.g. spawner.mem_limit) to VALUE (YAML), refusing what the schema refuses."""
    path = Path(obj.config_path or os.environ.get(site_config.ENV_VAR) or "cartable.yaml")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
    node = data
    parts = key.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = yaml.safe_load(value)
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    problems = site_config.validate(data, text)
    if problems:
        click.echo(str(site_config.ConfigError(str(path), problems)), err=True)
        sys.exit(2)
    tmp = path.with_suffix(".yaml.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    click.echo(bilingual(_("{key} set in {path}; restart the hub to apply it."), key=key, path=path))


def _warn_isolation(cfg):
    from cartable.hub.layers import isolation_warning

    message = isolation_warning(cfg)
    if message:
        click.secho(message, fg="red", bold=True, err=True)


@click.group("hub")
def hub_cmd():
    """Run the school's hub."""


@hub_cmd.command("start", context_settings={"ignore_unknown_options": True})
@click.argument("jupyterhub_args", nargs=-1, type=click.UNPROCESSED)
@click.pass_obj
def hub_start(obj, jupyterhub_args):
    """Start JupyterHub for this site (extra arguments go to jupyterhub)."""
    cfg = obj.cfg
    cfg.state_dir.mkdir(parents=True, exist_ok=True)
    _warn_isolation(cfg)
    env = dict(os.environ, CARTABLE_CONFIG=str(cfg.path))
    exe = shutil.which("jupyterhub", path=os.path.dirname(sys.executable)) or "jupyterhub"
    click.echo(bilingual(_("Cartable hub of {school} on http://{ip}:{port}/ (Ctrl-C stops it)"),
                         school=cfg["school"]["name"], ip=cfg["hub"]["ip"], port=cfg["hub"]["port"]))
    sys.stdout.flush()
    sys.exit(supervise([exe, "-f", str(CONFIG_PY), *jupyterhub_args], env, cfg))


def supervise(cmd, env, cfg, grace: float = 15.0) -> int:
    """Run JupyterHub until it exits; on Ctrl-C or SIGTERM ask it to stop, and make sure
    its services (and, with hub.cleanup_servers_on_stop, pupils' servers) stop too."""
    import signal
    import subprocess
    import time

    from cartable.hub import processes

    hub = subprocess.Popen(cmd, env=env, cwd=cfg.state_dir, start_new_session=True)
    asked = []

    def ask_to_stop(signum, _frame):
        if not asked:
            asked.append(time.monotonic())
            hub.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGINT, ask_to_stop)
    signal.signal(signal.SIGTERM, ask_to_stop)
    while hub.poll() is None:
        if asked and time.monotonic() - asked[0] > grace:
            hub.kill()
        time.sleep(0.2)
    if asked or cfg["hub"]["cleanup_servers_on_stop"]:
        processes.stop(processes.site_processes(cfg, servers=cfg["hub"]["cleanup_servers_on_stop"]))
    return hub.returncode if not asked else 0


@click.group("demo")
def demo_cmd():
    """The demo school."""


@demo_cmd.command("setup")
@click.argument("roster", type=click.Path(exists=True, dir_okay=False))
@click.pass_obj
def demo_setup(obj, roster):
    """Import the demo ROSTER and write fresh passwords to <state>/demo/credentials.csv."""
    from sqlalchemy import select

    from cartable.core.db import Enrollment, Person, SchoolClass, Teaching
    from cartable.hub import accounts
    from cartable.hub import roster as roster_mod

    cfg = obj.cfg
    db = obj.db()
    report = roster_mod.import_file(cfg, db, Path(roster), dry_run=False, quiet=True)
    if not report.ok:
        click.echo(report.render_errors(), err=True)
        sys.exit(1)
    out = cfg.state_dir / "demo" / "credentials.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = []
    admins = set(cfg["auth"]["admins"])
    with db.session() as s:
        classes: dict[str, set[str]] = {}
        for username, code in s.execute(select(Enrollment.username, SchoolClass.code).join(SchoolClass)).all():
            classes.setdefault(username, set()).add(code)
        for username, code in s.execute(select(Teaching.username, SchoolClass.code).join(SchoolClass)).all():
            classes.setdefault(username, set()).add(code)
        known = set(s.scalars(select(Person.username)))
        for name in sorted(admins - known):
            s.add(Person(username=name, national_id=name, role="admin", school=cfg["school"]["code"],
                         last_name="Administrateur", first_name="Cartable"))
        people = s.execute(select(Person.username, Person.role).where(Person.active.is_(True))
                           .order_by(Person.role, Person.username)).all()
    for username, role in people:
        password = accounts.generate_password(cfg["auth"]["local"]["password_length"])
        accounts.set_password(db, username, password, must_change=False)
        rows.append((username, password, role, ";".join(sorted(classes.get(username, ())))))
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["username", "password", "role", "class"])
        w.writerows(rows)
    click.echo(bilingual(_("Demo accounts and their passwords: {path}"), path=out))
