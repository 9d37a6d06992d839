"""Feedback that never shows hidden tests nor their expected values.

Stock ``nbgrader generate_feedback`` renders the autograded notebook, where the hidden
tests have been put back and their failures print tracebacks (``assert x == 42``). The
:class:`HideHiddenTests` preprocessor, run first, removes from every test cell the lines
between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``; in such a cell, the outputs
(tracebacks, prints) are replaced by one line saying whether the tests passed.
"""

from __future__ import annotations

from nbconvert.preprocessors import Preprocessor
from nbformat.v4 import new_output
from traitlets import Bool, Unicode

from cartable.core.i18n import _, gettext_for

BEGIN = "### BEGIN HIDDEN TESTS"
END = "### END HIDDEN TESTS"


def strip_hidden(source: str, begin: str = BEGIN, end: str = END) -> tuple[str, bool]:
    out, hidden, found = [], False, False
    for line in source.splitlines():
        if begin in line:
            hidden, found = True, True
            continue
        if end in line:
            hidden = False
            continue
        if not hidden:
            out.append(line)
    return "\n".join(out), found


class HideHiddenTests(Preprocessor):
    """Remove hidden tests and what their outputs could reveal from a feedback notebook."""

    enabled = Bool(True, config=True)  # nbconvert preprocessors are off unless enabled
    language = Unicode("fr", config=True, help="Language of the replacement messages.")
    begin = Unicode(BEGIN, config=True)
    end = Unicode(END, config=True)

    def preprocess_cell(self, cell, resources, index):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("grade") or meta.get("solution"):
            return cell, resources
        source, found = strip_hidden(cell.source, self.begin, self.end)
        if not found:
            return cell, resources
        t = gettext_for(self.language)
        failed = any(o.get("output_type") == "error" for o in cell.get("outputs", []))
        text = t(_("Tests failed (the hidden tests and their details are not shown).")) if failed else \
            t(_("Tests passed."))
        cell.source = source + "\n# " + t(_("(hidden tests not shown)"))
        cell.outputs = [new_output("stream", name="stdout", text=text + "\n")]
        return cell, resources


def configure(c) -> None:
    """Put :class:`HideHiddenTests` first in ``GenerateFeedback``'s preprocessors; the feedback
    page renders the pupil's HTML, SVG and Markdown sanitized (:mod:`cartable.core.sanitize`)."""
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.preprocessors import GetGrades

    from cartable.core.sanitize import configure_nbconvert

    c.GenerateFeedback.preprocessors = [HideHiddenTests, GetGrades, CSSHTMLHeaderPreprocessor]
    configure_nbconvert(c)
