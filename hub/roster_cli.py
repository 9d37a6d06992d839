"""``cartable roster import`` and ``cartable accounts …``: the director's and IT's commands.

Output is in the site language (``school.language``); errors are shown in the site
language then in English. New passwords only ever leave memory through a slips file
or a credentials CSV, both written with mode 0600.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import zoneinfo
from pathlib import Path

import click
from sqlalchemy import select

from cartable.core.i18n import _, gettext_for, normalize
from cartable.hub import accounts, slips


def _lang(cfg) -> str:
    return normalize(cfg["school"].get("language"))


def _say(cfg, message: str, **kw) -> None:
    click.echo(gettext_for(_lang(cfg))(message).format(**kw))


def _fail(cfg, message: str, exit_code: int = 1, **kw) -> None:
    """Print ``message`` in the site language then English on stderr, and exit."""
    lang = _lang(cfg)
    lines = [gettext_for(lang)(message).format(**kw)]
    if lang != "en":
        english = message.format(**kw)
        if english != lines[0]:
            lines.append(english)
    click.echo("\n".join(lines), err=True)
    sys.exit(exit_code)


def _stamp(cfg) -> str:
    try:
        tz = zoneinfo.ZoneInfo(cfg["school"]["timezone"])
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, KeyError):
        tz = dt.UTC
    return dt.datetime.now(tz).strftime("%Y%m%d-%H%M%S")


def _default_slips_path(cfg, stem: str) -> Path:
    d = cfg.state_dir / "slips"
    d.mkdir(parents=True, exist_ok=True)
    os.chmod(d, 0o700)
    return d / f"{stem}-{_stamp(cfg)}.html"


def _check_writable(cfg, path: Path | None) -> None:
    """Refuse before anything is applied if an output file could not be written."""
    if path is None:
        return
    parent = path.resolve().parent
    if path.is_dir() or not parent.is_dir() or not os.access(parent, os.W_OK):
        _fail(cfg, _("Cannot write {path}: choose a file in an existing folder you can write to. Nothing was changed."),
              exit_code=2, path=path)


def _remind(cfg, path: Path) -> None:
    _say(cfg, _("Credential slips: {path}"), path=path)
    _say(cfg, _("Print them, hand them out, then delete this file: it holds passwords in clear."))


def _must_change(cfg) -> bool:
    return bool(cfg["auth"]["local"]["force_password_change"])


# --------------------------------------------------------------------------------------
# cartable roster
# --------------------------------------------------------------------------------------


@click.group("roster")
def roster_cmd():
    """The school's roster: people, classes and teaching assignments."""


@roster_cmd.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file and show what would change; change nothing.")
@click.option("--slips", "slips_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write printable credential slips of the new accounts to this HTML file (mode 0600).")
@click.option("--credentials-out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write username,password,role,class of the new accounts to this CSV file (mode 0600).")
@click.option("--url", "login_url", default=None, help="The login address printed on the slips.")
@click.pass_obj
def roster_import(obj, file, dry_run, slips_out, credentials_out, login_url):
    """Import FILE (CSV or XLSX, one row per person) for the school of cartable.yaml."""
    from cartable.hub import roster

    cfg = obj.cfg
    if not dry_run:
        _check_writable(cfg, slips_out)
        _check_writable(cfg, credentials_out)
    report = roster.import_file(cfg, obj.db(), file, dry_run=dry_run)
    if not report.ok:
        if report.entries:
            click.echo(report.render_preview())
        click.echo(report.render_errors(), err=True)
        sys.exit(1)
    click.echo(report.render_preview())
    if report.sync is not None:
        _say(cfg, _("The running hub was updated."))
    elif report.sync_problem:
        _say(cfg, _("The hub could not be updated now ({detail}); its sync service will apply the change."),
             detail=report.sync_problem)
    if not report.slips:
        return
    must_change = _must_change(cfg)
    school = cfg["school"]["name"]
    try:
        if credentials_out:
            slips.write_credentials(credentials_out, report.slips)
            _say(cfg, _("Passwords of the {count} new accounts: {path} (readable by you only)."),
                 count=len(report.slips), path=credentials_out)
        if slips_out or not credentials_out:
            path = slips_out or _default_slips_path(cfg, report.year)
            slips.write_slips(path, report.slips, school, login_url, must_change)
            _remind(cfg, path)
    except OSError as e:
        _fail(cfg, _("The roster was applied but the passwords could not be written ({detail}). Run cartable accounts "
                     "slips --class CLASS --all to make new ones."), detail=str(e))


