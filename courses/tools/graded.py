"""Building blocks for nbgrader exercise sets and exams (French statements).

Every question is: a locked statement cell, an answer cell (solution between markers) and an
autograded test cell (public form check + hidden exact check), or a Markdown answer graded by
the teacher. Expected values are written only inside the hidden part of test cells.
"""

from __future__ import annotations

from nbtools import answer, given, given_code, tests, written


def pts(p: float) -> str:
    s = f"{p:g}".replace(".", ",")
    return f"{s} pt" if p <= 1 else f"{s} pts"


class Sheet:
    """Collects the cells of one graded notebook and the barème."""

    def __init__(self, prefix: str, lang: str = "fr"):
        self.prefix = prefix
        self.lang = lang
        self.cells = []
        self.bareme = []  # (grade_id, points, kind)
        self._n = 0
        self.part = ""  # prefix of question ids, for exams with several exercises

    def _gid(self, qid: str) -> str:
        return f"{self.prefix}-{qid}"

    def text(self, source: str):
        self._n += 1
        self.cells.append(given(self._gid(f"texte{self._n}"), source, self.lang))

    def setup(self, extra: str = ""):
        src = f'from cartable.grading import check\ncheck.set_language("{self.lang}")'
        if extra:
            src += "\n" + extra.strip("\n")
        self.cells.append(given_code(self._gid("import"), src))

    def _qid(self, label: str) -> str:
        qid = label.replace(".", "").replace(" ", "").lower()
        return f"{self.part}-{qid}" if self.part else qid

    def _statement(self, label, points, statement):
        statement = "\n".join(line.strip() for line in statement.strip().splitlines())
        self.cells.append(given(self._gid(f"enonce-{self._qid(label)}"),
                                f"**{label}** ({pts(points)}) — {statement}", self.lang))

    def numeric(self, label, points, statement, var, solution, expected, *, unit=None,
                rel=1e-2, abs=0.0, positive=None, between=None, integer=False, name=None):
        """A numeric answer ``var``; with ``unit``, written ``(value, "unit")``."""
        qid = self._qid(label)
        name = name or var
        self._statement(label, points, statement)
        prompt = f'# {var} = (valeur, "unité")' if unit else f"# {var} = valeur"
        self.cells.append(answer(self._gid(f"rep-{qid}"), f"{var} = {solution}", prompt))
        kw = [f"name={name!r}"]
        if unit:
            kw.insert(0, f"unit={unit!r}")
        if positive is not None:
            kw.append(f"positive={positive!r}")
        if between is not None:
            kw.append(f"between={between!r}")
        if integer:
            kw.append("integer=True")
        public = f"check.numeric({var}, {', '.join(kw)})"
        hkw = [f"rel={rel!r}"] + ([f"abs={abs!r}"] if abs else []) + [f"name={name!r}"]
        if unit:
            hkw.insert(0, f"unit={unit!r}")
        hidden = f"check.expect_close({var}, {expected!r}, {', '.join(hkw)})"
        self.cells.append(tests(self._gid(f"test-{qid}"), points, public, hidden))
        self.bareme.append((self._gid(f"test-{qid}"), points, "auto"))

    def qcm(self, label, points, statement, options: dict, var, correct: str):
        qid = self._qid(label)
        opts = "\n".join(f"* **{k})** {v}" for k, v in options.items())
        self._statement(label, points, f"{statement}\n\n{opts}")
        self.cells.append(answer(self._gid(f"rep-{qid}"), f"{var} = {correct!r}",
                                 f'# {var} = "lettre"'))
        letters = "".join(options)
        public = f"check.choice({var}, {letters!r}, name={var!r})"
        hidden = f"check.expect_choice({var}, {correct!r}, name={var!r})"
        self.cells.append(tests(self._gid(f"test-{qid}"), points, public, hidden))
        self.bareme.append((self._gid(f"test-{qid}"), points, "auto"))

    def function(self, label, points, statement, fname, solution, *, sample_args, hidden,
                 returns="numbers.Real", prompt=""):
        """A small function to write; ``hidden`` holds the exact tests (plain Python)."""
        qid = self._qid(label)
        self._statement(label, points, statement)
        self.cells.append(answer(self._gid(f"rep-{qid}"), solution, prompt))
        public = (("import numbers\n" if returns.startswith("numbers") else "") +
                  f"check.function({fname}, args={sample_args if isinstance(sample_args, str) else repr(sample_args)}, returns={returns}, "
                  f"name={fname!r})")
        self.cells.append(tests(self._gid(f"test-{qid}"), points, public, hidden))
        self.bareme.append((self._gid(f"test-{qid}"), points, "auto"))

    def manual(self, label, points, statement, model):
        qid = self._qid(label)
        self._statement(label, points, statement + "\n\n*Répondez dans la cellule ci-dessous "
                        "(rédaction, justification : corrigé par l'enseignant).*")
        self.cells.append(written(self._gid(f"redaction-{qid}"), points, model, self.lang))
        self.bareme.append((self._gid(f"redaction-{qid}"), points, "manual"))

    def finish(self):
        self.cells.append(given(self._gid("fin"), """
        ## Avant de rendre

        Exécutez toutes les cellules (menu *Exécuter › Tout exécuter*), puis la cellule
        ci-dessous : elle vérifie la **forme** de vos réponses (type, unité, domaine). Elle ne
        dit pas si elles sont justes ; la correction complète se fait après le rendu.
        """, self.lang))
        self.cells.append(given_code(self._gid("autoverif"), "check.self_check()"))

    @property
    def total(self) -> float:
        return round(sum(p for _, p, _k in self.bareme), 4)


INSTRUCTIONS = """
**Consignes.** Remplacez chaque `raise NotImplementedError()` par votre réponse et écrivez
vos justifications dans les cellules « Votre réponse ici ».
* Réponse numérique : `x = 0.75` ; avec une unité : `tau = (20, "ms")` — toute unité
  compatible est acceptée (`(0.02, "s")` aussi).
* QCM : une lettre entre guillemets, par exemple `rep = "b"`.
* Les valeurs sont acceptées avec la précision demandée (en général 1 %).
"""
