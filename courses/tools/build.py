"""Regenerate the course library: lessons, exercise sets, exams and ``catalogue.yaml``.

    .venv/bin/python courses/tools/build.py          # write everything under courses/
    .venv/bin/python courses/tools/build.py --check  # exit 1 if a committed file is stale

The committed artefacts are the notebooks and the catalogue; this script is how they were
written. Notebooks are saved without outputs.
"""

from __future__ import annotations

import argparse
import difflib
import io
import sys
from pathlib import Path

import nbformat
import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import exams  # noqa: E402
import exercises  # noqa: E402
import lessons_ar  # noqa: E402
import lessons_fr  # noqa: E402
from graded import Sheet  # noqa: E402
from nbtools import notebook  # noqa: E402

COURSES = HERE.parent
LEVEL = "2BAC"
STREAMS = ["SM", "PC"]
MATHS, PC = "mathematiques", "physique-chimie"

# id: (subject, chapter, minutes, prerequisites, {fr, ar, en})
LESSONS = {
    "suites": (MATHS, "suites-numeriques", 40, [],
               {"fr": "Suites numériques", "ar": "المتتاليات العددية", "en": "Sequences"}),
    "limites-continuite": (MATHS, "limites-continuite", 40, [],
                           {"fr": "Limites et continuité", "ar": "النهايات والاتصال",
                            "en": "Limits and continuity"}),
    "derivation": (MATHS, "derivation-etude-fonctions", 45, ["limites-continuite"],
                   {"fr": "Dérivation et étude de fonctions", "ar": "الاشتقاق ودراسة الدوال",
                    "en": "Derivatives and the study of functions"}),
    "log-exp": (MATHS, "logarithme-exponentielle", 45, ["derivation"],
                {"fr": "Logarithme et exponentielle", "ar": "الدوال اللوغاريتمية والأسية",
                 "en": "Logarithm and exponential"}),
    "integrales": (MATHS, "calcul-integral", 45, ["log-exp"],
                   {"fr": "Calcul intégral", "ar": "حساب التكامل", "en": "Integration"}),
    "complexes": (MATHS, "nombres-complexes", 45, [],
                  {"fr": "Nombres complexes", "ar": "الأعداد العقدية", "en": "Complex numbers"}),
    "probabilites": (MATHS, "probabilites", 40, [],
                     {"fr": "Probabilités : loi binomiale", "ar": "الاحتمالات: القانون الحداني",
                      "en": "Probability: the binomial distribution"}),
    "equations-differentielles": (MATHS, "equations-differentielles", 40, ["log-exp"],
                                  {"fr": "Équations différentielles",
                                   "ar": "المعادلات التفاضلية",
                                   "en": "Differential equations"}),
    "radioactivite": (PC, "transformations-nucleaires", 40, ["log-exp"],
                      {"fr": "Décroissance radioactive", "ar": "التناقص الإشعاعي",
                       "en": "Radioactive decay"}),
    "dipole-rc": (PC, "electricite", 45, ["equations-differentielles"],
                  {"fr": "Dipôle RC", "ar": "ثنائي القطب RC", "en": "The RC circuit"}),
    "chute-verticale": (PC, "mecanique", 45, ["equations-differentielles"],
                        {"fr": "Lois de Newton : chute verticale avec frottement",
                         "ar": "قوانين نيوتن: السقوط الرأسي باحتكاك",
                         "en": "Newton's laws: vertical fall with drag"}),
    "cinetique-chimique": (PC, "cinetique-chimique", 40, [],
                           {"fr": "Cinétique chimique",
                            "ar": "التتبع الزمني لتحول كيميائي وسرعة التفاعل",
                            "en": "Chemical kinetics"}),
}

EX_PREFIX = {"fr": "Exercices — ", "ar": "تمارين — ", "en": "Exercises — "}
EXAM_TITLES = {
    "bac-blanc-maths": {"fr": "Examen blanc — Mathématiques (2e Bac PC)",
                        "ar": "امتحان تجريبي — الرياضيات (الثانية باكالوريا علوم فيزيائية)",
                        "en": "Mock exam — Mathematics (2nd year Bac, PC stream)"},
    "bac-blanc-physique-chimie": {
        "fr": "Examen blanc — Physique-Chimie (2e Bac PC)",
        "ar": "امتحان تجريبي — الفيزياء والكيمياء (الثانية باكالوريا علوم فيزيائية)",
        "en": "Mock exam — Physics and chemistry (2nd year Bac, PC stream)"},
}


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data):
        return True


def _nb_text(nb) -> str:
    buf = io.StringIO()
    nbformat.write(nb, buf)
    return buf.getvalue()


