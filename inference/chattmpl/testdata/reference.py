"""Render language test cases with the reference Jinja2.

    python3 reference.py lang/markup-*.jinja

For each NAME.jinja, renders it with the variables of NAME.json (when
present) in the environment the transformers library builds for chat
templates, and writes NAME.txt, or NAME.error ("ExceptionType: message")
when rendering fails. The markup-* cases were produced this way with
Jinja2 3.1.6 and MarkupSafe 3.0.3 (Debian/pip packages, Python 3.11).
"""
import json
import os
import sys
from datetime import datetime

from jinja2.exceptions import TemplateError
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment


def raise_exception(message):
    raise TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    # transformers replaces Jinja's tojson (which returns Markup) by
    # json.dumps, which returns a plain str.
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
env.filters["tojson"] = tojson
env.globals["raise_exception"] = raise_exception
env.globals["strftime_now"] = lambda fmt: datetime(2026, 11, 26).strftime(fmt)

for path in sys.argv[1:]:
    base = path[: -len(".jinja")]
    with open(path, encoding="utf-8", newline="") as f:
        src = f.read()
    variables = {}
    if os.path.exists(base + ".json"):
        with open(base + ".json", encoding="utf-8") as f:
            variables = json.load(f)
    for stale in (base + ".txt", base + ".error"):
        if os.path.exists(stale):
            os.remove(stale)
    try:
        out = env.from_string(src).render(**variables)
    except Exception as e:  # the type name is what the test compares
        with open(base + ".error", "w", encoding="utf-8", newline="") as f:
            f.write(f"{type(e).__name__}: {e}")
        continue
    with open(base + ".txt", "w", encoding="utf-8", newline="") as f:
        f.write(out)
