"""Roster import: file checks with line numbers, all-or-nothing, idempotence, rollover, accounts CLI."""

from __future__ import annotations

import csv
import stat
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import func, select, text

from cartable.core import config
from cartable.core.db import (
    Credential,
    Database,
    Enrollment,
    Inspection,
    Person,
    RosterImport,
    SchoolClass,
    Teaching,
)
from cartable.hub import accounts, roster
from cartable.hub.accounts import Outcome, Policy

REPO = Path(__file__).resolve().parents[3]
DEMO = REPO / "courses" / "demo" / "roster.csv"
DATA = Path(__file__).parent / "data"
NEXT_YEAR = DATA / "roster_2027.csv"
BAD = DATA / "roster_bad.csv"
DEMO_USERS = 18



@pytest.fixture
def cfg(tmp_path):
    return config.from_dict({"school": {"name": "Lycée Test", "code": "TST"}, "hub": {"state_dir": str(tmp_path)}})


@pytest.fixture
def db(tmp_path):
    d = Database("sqlite:///" + str(tmp_path / "c.sqlite"))
    yield d
    d.dispose()


def count(db, model, *where) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def problems(report) -> list[tuple[int | None, str]]:
    return sorted(((p.line, p.message) for p in report.errors), key=lambda x: (x[0] or 0, x[1]))


def write_csv(path: Path, rows: list[list[str]], sep=",", bom=False) -> Path:
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as f:
        csv.writer(f, delimiter=sep).writerows(rows)
    return path


def demo_rows() -> list[list[str]]:
    with DEMO.open(encoding="utf-8") as f:
        return list(csv.reader(f))


def login(db, username, password) -> Outcome:
    return accounts.check_login(db, username, password, Policy(force_password_change=True))


# ---------------------------------------------------------------------------------------
# A good file
# ---------------------------------------------------------------------------------------


def test_demo_import_creates_structure(cfg, db):
    r = roster.import_file(cfg, db, DEMO)
    assert r.ok and r.applied, r.render_errors()
    assert r.changes.counts() == {"created": DEMO_USERS, "updated": 0, "deactivated": 0, "unchanged": 0,
                                  "classes_created": 2, "classes_updated": 0, "classes_removed": 0}
    assert r.role_counts() == {"pupil": 14, "teacher": 2, "director": 1, "inspector": 1}
    assert {c: k.pupils for c, k in r.classes.items()} == {"2BSM1": 7, "2BPC1": 7}
    assert count(db, Person) == DEMO_USERS
    assert count(db, SchoolClass, SchoolClass.school == "TST", SchoolClass.year == "2026-2027") == 2
    assert count(db, Enrollment) == 14
    assert count(db, Credential) == DEMO_USERS
    with db.session() as s:
        k = s.scalar(select(SchoolClass).where(SchoolClass.code == "2BSM1"))
        assert (k.level, k.stream) == ("2e année Bac", "Sciences Mathématiques A")
        teach = sorted((t.username, t.school_class.code, t.subject) for t in s.scalars(select(Teaching)))
        assert teach == [("be812345", "2BPC1", "maths"), ("be812345", "2BSM1", "maths"),
                         ("ee456789", "2BPC1", "physique-chimie"), ("ee456789", "2BSM1", "physique-chimie")]
        insp = [(i.username, i.school, i.year, i.subject) for i in s.scalars(select(Inspection))]
        assert insp == [("d789012", "TST", "2026-2027", "maths")]
        p = s.get(Person, "j130012345")
        assert (p.national_id, p.role, p.school, p.last_name, p.first_name, p.last_name_ar, p.first_name_ar,
                p.birth_date, p.active, p.last_year) == ("J130012345", "pupil", "TST", "El Amrani", "Amine",
                                                         "العمراني", "أمين", "2008-04-12", True, "2026-2027")
        assert s.get(Person, "j130012350").language == "ar"
        assert all(c.must_change for c in s.scalars(select(Credential)))
    assert count(db, RosterImport) == 1
    # every new account has its password in the report (in memory only) and it works
    assert sorted(e.username for e in r.slips) == sorted(r.changes.created)
    slip = next(e for e in r.slips if e.username == "be812345")
    assert slip.classes == ["2BSM1", "2BPC1"] and slip.role == "teacher"
    assert login(db, "j130012345", next(e.password for e in r.slips if e.username == "j130012345")) \
        == Outcome.MUST_CHANGE