def generate():
    """``{relative path: text}`` for every generated file."""
    files, entries = {}, []
    for lid, (subject, chapter, minutes, prereq, titles) in LESSONS.items():
        meta = {"id": lid, "kind": "lesson", "subject": subject, "chapter": chapter,
                "level": LEVEL, "streams": STREAMS, "duration_minutes": minutes}
        path = f"lessons/{lid}.ipynb"
        files[path] = _nb_text(notebook(lessons_fr.LESSONS[lid], lang="fr", cartable=meta))
        entry = {"id": lid, "title": titles, "level": LEVEL, "stream": STREAMS,
                 "subject": subject, "chapter": chapter, "kind": "lesson",
                 "duration_minutes": minutes, "prerequisites": prereq, "path": path,
                 "languages": ["fr"]}
        if lid in lessons_ar.LESSONS:
            ar_path = f"lessons/{lid}.ar.ipynb"
            files[ar_path] = _nb_text(notebook(lessons_ar.LESSONS[lid], lang="ar",
                                               cartable=meta))
            entry["translations"] = {"ar": ar_path}
            entry["languages"] = ["fr", "ar"]
        entries.append(entry)

    for ex_id, (fn, lid, minutes) in exercises.SETS.items():
        subject, chapter, _m, _p, titles = LESSONS[lid]
        sheet = Sheet(ex_id)
        fn(sheet)
        sheet.finish()
        assert sheet.total == 10, (ex_id, sheet.total)
        meta = {"id": ex_id, "kind": "exercises", "subject": subject, "chapter": chapter,
                "level": LEVEL, "streams": STREAMS, "duration_minutes": minutes,
                "lesson": lid, "bareme_total": sheet.total,
                "bareme": [{"grade_id": g, "points": p, "grading": k}
                           for g, p, k in sheet.bareme]}
        path = f"exercises/{ex_id}/{ex_id}.ipynb"
        files[path] = _nb_text(notebook(sheet.cells, lang="fr", cartable=meta))
        entries.append({"id": ex_id, "title": {k: EX_PREFIX[k] + v for k, v in titles.items()},
                        "level": LEVEL, "stream": STREAMS, "subject": subject,
                        "chapter": chapter, "kind": "exercises", "duration_minutes": minutes,
                        "prerequisites": [lid], "path": path, "languages": ["fr"],
                        "points": sheet.total})

    for exam_id, (fn, info) in exams.EXAMS.items():
        sheet = Sheet(exam_id)
        fn(sheet)
        sheet.finish()
        assert sheet.total == 20, (exam_id, sheet.total)
        streams = sorted(info["coefficient"])
        meta = {"id": exam_id, "kind": "exam", "subject": info["subject"], "level": LEVEL,
                "streams": streams, "timed": True, "duration_minutes": info["minutes"],
                "coefficient": info["coefficient"], "bareme_total": sheet.total,
                "structure": [{"part": part, "points": p} for part, p in info["structure"]],
                "bareme": [{"grade_id": g, "points": p, "grading": k}
                           for g, p, k in sheet.bareme]}
        path = f"exams/{exam_id}/{exam_id}.ipynb"
        files[path] = _nb_text(notebook(sheet.cells, lang="fr", cartable=meta))
        prereq = [e["id"] for e in entries
                  if e["kind"] == "exercises" and e["subject"] == info["subject"]]
        entries.append({"id": exam_id, "title": EXAM_TITLES[exam_id], "level": LEVEL,
                        "stream": streams, "subject": info["subject"], "chapter": "bac-blanc",
                        "kind": "exam", "duration_minutes": info["minutes"],
                        "prerequisites": prereq, "path": path, "languages": ["fr"],
                        "points": sheet.total, "coefficient": info["coefficient"],
                        "timed": True})

    header = ("# Cartable course library: one entry per lesson, exercise set and exam.\n"
              "# Paths are relative to this folder. Validated by cartable.core.catalogue\n"
              "# (schema there); written by tools/build.py, may be edited by hand.\n")
    files["catalogue.yaml"] = header + yaml.dump(
        {"version": 1, "entries": entries}, Dumper=_NoAliases, allow_unicode=True,
        sort_keys=False, width=100)
    return files


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report stale files, write nothing")
    args = parser.parse_args(argv)
    stale = 0
    for rel, text in generate().items():
        path = COURSES / rel
        old = path.read_text(encoding="utf-8") if path.exists() else None
        if old == text:
            continue
        if args.check:
            stale += 1
            print(f"stale: {rel}")
            if old is not None:
                sys.stdout.writelines(list(difflib.unified_diff(
                    old.splitlines(True), text.splitlines(True), rel, rel))[:40])
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {rel}")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
