"""The low-bandwidth form of a lesson: one small, self-contained HTML page built ahead of time.

The lesson is executed once (nbclient, in the lessons' kernel, widget state stored), then
converted with nbconvert (code hidden, no prompts) into a page that needs no kernel, no
JavaScript and no CDN:

* every widget is drawn from its last state, without JavaScript: sliders as disabled range
  inputs with their value, dropdowns and toggles with the chosen option, ``Output`` widgets
  with what they last showed (the plot of ``interact``), labels and HTML as they were;
* the widget state itself is embedded too (``<script type="application/vnd.jupyter.widget-state+json">``,
  nbconvert's format), minus the images already drawn in the page, so a widget manager could
  pick it up later; the page's Content-Security-Policy runs no script;
* plots are re-encoded as palette PNGs (line plots lose nothing visible; much smaller);
* a few kilobytes of CSS; Arabic lessons are ``dir="rtl" lang="ar"``, code and formulas stay
  left to right; formulas stay in their TeX source (no MathJax on a slow link).

Built forms are cached by the SHA-256 of (builder version, notebook bytes): the service looks in
the cache that ``cartable lessons build`` fills (``<prefix>/share/cartable/lessons-lite``) and
then in its own (``<state_dir>/lessons/lite``), and builds what is missing.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

from cartable.core.sanitize import clean
from cartable.extensions.lessons import KERNEL_NAME

LITE_VERSION = "2"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
SHARED_CACHE = Path(sys.prefix) / "share" / "cartable" / "lessons-lite"
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"

CSS = """
body{font:16px/1.5 system-ui,"Noto Sans","Noto Sans Arabic",Arial,sans-serif;max-width:60rem;margin:0 auto;
padding:1rem;color:#222;background:#fff}
h1{font-size:1.6rem}h2{font-size:1.3rem}h3{font-size:1.1rem}
img{max-width:100%;height:auto}
pre,code,.math,.w-slider,.w-num{direction:ltr;unicode-bidi:isolate}
.math{font-family:"DejaVu Serif",serif;white-space:nowrap}div.math{text-align:center;margin:.4rem 0}
pre{white-space:pre-wrap;background:#f6f6f6;padding:.4rem;border-radius:4px;overflow-x:auto}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .5rem}
.w{margin:.3rem 0}.w-hbox{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center}
.w-vbox{display:flex;flex-direction:column;gap:.2rem}
.w-slider label,.w-field label{display:inline-block;min-width:8rem}
.w-slider input{vertical-align:middle;width:14rem}
.w-box{border:1px dashed #bbb;padding:.4rem;border-radius:4px}
.cartable-lite-note{font-size:.85rem;color:#555;border-bottom:1px solid #ddd;padding-bottom:.4rem}
"""


@dataclass
class Built:
    path: Path
    size: int
    seconds: float
    cached: bool


def cache_key(data: bytes) -> str:
    return hashlib.sha256(LITE_VERSION.encode() + b"\0" + data).hexdigest()


def find(data: bytes, dirs: list[Path]) -> Path | None:
    key = cache_key(data)
    for d in dirs:
        p = Path(d) / f"{key}.html"
        if p.is_file():
            return p
    return None


def build(nb_path: Path, out_dir: Path, *, lang: str | None = None, title: str | None = None,
          read_dirs: list[Path] = (), kernel_name: str = KERNEL_NAME, timeout: int = 120,
          note: str = "") -> Built:
    """The low-bandwidth page of ``nb_path`` in ``out_dir`` (from a cache when there)."""
    data = Path(nb_path).read_bytes()
    hit = find(data, [*read_dirs, out_dir])
    if hit:
        return Built(hit, hit.stat().st_size, 0.0, True)
    start = time.monotonic()
    nb = nbformat.reads(data.decode("utf-8"), as_version=4)
    executed = execute(nb, Path(nb_path).parent, kernel_name=kernel_name, timeout=timeout)
    lang = lang or nb.metadata.get("cartable", {}).get("lang") or "fr"
    page = render(executed, lang=lang, title=title, note=note)
    out = Path(out_dir) / f"{cache_key(data)}.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    tmp.write_text(page, encoding="utf-8")
    os.chmod(tmp, 0o644)
    os.replace(tmp, out)
    return Built(out, out.stat().st_size, time.monotonic() - start, False)


class ExecutionFailed(Exception):
    """The lesson raised an error while executing: ``cell`` (1-based) and the error's name/value."""

    def __init__(self, cell: int, ename: str, evalue: str):
        super().__init__(f"cell {cell}: {ename}: {evalue}")
        self.cell, self.ename, self.evalue = cell, ename, evalue


def execute(nb, cwd: Path, *, kernel_name: str = KERNEL_NAME, timeout: int = 120):
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    from cartable.extensions.lessons.ipc import kernel_manager, patch_channel_polling

    patch_channel_polling()

    km = kernel_manager(kernel_name)
    client = NotebookClient(nb, km=km, timeout=timeout, startup_timeout=60,
                            store_widget_state=True, record_timing=False,
                            resources={"metadata": {"path": str(cwd)}})
    try:
        client.execute()
    except CellExecutionError as e:
        index = next((i for i, c in enumerate(nb.cells, 1) if c.cell_type == "code"
                      and any(o.get("output_type") == "error" for o in c.get("outputs", []))), 0)
        raise ExecutionFailed(index, e.ename, (e.evalue or "")[:300]) from None
    except Exception as e:  # a cell over its time, a kernel that died: the lesson's fault
        code = [i for i, c in enumerate(nb.cells, 1) if c.cell_type == "code"]
        done = max(1, min(len(code), getattr(client, "code_cells_executed", 1) or 1))
        running = code[done - 1] if code else 0
        raise ExecutionFailed(running, type(e).__name__, str(e)[:300]) from None
    finally:
        # nbclient stops only the kernels it made itself: this one is ours
        from jupyter_core.utils import run_sync

        if km.has_kernel:
            run_sync(km.shutdown_kernel)(now=True)
    return nb


# --------------------------------------------------------------------------- rendering


def _small_png(b64: str) -> str:
    """A palette PNG when smaller (plots have few colours)."""
    try:
        from PIL import Image

        raw = base64.b64decode(b64)
        img = Image.open(io.BytesIO(raw))
        img.load()
        if img.mode in ("RGBA", "LA"):
            bg = Image.new("RGB", img.size, (255, 255, 255))
            bg.paste(img, mask=img.getchannel("A"))
            img = bg
        out = io.BytesIO()
        img.convert("RGB").quantize(colors=64, method=Image.Quantize.MEDIANCUT).save(out, "PNG", optimize=True)
        small = out.getvalue()
        return base64.b64encode(small).decode() if len(small) < len(raw) else b64
    except Exception:  # keep the original image
        return b64


def _output_html(output: dict, widgets: dict, seen: set) -> str:
    kind = output.get("output_type")
    if kind == "stream":
        if output.get("name") == "stderr":
            return ""
        return f"<pre>{html.escape(''.join(output.get('text', '')))}</pre>"
    if kind == "error":
        return ""
    data = output.get("data", {})
    if WIDGET_VIEW in data:
        return _widget_html(data[WIDGET_VIEW].get("model_id", ""), widgets, seen)
    if "image/png" in data:
        b64 = data["image/png"]
        b64 = "".join(b64) if isinstance(b64, list) else b64
        return f'<img alt="" src="data:image/png;base64,{_small_png(b64.strip())}">'
    if "image/svg+xml" in data:
        svg = data["image/svg+xml"]
        svg = "".join(svg) if isinstance(svg, list) else svg
        return f'<img alt="" src="data:image/svg+xml;base64,{base64.b64encode(svg.encode()).decode()}">'
    if "text/html" in data:
        h = data["text/html"]
        return sanitize("".join(h) if isinstance(h, list) else h)
    if "text/markdown" in data:
        from nbconvert.filters import markdown2html

        md = data["text/markdown"]
        return sanitize(markdown2html("".join(md) if isinstance(md, list) else md))
    if "text/plain" in data:
        t = data["text/plain"]
        return f"<pre>{html.escape(''.join(t) if isinstance(t, list) else t)}</pre>"
    return ""


def _fmt(value, fmt: str | None) -> str:
    if isinstance(value, float):
        m = re.match(r"^\.?(\d+)f$", fmt or "")
        return f"{value:.{m.group(1)}f}" if m else f"{value:g}"
    return str(value)


def _widget_html(model_id: str, widgets: dict, seen: set) -> str:
    """One widget (and its children) as plain HTML, from its last state."""
    if model_id in seen or model_id not in widgets:
        return ""
    seen = seen | {model_id}
    model = widgets[model_id]
    name, s = model.get("model_name", ""), model.get("state", {})
    desc = html.escape(str(s.get("description", "")))

    def children():
        return "".join(_widget_html(str(c).removeprefix("IPY_MODEL_"), widgets, seen) for c in s.get("children", []))

    if name in ("VBoxModel", "BoxModel", "GridBoxModel", "AccordionModel", "TabModel", "StackModel"):
        return f'<div class="w w-vbox">{children()}</div>'
    if name == "HBoxModel":
        return f'<div class="w w-hbox">{children()}</div>'
    if name in ("FloatSliderModel", "IntSliderModel", "FloatLogSliderModel", "BoundedFloatTextModel",
                "BoundedIntTextModel"):
        v = s.get("value", 0)
        shown = _fmt(v, s.get("readout_format"))
        if name == "FloatLogSliderModel":
            shown = f"{v:g}"
        return (f'<div class="w w-slider" data-model="{model_id}"><label>{desc}</label> '
                f'<input type="range" disabled min="{s.get("min", 0)}" max="{s.get("max", 100)}" '
                f'step="{s.get("step", 1)}" value="{v}" aria-label="{desc}"> '
                f'<output class="w-num">{html.escape(shown)}</output></div>')
    if name in ("FloatRangeSliderModel", "IntRangeSliderModel"):
        lo, hi = (s.get("value") or [0, 0])[:2]
        return f'<div class="w w-slider"><label>{desc}</label> <output class="w-num">{lo} – {hi}</output></div>'
    if name in ("DropdownModel", "ToggleButtonsModel", "RadioButtonsModel", "SelectModel", "SelectionSliderModel"):
        labels, index = s.get("_options_labels", []), s.get("index")
        chosen = labels[index] if isinstance(index, int) and 0 <= index < len(labels) else ""
        opts = " · ".join(f"<b>{html.escape(str(lab))}</b>" if i == index else html.escape(str(lab))
                          for i, lab in enumerate(labels))
        return (f'<div class="w w-field" data-model="{model_id}" data-value="{html.escape(str(chosen))}">'
                f'<label>{desc}</label> {opts}</div>')
    if name in ("CheckboxModel", "ToggleButtonModel"):
        mark = "☑" if s.get("value") else "☐"
        return f'<div class="w w-field"><span>{mark}</span> {desc}</div>'
    if name in ("IntTextModel", "FloatTextModel", "TextModel", "TextareaModel"):
        return (f'<div class="w w-field"><label>{desc}</label> '
                f'<output class="w-num">{html.escape(str(s.get("value", "")))}</output></div>')
    if name == "LabelModel":
        return f'<div class="w">{html.escape(str(s.get("value", "")))}</div>'
    if name in ("HTMLModel", "HTMLMathModel"):
        return f'<div class="w">{sanitize(str(s.get("value", "")))}</div>'
    if name == "ButtonModel":
        return f'<div class="w"><button disabled>{desc}</button></div>'
    if name == "OutputModel":
        inner = "".join(_output_html(o, widgets, seen) for o in s.get("outputs", []))
        return f'<div class="w w-output">{inner}</div>'
    if name == "ImageModel":
        return ""
    return f'<div class="w w-box">{desc}</div>' if desc else ""


def sanitize(fragment: str) -> str:
    """HTML a lesson's author wrote, without what runs script (:func:`cartable.core.sanitize.clean`)."""
    return clean(fragment)


def embedded_state(widgets: dict) -> str:
    """The widget state as nbconvert embeds it, images of Output widgets left out (drawn above)."""
    state = {}
    for mid, model in widgets.items():
        model = json.loads(json.dumps(model))
        if model.get("model_name") == "OutputModel":
            for o in model.get("state", {}).get("outputs", []):
                data = o.get("data") or {}
                for k in [k for k in data if k.startswith("image/")]:
                    data[k] = ""
                    o.setdefault("metadata", {})["cartable_lite"] = "drawn in the page"
        state[mid] = model
    text = json.dumps({"version_major": 2, "version_minor": 0, "state": state}, ensure_ascii=False,
                      separators=(",", ":"))
    return text.replace("</", "<\\/")


_ANCHOR = re.compile(r'<a class="anchor-link"[^>]*>.*?</a>', re.S)
_DISPLAY_MATH = re.compile(r"\$\$(.+?)\$\$", re.S)
_INLINE_MATH = re.compile(r"(?<![\\$])\$([^$\n<>]+?)\$")


def _markdown(source: str) -> str:
    """A Markdown cell as HTML: formulas kept in TeX but isolated left to right, no anchors."""
    from nbconvert.filters import markdown2html

    out = _ANCHOR.sub("", sanitize(markdown2html(source)))
    out = _DISPLAY_MATH.sub(lambda m: f'<div class="math" dir="ltr">$${m.group(1)}$$</div>', out)
    return _INLINE_MATH.sub(lambda m: f'<span class="math" dir="ltr">${m.group(1)}$</span>', out)


def render(nb, *, lang: str = "fr", title: str | None = None, note: str = "") -> str:
    """The page of an executed notebook."""
    widgets = (nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}) or {}).get("state", {})
    rtl = lang == "ar"
    parts = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            parts.append(f'<section class="md">{_markdown(cell.source)}</section>')
        elif cell.cell_type == "code":
            out = "".join(_output_html(o, widgets, set()) for o in cell.get("outputs", []))
            if out:
                parts.append(f'<section class="out">{out}</section>')
    if not title:
        for cell in nb.cells:
            m = re.search(r"^#\s+(.+)$", re.sub(r"<[^>]+>", "", cell.source), re.M) if cell.cell_type == "markdown" else None
            if m:
                title = m.group(1).strip()
                break
    note_html = f'<p class="cartable-lite-note">{html.escape(note)}</p>' if note else ""
    return (f'<!DOCTYPE html>\n<html lang="{lang}" dir="{"rtl" if rtl else "ltr"}">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f'<meta name="cartable-lite" content="{LITE_VERSION}">\n'
            f'<title>{html.escape(title or "")}</title>\n<style>{CSS}</style>\n</head>\n'
            f'<body dir="{"rtl" if rtl else "ltr"}" lang="{lang}">\n{note_html}\n' + "\n".join(parts) +
            f'\n<script type="{WIDGET_STATE}">{embedded_state(widgets)}</script>\n</body>\n</html>\n')
