"""The catalogue matches the files, and the loader validates and answers queries."""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
import pytest
import yaml

from cartable.core import catalogue as catmod

COURSES = Path(__file__).resolve().parents[3] / "courses"
CATALOGUE = COURSES / "catalogue.yaml"

REQUIRED_TOPICS = {  # issue 5: chapters every library must cover
    "suites-numeriques", "limites-continuite", "derivation-etude-fonctions",
    "logarithme-exponentielle", "calcul-integral", "nombres-complexes", "probabilites",
    "equations-differentielles", "transformations-nucleaires", "electricite", "mecanique",
    "cinetique-chimique"}


@pytest.fixture(scope="module")
def cat():
    return catmod.load(CATALOGUE)


@pytest.fixture(scope="module")
def raw():
    return yaml.safe_load(CATALOGUE.read_text(encoding="utf-8"))


def test_catalogue_is_valid(raw):
    assert catmod.validate(raw, COURSES) == []


def test_every_notebook_is_catalogued_and_every_entry_exists(cat):
    listed = set()
    for e in cat:
        listed.add(e.path)
        listed.update(e.translations.values())
        assert cat.path_of(e).is_file()
    on_disk = {p.relative_to(COURSES).as_posix()
               for sub in ("lessons", "exercises", "exams")
               for p in (COURSES / sub).rglob("*.ipynb")}
    assert on_disk == listed


def test_library_size_and_coverage(cat):
    lessons = cat.select(kind="lesson")
    assert len(lessons) >= 12
    assert {e.chapter for e in lessons} >= REQUIRED_TOPICS
    assert len(cat.select(kind="exercises")) >= 12
    # one exercise set per lesson
    assert {e.prerequisites[0] for e in cat.select(kind="exercises")} == {e.id for e in lessons}
    exams = cat.select(kind="exam")
    assert {e.subject for e in exams} >= {"mathematiques", "physique-chimie"}
    assert sum("ar" in e.translations for e in lessons) >= 4


def test_notebook_metadata_agrees_with_catalogue(cat):
    for e in cat:
        meta = nbformat.read(cat.path_of(e), as_version=4).metadata["cartable"]
        assert meta["id"] == e.id and meta["kind"] == e.kind and meta["subject"] == e.subject
        assert meta["duration_minutes"] == e.duration_minutes
        assert sorted(meta["streams"]) == sorted(e.streams)
        if e.kind != "lesson":
            assert meta["bareme_total"] == e.points
            assert cat.assignment_dir(e).name == e.id
        if e.kind == "exam":
            assert meta["coefficient"] == e.coefficient and e.points == 20 and e.timed
        for lang, path in e.translations.items():
            tmeta = nbformat.read(COURSES / path, as_version=4).metadata["cartable"]
            assert tmeta["lang"] == lang and tmeta["id"] == e.id


def test_queries(cat):
    pc = cat.select(subject="physique-chimie", kind="exercises", stream="PC")
    assert pc and all(e.subject == "physique-chimie" and e.kind == "exercises" for e in pc)
    assert cat.get("suites").title("ar") == "المتتاليات العددية"
    assert cat.get("suites").path_for("ar").endswith(".ar.ipynb")
    assert cat.get("limites-continuite").path_for("ar") == cat.get("limites-continuite").path
    grouped = cat.by_subject(kind="lesson")
    assert set(grouped) == {"mathematiques", "physique-chimie"}
    assert cat.select(stream="SVT") == []


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d["entries"][0]["title"].pop("ar"), "'ar' is a required property"),
    (lambda d: d["entries"][0].update(kind="cours"), "'cours' is not one of"),
    (lambda d: d["entries"][0].update(path="../../etc/passwd.ipynb"), "path"),
    (lambda d: d["entries"][-1].pop("coefficient"), "'coefficient' is a required property"),
    (lambda d: d["entries"][1].update(prerequisites=["nope"]), "unknown prerequisite 'nope'"),
    (lambda d: d["entries"].append(copy.deepcopy(d["entries"][0])), "duplicate id"),
    (lambda d: d["entries"][0].update(path="lessons/absent.ipynb"), "missing file"),
])
def test_validation_rejects(raw, tmp_path, mutate, message):
    data = copy.deepcopy(raw)
    mutate(data)
    problems = catmod.validate(data, COURSES)
    assert any(message in p for p in problems), problems
    bad = tmp_path / "catalogue.yaml"
    bad.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(catmod.CatalogueError) as info:
        catmod.load(bad)
    assert "invalide" in info.value.translated("fr")
    assert "غير صالح" in info.value.translated("ar")
