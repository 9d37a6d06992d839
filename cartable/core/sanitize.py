"""The one HTML sanitizer for what users write and others open (pupils' work opened by staff,
lessons' HTML shown to pupils): nh3, the Python binding of the Rust crate Ammonia, which parses
with html5ever (a browser's parser, so no parser differential to exploit) and keeps only an
allow-list.

What survives is notebook content: text formatting, headings, lists, tables, code, quotes,
``details``, images whose source is a ``data:image/...`` URL (PNG, JPEG, GIF, WebP, SVG: an SVG
in an ``<img>`` runs no script) or a URL relative to the page's folder, links to ``http(s)``, ``mailto`` or relative
URLs, a few harmless ``style`` properties, ``class``/``dir``/``lang``/``title``. Formulas stay
in their TeX source (``$...$``), which MathJax reads as text. Everything else goes: scripts and
styles with their content, event handlers, ``javascript:``/``data:`` links, frames, objects,
forms, ``<base>``, ``<meta>``, inline SVG and MathML (an SVG output is shown as an image), ``id``
and ``name`` (no DOM clobbering).

Used by :mod:`cartable.extensions.lessons.lite` (lessons' low-bandwidth pages), the lessons
library (published Markdown), the exchange service (exposés, when published) and nbconvert in
staff servers and feedback generation (:data:`HTML_EXPORTER_CONFIG`).
"""

from __future__ import annotations

import html
import re

import nh3

TAGS = frozenset(nh3.ALLOWED_TAGS | {"section", "tfoot", "figure", "figcaption", "caption", "main",
                                     "article", "label", "output"}) - {"map", "area"}
#: script and style disappear with their content, and so does what only holds a document or code
CLEAN_CONTENT_TAGS = frozenset({"script", "style", "template", "noscript", "noembed", "noframes", "xmp",
                                "iframe", "object", "embed", "applet", "frameset", "frame", "textarea",
                                "title", "svg", "math", "select", "plaintext", "head"})