def test_passwords_stored_only_as_argon2_hashes(cfg, db, tmp_path):
    r = roster.import_file(cfg, db, DEMO)
    passwords = [e.password for e in r.slips]
    assert len(passwords) == DEMO_USERS and all(len(p) == 10 for p in passwords)
    with db.session() as s:
        hashes = list(s.scalars(select(Credential.password_hash)))
    assert len(hashes) == DEMO_USERS and all(h.startswith("$argon2id$") for h in hashes)
    db.dispose()
    raw = b""
    for f in tmp_path.glob("c.sqlite*"):
        raw += f.read_bytes()
    for p in passwords:
        assert p.encode() not in raw
    assert not (tmp_path / "slips").exists()  # the library writes no file; the CLI does


def test_reimport_is_idempotent(cfg, db):
    first = roster.import_file(cfg, db, DEMO)
    with db.session() as s:
        stamps = {p.username: p.updated_at for p in s.scalars(select(Person))}
        hashes = {c.username: c.password_hash for c in s.scalars(select(Credential))}
    again = roster.import_file(cfg, db, DEMO)
    assert again.ok and again.applied
    assert again.changes.counts() == {"created": 0, "updated": 0, "deactivated": 0, "unchanged": DEMO_USERS,
                                      "classes_created": 0, "classes_updated": 0, "classes_removed": 0}
    assert again.slips == [] and not again.recorded
    assert "Comptes : 0 créés, 0 modifiés, 0 désactivés, 18 inchangés" in again.render_preview("fr")
    assert "Accounts: 0 created, 0 updated, 0 deactivated, 18 unchanged" in again.render_preview("en")
    with db.session() as s:
        assert {p.username: p.updated_at for p in s.scalars(select(Person))} == stamps
        assert {c.username: c.password_hash for c in s.scalars(select(Credential))} == hashes
    assert count(db, RosterImport) == 1
    assert count(db, Enrollment) == 14 and count(db, Teaching) == 4 and count(db, Inspection) == 1
    pw = next(e.password for e in first.slips if e.username == "a345678")
    assert login(db, "a345678", pw) == Outcome.MUST_CHANGE


def test_dry_run_applies_nothing(cfg, db):
    r = roster.import_file(cfg, db, DEMO, dry_run=True)
    assert r.ok and not r.applied and r.slips == []
    assert r.changes.counts()["created"] == DEMO_USERS and r.changes.counts()["classes_created"] == 2
    assert "Simulation (--dry-run) : rien n'a été modifié." in r.render_preview("fr")
    for model in (Person, Credential, SchoolClass, Enrollment, Teaching, Inspection, RosterImport):
        assert count(db, model) == 0, model


def test_names_and_role_changes_update_people_and_keep_passwords(cfg, db, tmp_path):
    first = roster.import_file(cfg, db, DEMO)
    pw = {e.username: e.password for e in first.slips}
    rows = demo_rows()
    head = rows[0]
    for row in rows[1:]:
        if row[1] == "EE456789":
            row[head.index("nom")] = "El Idrissi Bensaid"
        if row[1] == "A345678":  # the director becomes an inspector of every subject
            row[0], row[head.index("matieres")] = "inspecteur", ""
    r = roster.import_file(cfg, db, write_csv(tmp_path / "changed.csv", rows))
    assert r.ok, r.render_errors()
    assert r.changes.updated == {"ee456789": ["last_name"], "a345678": ["role", "inspection"]}
    assert len(r.changes.unchanged) == DEMO_USERS - 2 and r.slips == [] and r.recorded
    with db.session() as s:
        assert s.get(Person, "ee456789").last_name == "El Idrissi Bensaid"
        assert s.get(Person, "a345678").role == "inspector"
        assert sorted(s.execute(select(Inspection.username, Inspection.subject)).all()) == [
            ("a345678", "*"), ("d789012", "maths")]
    assert login(db, "a345678", pw["a345678"]) == Outcome.MUST_CHANGE
    assert count(db, RosterImport) == 2


