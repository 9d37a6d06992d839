"""The one sanitizer (cartable.core.sanitize, nh3) against classic XSS payloads, with positive controls:
legitimate notebook HTML survives. What the output may hold is checked on its parse (Python's
HTML parser reads nh3's well-formed output as a browser would), not on substrings alone. The
same payloads are run in Chromium against a real hub in tests/browser/test_browser_xss.py."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest

from cartable.core import sanitize
from cartable.core.sanitize import clean, clean_markdown

#: (case, payload): each must come out with nothing that runs script or loads a page
PAYLOADS = [
    ("script", "<script>alert(1)</script>"),
    ("script-mixed-case", "<ScRiPt>alert(1)</sCrIpT>"),
    ("img-onerror", "<img src=x onerror=alert(1)>"),
    ("img-slash-onerror", '<img src="x"/onerror=alert(1)>'),
    ("img-onerror-backtick", "<img src=`x`onerror=alert(1)>"),
    ("svg-onload", "<svg onload=alert(1)>"),
    ("svg-script", "<svg><script>alert(1)</script></svg>"),
    ("svg-animate-href", '<svg><a><animate attributeName=href values=javascript:alert(1) /><text y=20>x</text></a></svg>'),
    ("a-javascript", '<a href="javascript:alert(1)">x</a>'),
    ("a-javascript-mixed-case", '<a href="JaVaScRiPt:alert(1)">x</a>'),
    ("a-javascript-entities", '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">x</a>'),
    ("a-javascript-hex-entity", '<a href="jav&#x61;script:alert(1)">x</a>'),
    ("a-javascript-tab", '<a href="java\tscript:alert(1)">x</a>'),
    ("a-javascript-leading-space", '<a href=" javascript:alert(1)">x</a>'),
    ("a-vbscript", '<a href="vbscript:msgbox(1)">x</a>'),
    ("a-data-html", '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>'),
    ("img-data-html", '<img src="data:text/html,<script>alert(1)</script>">'),
    ("iframe-srcdoc", '<iframe srcdoc="<script>alert(1)</script>"></iframe>'),
    ("iframe-src", '<iframe src="javascript:alert(1)"></iframe>'),
    ("object", '<object data="javascript:alert(1)"></object>'),
    ("embed", '<embed src="data:image/svg+xml,<svg onload=alert(1)>">'),
    ("math-mtext-style", "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>"),
    ("math-mtext-style-2", "<math><mtext><style><img src=x onerror=alert(1)></style></mtext></math>"),
    ("math-href", '<math href="javascript:alert(1)">x</math>'),
    ("noscript-title", '<noscript><p title="</noscript><img src=x onerror=alert(1)>">'),
    ("comment-break", "<!--><img src=x onerror=alert(1)>-->"),
    ("select-iframe (CVE-2021-32798 shape)", "<select><iframe></select><img src=x onerror=alert(1)>"),
    ("form-action", '<form action="javascript:alert(1)"><button>go</button></form>'),
    ("button-formaction", '<button formaction="javascript:alert(1)">go</button>'),
    ("input-autofocus", "<input autofocus onfocus=alert(1)>"),
    ("style-expression", '<div style="width: expression(alert(1))">x</div>'),
    ("style-url-javascript", '<div style="background-color: url(javascript:alert(1))">x</div>'),
    ("style-escaped-url", '<div style="color: u\\72l(javascript:alert(1))">x</div>'),
    ("style-element", "<style>@import 'javascript:alert(1)'; body{background:url(javascript:alert(1))}</style>"),
    ("base", '<base href="https://evil.example/">'),
    ("meta-refresh", '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">'),
    ("link-import", '<link rel="import" href="https://evil.example/x.html">'),
    ("details-ontoggle", "<details open ontoggle=alert(1)><summary>x</summary></details>"),
    ("commandlinker", '<button data-commandlinker-command="terminal:create-new">x</button>'),
    ("dom-clobbering", '<form id="x" name="jupyter-config-data"><img name="getElementById"></form>'),
    ("template", "<template><img src=x onerror=alert(1)></template>"),
    ("outside-image", '<img src="https://evil.example/track.png">'),
    ("image-protocol-relative", '<img src="//evil.example/track.png">'),
    ("image-backslashes", '<img src="\\\\evil.example/track.png">'),
    ("image-root-path (a GET with the viewer's cookies)", '<img src="/hub/logout">'),
    ("image-dot-dot", '<img src="x/../../../hub/logout">'),
    ("image-encoded-dot-dot", '<img src="%2e%2E/%2e./hub/logout">'),
    ("image-tab-slashes", '<img src="/\t/evil.example/x.png">'),
    ("image-tab-javascript", '<img src="java\tscript:alert(1)">'),
]

SCRIPT_SCHEMES = re.compile(r"^\s*(javascript|vbscript|data:(?!image/(png|jpeg|gif|webp|svg\+xml)[;,]))", re.I)


class Parsed(HTMLParser):
    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags, self.attrs = [], []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [(tag, k, v or "") for k, v in attrs]


def assert_harmless(out: str, again=clean):
    p = Parsed(out)
    assert set(p.tags) <= sanitize.TAGS, p.tags
    assert not {"script", "style", "svg", "math", "iframe", "object", "embed", "form", "base", "meta", "link",
                "input", "button", "template", "select"} & set(p.tags)
    for tag, name, value in p.attrs:
        assert not name.startswith("on"), (tag, name)
        assert name not in ("id", "name", "srcdoc", "formaction", "action", "data-commandlinker-command"), name
        if name in ("href", "src", "cite"):
            assert not SCRIPT_SCHEMES.match(value), (tag, name, value)
            if tag == "img" and not value.startswith("data:"):
                v = re.sub(r"[\t\n\r]", "", value).strip().lower()
                assert not re.match(r"^([a-z]+:|/|\\)", v) and ".." not in v and "%2e" not in v, value
        if name == "style":
            assert not re.search(r"url|expression|javascript|\\", value, re.I), value
    assert again(out) == out, "cleaning is idempotent"


@pytest.mark.parametrize("case, payload", PAYLOADS, ids=[c for c, _ in PAYLOADS])
def test_payload_is_neutralised(case, payload):
    out = clean(payload)
    assert_harmless(out)
    # also inside a Markdown cell of a library lesson (its Markdown kept, its HTML cleaned)
    md = clean_markdown(f"# Titre\n\nTexte {payload} fin\n")
    assert_harmless(md, again=clean_markdown)
    assert md.startswith("# Titre\n\nTexte ")


def test_markdown_rejoined_tags_are_cleaned_again():
    """Text put back after cleaning may form a new tag: it is cleaned in turn."""
    out = clean_markdown("<<script></script>img src=x onerror=alert(1)>")
    assert_harmless(out, again=clean_markdown)
    assert "onerror" not in out


# ----------------------------------------------------------------------------- positive controls

PNG = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
DATAFRAME = ('<div><table border="1" class="dataframe">\n<thead>\n<tr style="text-align: right;">\n<th></th>\n'
             '<th>note</th>\n</tr>\n</thead>\n<tbody>\n<tr>\n<th>0</th>\n<td>12.5</td>\n</tr>\n</tbody>\n</table>\n</div>')
KEPT = [
    "<p>Le <b>théorème</b> de <i>Pythagore</i> : $a^2 + b^2 = c^2$</p>",
    '<p dir="rtl" lang="ar">مبرهنة فيثاغورس</p>',
    "<h2>Partie 1</h2><ul><li>un</li><li>deux</li></ul><ol start=\"3\"><li>trois</li></ol>",
    f'<img src="{PNG}" alt="courbe" width="100">',
    '<img src="images/figure.png" alt="figure">',
    '<img src="data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=" alt="svg">',
    "<pre><code>for i in range(3):\n    print(i)</code></pre>",
    "<blockquote>citation</blockquote><details><summary>Indice</summary>Réponse</details>",
    "<table><tbody><tr><td colspan=\"2\">a</td></tr></tbody></table>",
    '<span class="math">\\(x_1 &lt; x_2\\)</span>',
    "<p>H<sub>2</sub>O, x<sup>2</sup>, <code>a &lt; b</code> &amp; c</p>",
]


@pytest.mark.parametrize("fragment", KEPT)
def test_legitimate_notebook_html_survives(fragment):
    out = clean(fragment)
    assert_harmless(out)
    assert Parsed(out).tags == Parsed(fragment).tags + (["tbody"] if "<table>" in fragment and "<tbody>" not in fragment else [])
    for tag, name, value in Parsed(fragment).attrs:
        assert (tag, name, value) in Parsed(out).attrs, (tag, name, out)


def test_links_keep_their_target_and_styles_their_harmless_properties():
    out = clean('<a href="https://fr.wikipedia.org/wiki/Suite">suites</a> <a href="#partie-2">plus bas</a> '
                '<a href="mailto:prof@example.org">prof</a>'
                '<p style="text-align: center; color: red; position: fixed; top: 0">x</p>')
    links = [v for t, n, v in Parsed(out).attrs if n == "href"]
    assert links == ["https://fr.wikipedia.org/wiki/Suite", "#partie-2", "mailto:prof@example.org"]
    assert 'style="text-align:center;color:red"' in out


def test_pandas_dataframe_survives():
    out = clean(DATAFRAME)
    assert Parsed(out).tags == Parsed(DATAFRAME).tags and "12.5" in out and 'class="dataframe"' in out


def test_markdown_stays_markdown():
    src = ("# Les suites\n\n> Une citation\n\n* $0<x<1$ et $$u_{n+1} > u_n$$\n* `a < b` & **gras**\n"
           "* $\\begin{pmatrix} a & b \\end{pmatrix}$, [lien](https://example.org/?a=1&b=2)\n\n"
           "<b>gras</b> <img src=x onerror=alert(1)> <a href=\"?a=1&amp;b=2\">x</a>")
    out = clean_markdown(src)
    assert out.startswith("# Les suites\n\n> Une citation\n\n")
    assert r"$0\lt x\lt 1$" in out and r"$$u_{n+1} \gt  u_n$$" in out
    assert "`a < b` & **gras**" in out and r"$\begin{pmatrix} a & b \end{pmatrix}$" in out
    assert "[lien](https://example.org/?a=1&b=2)" in out
    assert "<b>gras</b>" in out and "onerror" not in out and 'href="?a=1&amp;b=2"' in out
    # without HTML, nothing changes, the author's entities included
    assert clean_markdown("Pas de HTML : 2 > 1 & 1 &lt; 2") == "Pas de HTML : 2 > 1 & 1 &lt; 2"


def test_an_expose_page_is_ours_with_the_pupils_body_cleaned():
    doc = ("<!DOCTYPE html><html><head><title>t</title><meta http-equiv=refresh content=0><style>body{}</style>"
           "<script src=https://evil.example/x.js></script><base href=https://evil.example/></head>"
           "<body><h1>Les suites</h1><p>u(n+1) = 2 u(n)</p><img src=x onerror=alert(1)></body></html>")
    out = sanitize.page(doc.encode(), title="Les <suites>")
    assert "<title>Les &lt;suites&gt;</title>" in out and "<h1>Les suites</h1>" in out
    body = out.split("<body", 1)[1]
    assert_harmless(body.split(">", 1)[1].rsplit("</body>", 1)[0])
    assert "evil" not in out and "refresh" not in out and out.count("<style>") == 1


def test_nbconvert_config_is_the_one_sanitizer():
    """Formgrader, /nbconvert/html of staff servers and generate_feedback: HTMLExporter sanitizes with
    this module, also the Markdown cells nbgrader's templates render without clean_html."""
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    from cartable.grading.exchange.nbgrader import NBGRADER_CONFIG, STAFF_SERVER_CONFIG
    from cartable.grading.feedback import configure

    assert json.loads(json.dumps(STAFF_SERVER_CONFIG))["HTMLExporter"] == sanitize.HTML_EXPORTER_CONFIG
    assert "configure_nbconvert(get_config())" in NBGRADER_CONFIG
    c = Config()
    configure(c)
    exporter = HTMLExporter(config=c, template_name="classic")
    assert exporter.sanitize_html
    assert exporter.environment.filters["clean_html"] is sanitize.clean
    assert exporter.environment.filters["strip_files_prefix"] is sanitize.clean_files_prefix
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    nb = new_notebook(cells=[
        new_markdown_cell("Réponse <img src=x onerror=alert(1)> $x<1$"),
        new_code_cell("", outputs=[new_output("display_data", data={"text/html": "<b>ok</b><script>alert(2)</script>"}),
                                   new_output("display_data", data={"image/svg+xml": "<svg onload=alert(3)></svg>"})]),
        new_code_cell("", outputs=[new_output("display_data", data={"application/javascript": "alert(4)"})]),
    ])
    body, _ = exporter.from_notebook_node(nb)
    assert "Réponse <img" in body and 'src="x"' in body and "onerror" not in body and r"$x&lt;1$" in body
    assert "<b>ok</b>" in body and "alert(2)" not in body and "alert(4)" not in body
    svg = body.split('class="output_svg', 1)[1].split("</div>", 1)[0]
    assert re.search(r'<img [^>]*src="data:image/svg\+xml;base64,', svg) and "onload" not in svg  # an image