GENERIC_ATTRIBUTES = {"class", "title", "dir", "lang", "style", "align"}
ATTRIBUTES = {
    "*": GENERIC_ATTRIBUTES,
    "a": {"href", "hreflang"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan", "headers"},
    "th": {"colspan", "rowspan", "headers", "scope"},
    "col": {"span"},
    "colgroup": {"span"},
    "ol": {"start", "type", "reversed"},
    "li": {"value"},
    "table": {"border", "summary"},
    "details": {"open"},
    "blockquote": {"cite"},
    "q": {"cite"},
    "del": {"cite", "datetime"},
    "ins": {"cite", "datetime"},
    "time": {"datetime"},
    "data": {"value"},
    "bdo": {"dir"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto", "data"})
STYLE_PROPERTIES = frozenset({
    "color", "background-color", "text-align", "vertical-align", "font-weight", "font-style", "font-size",
    "font-family", "text-decoration", "white-space", "direction", "unicode-bidi", "width", "height",
    "max-width", "min-width", "border", "border-collapse", "border-color", "border-style", "border-width",
    "border-top", "border-bottom", "border-left", "border-right", "padding", "padding-left", "padding-right",
    "padding-top", "padding-bottom", "margin", "margin-left", "margin-right", "margin-top", "margin-bottom",
    "line-height", "list-style-type", "display",
})
IMAGE_DATA = re.compile(r"data:image/(png|jpeg|gif|webp|svg\+xml)[;,]", re.I)
SCHEME = re.compile(r"^\s*([a-zA-Z][a-zA-Z0-9+.-]*):")
#: style values that could fetch or run something (old IE, XBL, imports), or hide such through escapes
UNSAFE_STYLE = re.compile(r"url\s*\(|expression|javascript|vbscript|behavior|binding|@import|\\|/\*", re.I)


def _attribute(tag: str, attr: str, value: str) -> str | None:
    """Per-attribute checks the allow-list cannot say: which URLs where, which style values."""
    if attr in ("href", "src", "cite"):
        v = re.sub(r"[\t\n\r]", "", value).strip().lower()  # as a browser's URL parser reads it
        m = SCHEME.match(v)
        scheme = m.group(1) if m else ""
        if tag == "img" and attr == "src":
            # images come with the page (data:) or from beside it (relative, below the page's own
            # folder): nothing from another host (//host), nor a GET the viewer's cookies would
            # carry to another path of the site (/hub/logout, ../../hub/logout)
            if scheme:
                return value if scheme == "data" and IMAGE_DATA.match(v) else None
            bad = v.startswith("/") or "\\" in v or ".." in v or "%2e" in v or not v
            return None if bad else value
        if scheme == "data":
            return None  # a data: link opens a page of the author's choice
        return value
    if attr == "style" and UNSAFE_STYLE.search(value):
        return None
    return value


CLEANER = nh3.Cleaner(tags=set(TAGS), clean_content_tags=set(CLEAN_CONTENT_TAGS),
                      attributes={k: set(v) for k, v in ATTRIBUTES.items()}, attribute_filter=_attribute,
                      url_schemes=set(URL_SCHEMES), filter_style_properties=set(STYLE_PROPERTIES),
                      strip_comments=True, link_rel="noopener noreferrer nofollow")


def clean(fragment) -> str:
    """``fragment`` (HTML, ``str`` or UTF-8 ``bytes``) with only what :mod:`this module <cartable.core.sanitize>`
    allows. Also the ``clean_html`` filter of nbconvert where :data:`HTML_EXPORTER_CONFIG` applies."""
    if isinstance(fragment, bytes):
        fragment = fragment.decode("utf-8", "replace")
    return CLEANER.clean(str(fragment or ""))


def clean_files_prefix(text) -> str:
    """nbconvert's ``strip_files_prefix`` filter, then :func:`clean`.

    nbgrader's ``formgrade`` and ``feedback`` templates render Markdown cells (and teachers'
    comments) as ``markdown2html | strip_files_prefix`` without nbconvert's ``clean_html``
    (which ``sanitize_html`` adds only in the ``classic`` and ``lab`` blocks they override), so
    the sanitizer goes in this filter, which every Markdown cell of those templates passes."""
    from nbconvert.filters.strings import strip_files_prefix

    return clean(strip_files_prefix(text))


#: nbconvert's HTMLExporter where staff open pupils' notebooks (formgrader, ``/nbconvert/html``
#: of a staff server, ``nbgrader generate_feedback``): outputs and Markdown sanitized, with
#: this module rather than nbconvert's bleach allow-list (which drops every image).
HTML_EXPORTER_CONFIG = {
    "sanitize_html": True,
    "filters": {"clean_html": "cartable.core.sanitize.clean", "strip_files_prefix": "cartable.core.sanitize.clean_files_prefix"},
}


def configure_nbconvert(c) -> None:
    """Apply :data:`HTML_EXPORTER_CONFIG` to a traitlets config."""
    for key, value in HTML_EXPORTER_CONFIG.items():
        setattr(c.HTMLExporter, key, value)


# --------------------------------------------------------------------------- Markdown

_MATH = re.compile(r"\$\$.+?\$\$|\$[^$\n]+?\$", re.S)
#: in nh3's output, ``<`` and ``>`` stand only around tags (text and attribute values have them escaped)
_TAG = re.compile(r"(<[^<>]*>)")
_ESCAPED = re.compile(r"&(lt|gt|amp);")


def _text_unescaped(cleaned: str) -> str:
    """nh3's output with ``&lt;``, ``&gt;``, ``&amp;`` of its text (never of its tags) put back."""
    parts = _TAG.split(cleaned)
    parts[::2] = [_ESCAPED.sub(lambda m: {"lt": "<", "gt": ">", "amp": "&"}[m.group(1)], t) for t in parts[::2]]
    return "".join(parts)


def clean_markdown(source: str) -> str:
    """A Markdown text without what would run script once rendered, its Markdown left as it is.

    The HTML in it is cleaned as above and the rest kept: nh3 escapes ``<``, ``>`` and ``&`` in
    text, which are put back there (only there: entities in attributes stay as nh3 wrote them,
    decoded and checked). Putting them back may join text into a tag nh3 never saw
    (``<<script></script>img onerror=…>``), so this goes on until nothing changes: what is
    returned is its own cleaned form. ``<`` and ``>`` in formulas become TeX's ``\\lt`` and
    ``\\gt`` (``$0<x<1$`` is not taken for a tag). Limits, in a text with HTML: an author's
    ``&lt;b&gt;`` becomes ``<b>``, and a ``<`` followed by a letter outside formulas (``a<b``
    in inline code) is read as a tag, as HTML would."""
    if "<" not in source:
        return source  # no HTML: Markdown's own links are checked by its renderer
    text = _MATH.sub(lambda m: m.group(0).replace("<", r"\lt ").replace(">", r"\gt "), source)
    for _ in range(8):
        cleaned = _text_unescaped(clean(text))
        if cleaned == text:
            return text
        text = cleaned
    return html.escape(text, quote=False)  # never settled: shown as text


# --------------------------------------------------------------------------- whole pages

PAGE_CSS = """
body{font:16px/1.5 system-ui,"Noto Sans","Noto Sans Arabic",Arial,sans-serif;max-width:60rem;margin:0 auto;
padding:1rem;color:#222;background:#fff}
img{max-width:100%;height:auto}
pre,code{direction:ltr;unicode-bidi:isolate}
pre{white-space:pre-wrap;background:#f6f6f6;padding:.4rem;border-radius:4px;overflow-x:auto}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .5rem}
.jp-InputPrompt,.jp-OutputPrompt,.prompt,.anchor-link{display:none}
.jp-OutputArea-output pre,.output_subarea pre{background:none}
"""


def page(document, title: str = "", lang: str = "") -> str:
    """A whole HTML document (an exposé: a notebook converted by nbconvert) as a page of ours:
    its body cleaned, our small stylesheet instead of the author's, nothing in its head kept."""
    if isinstance(document, bytes):
        document = document.decode("utf-8", "replace")
    body = clean(document)  # parsed as a fragment: <html>, <head>, <body> are ignored, what the head held goes
    lang_attr = f' lang="{html.escape(lang)}"' if lang else ""
    return (f"<!DOCTYPE html>\n<html{lang_attr}>\n<head>\n<meta charset=\"utf-8\">\n"
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html.escape(title)}</title>\n<style>{PAGE_CSS}</style>\n</head>\n"
            f'<body dir="auto">\n{body}\n</body>\n</html>\n')