# ---------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------


def test_every_row_error_with_its_line(cfg, db):
    r = roster.import_file(cfg, db, BAD)
    assert not r.ok and not r.applied
    assert problems(r) == [
        (3, "unknown role {value!r}; write élève, enseignant, directeur or inspecteur"),
        (4, "the identifier {value!r} is not valid: use only unaccented letters, digits, '.', '_' and '-' (at most 64, "
            "starting with a letter or a digit)"),
        (5, "the {column} column is empty; give the name in Latin letters"),
        (6, "a pupil must have exactly one class; this line has none"),
        (7, "a pupil must have exactly one class; this line has {count}: {classes}"),
        (8, "the school year is missing; write it as 2026-2027"),
        (9, "the school year {value} differs from {year} (line {other}); a file holds one school year"),
        (10, "the birth date {value!r} is not valid; write it as 2009-03-14 or 14/03/2009"),
        (11, "the language {value!r} is not valid; write fr, ar or en, or leave it empty"),
        (12, "the identifier {value} is already on line {other}; each person appears once (only teachers may take "
             "several lines)"),
        (13, "the class {value} has no pupil in this file; check its spelling or add its pupils"),
        (15, "the identifier {value} is already on line {other} with another name; a teacher may be on several lines "
             "only with the same name"),
        (16, "the school year {value!r} is not valid; write it as 2026-2027"),
        (17, "{value!r} in column {column} is not in Latin letters; put the Arabic spelling in {column}_ar"),
        (18, "the identifier is missing; give the national ID (for pupils the Massar code)"),
        (19, "the e-mail address {value!r} is not valid"),
    ]
    text_ = r.render_errors()
    assert "roster_bad.csv : 16 erreur(s) ; rien n'a été modifié." in text_
    assert "ligne 12 : l'identifiant J130012345 figure déjà ligne 2" in text_
    assert "line 12: the identifier J130012345 is already on line 2" in text_
    assert "ligne 7 : un élève doit avoir exactement une classe ; cette ligne en a 2 : 2BSM1, 2BPC1" in text_
    assert "line 9: the school year 2027-2028 differs from 2026-2027 (line 2)" in text_
    lines = text_.splitlines()
    i = lines.index("  ligne 13 : la classe 2BXX9 n'a aucun élève dans ce fichier ; vérifiez son orthographe ou "
                    "ajoutez ses élèves")
    assert lines[i + 1] == "    line 13: the class 2BXX9 has no pupil in this file; check its spelling or add its pupils"
    assert count(db, Person) == 0 and count(db, SchoolClass) == 0


def test_nothing_applied_unless_whole_file_is_valid(cfg, db, tmp_path):
    roster.import_file(cfg, db, DEMO)
    rows = demo_rows()
    rows[1][2] = "Amrani-Changed"  # a valid change on line 2 ...
    rows.append(["élève", "J199999999", "Nouveau", "Eleve", "", "", "2BSM1", "", "2026-2027", "", "", "", "", "xx"])
    r = roster.import_file(cfg, db, write_csv(tmp_path / "half.csv", rows))  # ... and a bad language on line 20
    assert problems(r) == [(20, "the language {value!r} is not valid; write fr, ar or en, or leave it empty")]
    assert not r.applied
    with db.session() as s:
        assert s.get(Person, "j130012345").last_name == "El Amrani"
        assert s.get(Person, "j199999999") is None
    assert count(db, RosterImport) == 1