# --------------------------------------------------------------------------------------
# cartable accounts
# --------------------------------------------------------------------------------------


@click.group("accounts")
def accounts_cmd():
    """Accounts of the school: list, reset passwords, print slips, unlock."""


def _memberships(s, school: str, year: str | None) -> dict[str, list[str]]:
    from cartable.core.db import Enrollment, SchoolClass, Teaching

    out: dict[str, list[str]] = {}
    if year is None:
        return out
    for model in (Enrollment, Teaching):
        rows = s.execute(select(model.username, SchoolClass.code).join(SchoolClass)
                         .where(SchoolClass.school == school, SchoolClass.year == year)).all()
        for username, code in rows:
            if code not in out.setdefault(username, []):
                out[username].append(code)
    return out


def _find_class(cfg, db, code: str) -> tuple[str, str]:
    """(year, code) of the class ``code`` of the current year, or exit."""
    from cartable.core.db import SchoolClass

    school = cfg["school"]["code"]
    year = db.current_year(school)
    with db.session() as s:
        codes = list(s.scalars(select(SchoolClass.code).where(SchoolClass.school == school, SchoolClass.year == year)))
    match = next((c for c in codes if c.upper() == code.upper()), None)
    if match is None:
        _fail(cfg, _("No class {code} in {year}. Classes: {classes}."), code=code, year=year or "-",
              classes=", ".join(sorted(codes)) or "-")
    return year, match


def _person(cfg, db, username: str):
    from cartable.core.db import Person

    with db.session() as s:
        p = s.get(Person, username.strip().lower())
        if p is None or p.school != cfg["school"]["code"]:
            _fail(cfg, _("No account {username} in school {school}."), username=username, school=cfg["school"]["code"])
        return p