def test_older_year_is_refused(cfg, db):
    assert roster.import_file(cfg, db, NEXT_YEAR).ok
    r = roster.import_file(cfg, db, DEMO)
    assert problems(r) == [(2, "the school year {value} is older than the year already imported for this school "
                               "({current}); import a file of {current} or later")]
    assert "line 2: the school year 2026-2027 is older than the year already imported for this school (2027-2028)" \
        in r.render_errors()
    assert count(db, Person) == 9


def test_file_level_errors(cfg, db, tmp_path):
    def only_error(path):
        r = roster.import_file(cfg, db, path)
        assert len(r.errors) == 1 and r.errors[0].line is None, r.errors
        return r.errors[0].message, r.render_errors()

    msg, out = only_error(tmp_path / "absent.csv")
    assert msg.startswith("The file {file} does not exist")
    ods = tmp_path / "liste.ods"
    ods.write_bytes(b"PK")
    msg, out = only_error(ods)
    assert "Cartable lit les fichiers .csv et .xlsx, pas '.ods'." in out
    assert "Cartable reads .csv and .xlsx files, not '.ods'." in out
    xls = tmp_path / "liste.xls"
    xls.write_bytes(b"\xd0\xcf")
    assert only_error(xls)[0].startswith("{file} is an old Excel file (.xls)")
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("role;identifiant;nom;prenom;classe;annee_scolaire\nélève;J1;Dupré;Zoé;2A;2026-2027\n"
                       .encode("cp1252"))
    assert only_error(latin1)[0].startswith("{file} is not UTF-8 text")
    empty = tmp_path / "empty.csv"
    empty.write_text("\n\n")
    assert only_error(empty)[0].startswith("{file} is empty")
    header_only = write_csv(tmp_path / "header.csv", [demo_rows()[0]])
    assert only_error(header_only)[0].startswith("The file has no rows of people")
    no_year = write_csv(tmp_path / "noyear.csv", [r[:8] for r in demo_rows()])
    msg, out = only_error(no_year)
    assert msg.startswith("The required column {column} is missing")
    assert "La colonne obligatoire annee_scolaire manque" in out
    twice = write_csv(tmp_path / "twice.csv", [r + [r[1]] for r in demo_rows()[:1]] +
                      [r + [r[1]] for r in demo_rows()[1:]])
    twice.write_text(twice.read_text().replace("langue,identifiant", "langue,CNE", 1))
    msg, out = only_error(twice)
    assert "Columns identifiant, CNE all mean identifiant" in out
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"this is not a zip file")
    assert only_error(junk)[0].startswith("{file} cannot be read ({detail})")
    assert count(db, Person) == 0


# ---------------------------------------------------------------------------------------
# Formats
# ---------------------------------------------------------------------------------------


def test_semicolon_csv_with_bom_and_french_headers(cfg, db, tmp_path):
    rows = demo_rows()
    rows[0] = ["Rôle", "Code Massar", "NOM", "Prénom", "Nom_AR", "prénom_ar", "Classe", "Matières", "Année scolaire",
               "Niveau", "Filière", "Date de naissance", "E-mail", "Langue"]
    for row in rows[1:]:
        if row[11]:
            y, m, d = row[11].split("-")
            row[11] = f"{d}/{m}/{y}"
    path = write_csv(tmp_path / "massar.csv", rows, sep=";", bom=True)
    assert path.read_bytes().startswith(b"\xef\xbb\xbfR\xc3\xb4le;Code Massar;")
    r = roster.import_file(cfg, db, path)
    assert r.ok, r.render_errors()
    assert r.changes.counts()["created"] == DEMO_USERS
    assert db.person("j130012345").birth_date == "2008-04-12"
    assert count(db, Teaching) == 4  # "2BSM1;2BPC1" quoted inside a ;-separated file
    # a bad line in a ;-file is reported with its own line number (rows[5] is line 6)
    rows[5][1] = "J13 0012348"
    r = roster.import_file(cfg, db, write_csv(tmp_path / "bad.csv", rows, sep=";", bom=True))
    assert [(p.line, p.params) for p in r.errors] == [(6, {"value": "J13 0012348"})]


def test_xlsx_first_sheet_with_dates_and_line_numbers(cfg, db, tmp_path):
    df = pd.read_csv(DEMO, dtype=str, keep_default_na=False)
    df["date_naissance"] = pd.to_datetime(df["date_naissance"].replace("", None))
    path = tmp_path / "roster.xlsx"
    with pd.ExcelWriter(path) as w:
        df.to_excel(w, sheet_name="Liste", index=False)
        pd.DataFrame({"x": [1]}).to_excel(w, sheet_name="Autre", index=False)
    r = roster.import_file(cfg, db, path)
    assert r.ok, r.render_errors()
    assert r.changes.counts()["created"] == DEMO_USERS and r.role_counts()["pupil"] == 14
    assert db.person("k140033413").birth_date == "2008-08-25"
    assert db.person("k140033413").first_name_ar == "فتحية"
    df.loc[3, "classe"] = ""  # sheet row 5 (row 1 is the header)
    df.loc[6, "langue"] = "de"  # sheet row 8
    bad = tmp_path / "bad.xlsx"
    df.to_excel(bad, index=False)
    r = roster.import_file(cfg, db, bad)
    assert problems(r) == [(5, "a pupil must have exactly one class; this line has none"),
                           (8, "the language {value!r} is not valid; write fr, ar or en, or leave it empty")]


def test_teacher_on_several_lines_adds_classes_and_subjects(cfg, db, tmp_path):
    rows = demo_rows()
    rows.append(["Professeur", "be812345", "BENNANI", "karim", "", "", "2BSM1", "Informatique ; SVT", "2026-2027",
                 "", "", "", "", ""])
    r = roster.import_file(cfg, db, write_csv(tmp_path / "r.csv", rows))
    assert r.ok, r.render_errors()
    assert r.entries["be812345"].lines == [16, 20]
    with db.session() as s:
        got = sorted(s.execute(select(Teaching.subject, SchoolClass.code).join(SchoolClass)
                               .where(Teaching.username == "be812345")).all())
    assert got == [("informatique", "2BSM1"), ("maths", "2BPC1"), ("maths", "2BSM1"), ("svt", "2BSM1")]


# ---------------------------------------------------------------------------------------
# Rollover
# ---------------------------------------------------------------------------------------


def test_rollover_keeps_last_year_and_deactivates_leavers(cfg, db):
    first = roster.import_file(cfg, db, DEMO)
    pw = {e.username: e.password for e in first.slips}
    r = roster.import_file(cfg, db, NEXT_YEAR)
    assert r.ok, r.render_errors()
    assert r.changes.previous_year == "2026-2027"
    assert sorted(r.changes.created) == ["j140011111", "j140011112", "j140022221", "k150033331"]
    assert sorted(r.changes.updated) == ["a345678", "be812345", "ee456789", "j130012349", "j130022305"]
    assert r.changes.updated["a345678"] == ["last_year"]
    assert len(r.changes.deactivated) == 13 and "d789012" in r.changes.deactivated
    assert "j130012345" in r.changes.deactivated
    assert sorted(e.username for e in r.slips) == sorted(r.changes.created)
    assert "Nouvelle année scolaire : 2027-2028 succède à 2026-2027" in r.render_preview("fr")
    assert db.current_year("TST") == "2027-2028"
    with db.session() as s:
        years = sorted(s.execute(select(SchoolClass.year, SchoolClass.code)).all())
        assert years == [("2026-2027", "2BPC1"), ("2026-2027", "2BSM1"), ("2027-2028", "2BPC1"), ("2027-2028", "2BSM1")]
        by_year = dict(s.execute(select(SchoolClass.year, func.count(Enrollment.id)).join(Enrollment)
                                 .group_by(SchoolClass.year)).all())
        assert by_year == {"2026-2027": 14, "2027-2028": 6}
        assert count(db, Teaching) == 8
        assert sorted(s.execute(select(Inspection.year, Inspection.username)).all()) == [("2026-2027", "d789012")]
        gone = s.get(Person, "j130012345")
        assert gone is not None and gone.active is False and gone.last_year == "2026-2027"
        assert s.get(Credential, "j130012345") is not None
        assert s.get(Person, "j130012349").last_year == "2027-2028"
    assert login(db, "j130012345", pw["j130012345"]) == Outcome.INACTIVE
    assert login(db, "d789012", pw["d789012"]) == Outcome.INACTIVE
    assert login(db, "j130012349", pw["j130012349"]) == Outcome.MUST_CHANGE
    # the new year's file again: nothing to do
    again = roster.import_file(cfg, db, NEXT_YEAR)
    assert again.changes.counts() == {"created": 0, "updated": 0, "deactivated": 0, "unchanged": 9,
                                      "classes_created": 0, "classes_updated": 0, "classes_removed": 0}