@accounts_cmd.command("list")
@click.option("--class", "class_code", default=None, help="Only this class (current school year).")
@click.option("--role", default=None, help="Only this role (élève, enseignant, directeur, inspecteur, admin).")
@click.pass_obj
def accounts_list(obj, class_code, role):
    """List the school's accounts."""
    from cartable.core.db import Credential, Person, utcnow
    from cartable.hub.roster import ROLE_ALIASES, fold

    cfg, db = obj.cfg, obj.db()
    t = gettext_for(_lang(cfg))
    school = cfg["school"]["code"]
    wanted_role = None
    if role:
        wanted_role = "admin" if fold(role) in ("admin", "administrateur", "administrator") else ROLE_ALIASES.get(fold(role))
        if wanted_role is None:
            _fail(cfg, _("Unknown role {value}: write élève, enseignant, directeur, inspecteur or admin."), value=role)
    year = db.current_year(school)
    if class_code:
        year, class_code = _find_class(cfg, db, class_code)
    now = utcnow()
    rows = []
    with db.session() as s:
        classes = _memberships(s, school, year)
        q = select(Person, Credential).outerjoin(Credential).where(Person.school == school)
        for p, c in s.execute(q.order_by(Person.role, Person.last_name, Person.first_name, Person.username)).all():
            if wanted_role and p.role != wanted_role:
                continue
            mine = classes.get(p.username, [])
            if class_code and class_code not in mine:
                continue
            locked = bool(c and c.locked_until and c.locked_until > now)
            rows.append([p.username, f"{p.last_name} {p.first_name}", t(slips.ROLE_LABELS.get(p.role, p.role)),
                         ";".join(mine), t(_("yes")) if p.active else t(_("no")),
                         t(_("yes")) if locked else t(_("no")),
                         (t(_("yes")) if c.must_change else t(_("no"))) if c else "-"])
    head = [t(_("username")), t(_("name")), t(_("role")), t(_("class")), t(_("active")), t(_("locked")),
            t(_("must change"))]
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    for r in [head, *rows]:
        click.echo("  ".join(str(v).ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())
    _say(cfg, _("{count} accounts."), count=len(rows))


def _new_passwords(cfg, db, people) -> list[slips.SlipEntry]:
    must_change = _must_change(cfg)
    out = []
    for p, classes in people:
        password = accounts.generate_password(cfg["auth"]["local"]["password_length"])
        accounts.set_password(db, p.username, password, must_change=must_change)
        out.append(slips.SlipEntry(p.username, password, p.role, p.first_name, p.last_name, p.first_name_ar,
                                   p.last_name_ar, classes))
    return out


@accounts_cmd.command("reset-password")
@click.argument("username")
@click.option("--slips", "slips_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the slip to this HTML file (default: <state_dir>/slips/).")
@click.option("--url", "login_url", default=None, help="The login address printed on the slip.")
@click.pass_obj
def accounts_reset(obj, username, slips_out, login_url):
    """Give USERNAME a new generated password (and unlock it); write its slip."""
    cfg, db = obj.cfg, obj.db()
    p = _person(cfg, db, username)
    _check_writable(cfg, slips_out)
    with db.session() as s:
        classes = _memberships(s, p.school, db.current_year(p.school)).get(p.username, [])
    entries = _new_passwords(cfg, db, [(p, classes)])
    path = slips_out or _default_slips_path(cfg, f"reset-{p.username}")
    slips.write_slips(path, entries, cfg["school"]["name"], login_url, _must_change(cfg))
    _say(cfg, _("New password for {username}; the account is unlocked."), username=p.username)
    _remind(cfg, path)


@accounts_cmd.command("slips")
@click.option("--class", "class_code", required=True, help="The class (current school year).")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The HTML file to write (default: <state_dir>/slips/).")
@click.option("--only-new/--all", "only_new", default=True,
              help="Only pupils who never logged in or must still change their password (default), or every pupil.")
@click.option("--url", "login_url", default=None, help="The login address printed on the slips.")
@click.pass_obj
def accounts_slips(obj, class_code, out, only_new, login_url):
    """New passwords and slips for the pupils of a class (only hashes are stored, so reprinting resets)."""
    from cartable.core.db import Credential, Enrollment, Person, SchoolClass

    cfg, db = obj.cfg, obj.db()
    school = cfg["school"]["code"]
    year, code = _find_class(cfg, db, class_code)
    _check_writable(cfg, out)
    with db.session() as s:
        q = (select(Person, Credential).join(Enrollment, Enrollment.username == Person.username)
             .join(SchoolClass).outerjoin(Credential, Credential.username == Person.username)
             .where(SchoolClass.school == school, SchoolClass.year == year, SchoolClass.code == code,
                    Person.active.is_(True)))
        people = [(p, [code]) for p, c in s.execute(q).all()
                  if not only_new or c is None or c.must_change or c.last_login is None]
    if not people:
        _say(cfg, _("No pupil of {code} needs a new password (all have chosen theirs); use --all to reset every "
                    "pupil's password."), code=code)
        return
    entries = _new_passwords(cfg, db, people)
    path = out or _default_slips_path(cfg, f"{year}-{code}")
    slips.write_slips(path, entries, cfg["school"]["name"], login_url, _must_change(cfg))
    _say(cfg, _("{count} new passwords for {code}."), count=len(entries), code=code)
    _remind(cfg, path)


@accounts_cmd.command("unlock")
@click.argument("username")
@click.pass_obj
def accounts_unlock(obj, username):
    """Unlock USERNAME after too many failed logins (the password is unchanged)."""
    cfg, db = obj.cfg, obj.db()
    p = _person(cfg, db, username)
    if not accounts.unlock(db, p.username):
        _fail(cfg, _("{username} has no password of its own (it logs in through the identity provider)."),
              username=p.username)
    _say(cfg, _("Account {username} unlocked."), username=p.username)