def test_deactivation_spares_administrators(cfg, db):
    with db.session() as s:
        s.add(Person(username="admin", national_id="admin", role="admin", school="TST", last_name="A", first_name="B"))
    roster.import_file(cfg, db, DEMO)
    r = roster.import_file(cfg, db, NEXT_YEAR)
    assert "admin" not in r.changes.deactivated
    assert db.person("admin").active is True


# ---------------------------------------------------------------------------------------
# Slips and the credentials CSV
# ---------------------------------------------------------------------------------------


def test_slips_html(cfg, db, tmp_path):
    from cartable.hub import slips

    r = roster.import_file(cfg, db, DEMO)
    path = slips.write_slips(tmp_path / "s.html", r.slips, "Lycée Test", "https://cartable.example/", True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    html = path.read_text(encoding="utf-8")
    assert html.count('<section class="card">') == DEMO_USERS
    assert html.count('<div class="page">') == 3  # 2BPC1, 2BSM1, staff: 7, 7 and 4 cards
    for e in r.slips:
        assert f'<td class="secret">{e.password}</td>' in html
    assert "Amine El Amrani" in html and '<div class="name-ar" dir="rtl" lang="ar">أمين العمراني</div>' in html
    assert '<p class="help" dir="rtl" lang="ar">سجّل الدخول' in html
    assert "Connectez-vous avec cet identifiant et ce mot de passe." in html
    assert "À la première connexion, vous choisirez votre propre mot de passe." in html
    assert "@page { size: A4;" in html and "break-after: page" in html
    assert "https://cartable.example/" in html and "Lycée Test" in html
    assert html.index("2BPC1 — 1/1") < html.index("2BSM1 — 1/1") < html.index("Personnel — 1/1")
    many = [slips.SlipEntry(f"u{i}", "pw", "pupil", "A", "B", classes=["1A"]) for i in range(17)]
    assert slips.render(many, "X").count('<div class="page">') == 3  # 8 cards a page
    assert "choisirez" not in slips.render(many, "X", must_change=False)


def test_credentials_csv_mode_and_header(cfg, db, tmp_path):
    from cartable.hub import slips

    r = roster.import_file(cfg, db, DEMO)
    out = tmp_path / "creds.csv"
    out.write_text("old")
    out.chmod(0o644)
    slips.write_credentials(out, r.slips)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    rows = list(csv.reader(out.open(encoding="utf-8")))
    assert rows[0] == ["username", "password", "role", "class"]
    assert len(rows) == DEMO_USERS + 1
    assert ["be812345", next(e.password for e in r.slips if e.username == "be812345"), "teacher",
            "2BSM1;2BPC1"] in rows
    assert [row for row in rows if row[0] == "d789012"][0][2:] == ["inspector", ""]


# ---------------------------------------------------------------------------------------
# The command line
# ---------------------------------------------------------------------------------------


@pytest.fixture
def cli(tmp_path):
    from cartable.cli import main

    conf = tmp_path / "cartable.yaml"
    conf.write_text(yaml.safe_dump({"school": {"name": "Lycée Test", "code": "TST"},
                                    "hub": {"state_dir": str(tmp_path / "state")}}, allow_unicode=True))
    runner = CliRunner()

    def run(*args):
        return runner.invoke(main, ["-c", str(conf), *map(str, args)], catch_exceptions=False)

    run.state = tmp_path / "state"
    return run


def test_cli_import_with_outputs(cli, tmp_path):
    r = cli("roster", "import", DEMO, "--dry-run")
    assert r.exit_code == 0, r.output
    assert "Comptes : 18 créés, 0 modifiés, 0 désactivés, 0 inchangés" in r.stdout
    assert "Simulation (--dry-run) : rien n'a été modifié." in r.stdout
    assert not (cli.state / "slips").exists()
    r = cli("roster", "import", DEMO, "--slips", tmp_path / "s.html", "--credentials-out", tmp_path / "c.csv")
    assert r.exit_code == 0, r.output
    assert "Personnes dans le fichier : 14 élèves, 2 enseignants, 1 directeurs, 1 inspecteurs" in r.stdout
    assert "2BSM1 : 7 élèves [2e année Bac — Sciences Mathématiques A]" in r.stdout
    assert f"Fiches d'identifiants : {tmp_path / 's.html'}" in r.stdout
    assert stat.S_IMODE((tmp_path / "c.csv").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "s.html").stat().st_mode) == 0o600
    assert len((tmp_path / "c.csv").read_text().splitlines()) == DEMO_USERS + 1
    assert not (cli.state / "slips").exists()
    r = cli("roster", "import", DEMO)
    assert r.exit_code == 0
    assert "Comptes : 0 créés, 0 modifiés, 0 désactivés, 18 inchangés" in r.stdout
    assert "Rien à modifier" in r.stdout and not (cli.state / "slips").exists()


def test_cli_import_default_slips_and_errors(cli, tmp_path):
    r = cli("roster", "import", NEXT_YEAR)
    assert r.exit_code == 0, r.output
    files = list((cli.state / "slips").glob("2027-2028-*.html"))
    assert len(files) == 1 and stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert f"Fiches d'identifiants : {files[0]}" in r.stdout
    assert "supprimez ce fichier" in r.stdout
    assert files[0].read_text(encoding="utf-8").count('<section class="card">') == 9
    r = cli("roster", "import", BAD)
    assert r.exit_code == 1
    assert "ligne 3 : rôle inconnu 'surveillant'" in r.stderr
    assert "line 3: unknown role 'surveillant'" in r.stderr
    r = cli("roster", "import", tmp_path / "nope.xlsx")
    assert r.exit_code == 1 and "n'existe pas" in r.stderr and "does not exist" in r.stderr
    r = cli("roster", "import", DEMO, "--slips", tmp_path / "missing-dir" / "s.html")
    assert r.exit_code == 2 and "Rien n'a été modifié." in r.stderr and "Nothing was changed." in r.stderr


def test_cli_accounts(cli, tmp_path):
    assert cli("roster", "import", DEMO, "--credentials-out", tmp_path / "c.csv").exit_code == 0
    first = {row[0]: row[1] for row in csv.reader((tmp_path / "c.csv").open())}
    r = cli("accounts", "list", "--class", "2bsm1", "--role", "élève")
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["identifiant", "nom", "rôle", "classe", "actif", "bloqué", "à", "changer"]
    assert len(lines) == 1 + 7 + 1 and lines[-1] == "7 comptes."
    row = next(line for line in lines if line.startswith("j130012345 "))
    assert row.split() == ["j130012345", "El", "Amrani", "Amine", "élève", "2BSM1", "oui", "non", "oui"]
    assert cli("accounts", "list", "--role", "prof").stdout.splitlines()[-1] == "2 comptes."
    r = cli("accounts", "list", "--role", "gardien")
    assert r.exit_code == 1 and "Rôle inconnu gardien" in r.stderr and "Unknown role gardien" in r.stderr

    r = cli("accounts", "reset-password", "J130012345", "--slips", tmp_path / "one.html")
    assert r.exit_code == 0, r.output
    assert "Nouveau mot de passe pour j130012345 ; le compte est débloqué." in r.stdout
    html = (tmp_path / "one.html").read_text(encoding="utf-8")
    assert html.count('<section class="card">') == 1 and stat.S_IMODE((tmp_path / "one.html").stat().st_mode) == 0o600
    cfg = config.load(tmp_path / "cartable.yaml")
    from cartable.core.db import for_config

    db = for_config(cfg)
    assert login(db, "j130012345", first["j130012345"]) == Outcome.BAD

    # a pupil who chose their own password is left alone by --only-new, reset by --all
    accounts.set_password(db, "j130012346", "choisi-par-moi", must_change=False)
    with db.session() as s:
        s.get(Credential, "j130012346").last_login = s.get(Credential, "j130012346").password_set_at
    r = cli("accounts", "slips", "--class", "2BSM1", "--out", tmp_path / "cls.html")
    assert r.exit_code == 0, r.output
    assert "6 nouveaux mots de passe pour 2BSM1." in r.stdout
    assert (tmp_path / "cls.html").read_text(encoding="utf-8").count('<section class="card">') == 6
    assert login(db, "j130012346", "choisi-par-moi") == Outcome.OK
    r = cli("accounts", "slips", "--class", "2BSM1", "--all", "--out", tmp_path / "all.html")
    assert "7 nouveaux mots de passe pour 2BSM1." in r.stdout
    assert login(db, "j130012346", "choisi-par-moi") == Outcome.BAD
    r = cli("accounts", "slips", "--class", "1XX")
    assert r.exit_code == 1
    assert "Aucune classe 1XX en 2026-2027. Classes : 2BPC1, 2BSM1." in r.stderr
    assert "No class 1XX in 2026-2027. Classes: 2BPC1, 2BSM1." in r.stderr

    for _i in range(5):
        login(db, "j130022301", "wrong")
    assert login(db, "j130022301", "wrong") == Outcome.LOCKED
    assert "bloqué" in cli("accounts", "list", "--class", "2BPC1").stdout
    r = cli("accounts", "unlock", "j130022301")
    assert r.exit_code == 0 and "Compte j130022301 débloqué." in r.stdout
    with db.session() as s:
        assert s.get(Credential, "j130022301").locked_until is None
    r = cli("accounts", "unlock", "personne")
    assert r.exit_code == 1
    assert r.stderr.splitlines() == ["Aucun compte personne dans l'établissement TST.",
                                     "No account personne in school TST."]
    r = cli("accounts", "reset-password", "personne")
    assert r.exit_code == 1 and "No account personne in school TST." in r.stderr
    db.dispose()


# ---------------------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------------------


def test_import_and_rollover_on_postgresql(cfg, postgres):
    db = Database(postgres.new_database())
    try:
        assert roster.import_file(cfg, db, DEMO).changes.counts()["created"] == DEMO_USERS
        assert roster.import_file(cfg, db, DEMO).changes.counts()["unchanged"] == DEMO_USERS
        r = roster.import_file(cfg, db, NEXT_YEAR)
        assert (len(r.changes.created), len(r.changes.deactivated)) == (4, 13)
        with db.session() as s:
            assert s.execute(text("select count(*) from cartable_enrollment")).scalar() == 20
    finally:
        db.dispose()


def test_every_roster_message_is_translated():
    from babel.messages.extract import extract_from_file

    from cartable.core.i18n import gettext_for

    ids = {msg for f in ("hub/roster.py", "hub/slips.py", "hub/roster_cli.py")
           for _l, msg, _c, _x in extract_from_file("python", REPO / f, keywords={"_": None})}
    assert len(ids) > 80
    for lang in ("fr", "ar"):
        missing = sorted(m for m in ids if gettext_for(lang)(m) == m)
        assert missing == [], (lang, missing)
    assert gettext_for("ar")("Password") == "كلمة المرور"
