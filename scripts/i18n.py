"""The English catalogue without GNU gettext.

    python scripts/i18n.py check     exit 1 listing msgids used in templates/code that have no English
                                     translation (and a stale .mo, broken placeholders, unregistered
                                     dynamic `{% translate variable %}` uses)
    python scripts/i18n.py update    add newly found msgids to the .po (empty msgstr, to be filled in);
                                     existing translations and comments are kept
    python scripts/i18n.py compile   write locale/<lang>/LC_MESSAGES/django.mo from the .po
    python scripts/i18n.py list      print every msgid found, with where it is used

Extraction uses Django's own template parser, so msgids are exactly the strings looked up at run
time: `{% translate "x" %}` and `{% blocktranslate %}` (variables become %(name)s, literal % becomes
%%, `trimmed`, `count`/`plural`, `context`), the literal label arguments of translating template
tags (TRANSLATING_TAGS), gettext-family calls with literal arguments in apps/**/*.py, and the values
that reach gettext through variables (DYNAMIC_SOURCES, e.g. nav labels, tab labels, form labels).

A new `{% translate some_variable %}` in a template, or a `gettext(variable)` in apps/, must be
registered in DYNAMIC_TEMPLATE_VARS / DYNAMIC_PY_CALLS with the source of its values, otherwise
`check` fails: the values it may take cannot be known from the template alone.
"""
from __future__ import annotations

import ast
import os
import re
import struct
import sys
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
LOCALE_DIR = BASE_DIR / "locale"
LANGUAGES = ["en"]
DOMAIN = "django"

HEADER = (
    "Project-Id-Version: zhijiao\n"
    "Report-Msgid-Bugs-To: \n"
    "Language: {lang}\n"
    "MIME-Version: 1.0\n"
    "Content-Type: text/plain; charset=UTF-8\n"
    "Content-Transfer-Encoding: 8bit\n"
    "Plural-Forms: nplurals=2; plural=(n != 1);\n"
)

# Template tags (other than translate/blocktranslate) that pass a literal argument through gettext:
# tag name -> positional argument indexes.  apps/people/templatetags/zj.py: sort_link(current, key, label, base)
TRANSLATING_TAGS = {"sort_link": (2,)}

# gettext-family functions: name -> (index of context, index of singular, index of plural)
GETTEXT_FUNCS = {
    "_": (None, 0, None), "gettext": (None, 0, None), "gettext_lazy": (None, 0, None),
    "gettext_noop": (None, 0, None), "ngettext": (None, 0, 1), "ngettext_lazy": (None, 0, 1),
    "pgettext": (0, 1, None), "pgettext_lazy": (0, 1, None), "npgettext": (0, 1, 2), "npgettext_lazy": (0, 1, 2),
}


# --- values that reach gettext through a variable ----------------------------------------------
def _people_labels():
    from apps.people import rules

    return [*rules.SENTENCE_LABELS.values(), *rules.LEVEL_LABELS.values(), *rules.STATUS_LABELS.values()]


def _nav_labels():
    from types import SimpleNamespace

    from apps.orgs.context import console

    user = SimpleNamespace(is_authenticated=True, can=lambda action: True, organisation=None)
    return [item[1] for item in console(SimpleNamespace(user=user)).get("nav_items", [])]


def _tab_labels():
    from apps.people.views import TABS

    return [label for _key, label in TABS]


def _form_texts():
    """Section titles and field labels of every form in apps/*/forms.py (rendered via
    {% translate title %} / {% translate field.label %})."""
    import importlib

    from django import forms

    out = []
    for mod_path in sorted((BASE_DIR / "apps").glob("*/forms.py")):
        module = importlib.import_module(f"apps.{mod_path.parent.name}.forms")
        for obj in vars(module).values():
            if isinstance(obj, type) and issubclass(obj, forms.BaseForm) and obj.__module__ == module.__name__:
                out += [title for title, _names in getattr(obj, "SECTIONS", ())]
                out += [f.label for f in obj.base_fields.values() if f.label]
    return out


def _role_labels():
    from apps.orgs.rules import ROLE_LABELS

    return list(ROLE_LABELS.values())


def _team_kinds():
    from apps.people.models import TeamMember

    return [label for _value, label in TeamMember.Kind.choices]


def _audit_kinds():
    from apps.audit.models import AuditRecord

    return [label for _value, label in AuditRecord.Kind.choices]


DYNAMIC_SOURCES = {
    "people_labels": _people_labels,  # sentence type / management level / status labels (rules.*_LABELS)
    "nav": _nav_labels,  # apps/orgs/context.py nav_items
    "tabs": _tab_labels,  # apps/people/views.py TABS
    "forms": _form_texts,  # apps/*/forms.py SECTIONS titles and field labels
    "audit_kinds": _audit_kinds,  # apps/audit/models.py AuditRecord.Kind
    "roles": _role_labels,  # apps/orgs/rules.py ROLE_LABELS
    "team_kinds": _team_kinds,  # apps/people/models.py TeamMember.Kind
}

# {% translate <variable> %} in a template (path relative to its templates dir, variable) -> source
DYNAMIC_TEMPLATE_VARS = {
    ("base.html", "label"): "nav",
    ("people/detail.html", "label"): "tabs",
    ("people/form.html", "title"): "forms",
    ("people/form.html", "field.label"): "forms",
    ("people/list.html", "v"): "people_labels",
    ("audit/list.html", "l"): "audit_kinds",
    ("audit/list.html", "r.get_kind_display"): "audit_kinds",
    ("base.html", "r"): "roles",
    ("orgs/staff.html", "r"): "roles",
    ("orgs/staff_form.html", "label"): "roles",
    ("people/detail.html", "m.get_kind_display"): "team_kinds",
    ("people/detail.html", "l"): "team_kinds",
}

# gettext(<non-literal>) in Python (path relative to BASE_DIR, enclosing function) -> source, or None
# when the values are already covered elsewhere (e.g. the literal tag arguments in templates).
DYNAMIC_PY_CALLS = {
    ("apps/people/templatetags/zj.py", "level_badge"): "people_labels",
    ("apps/people/templatetags/zj.py", "sentence_label"): "people_labels",
    ("apps/people/templatetags/zj.py", "status_label"): "people_labels",
    ("apps/people/templatetags/zj.py", "sort_link"): None,  # TRANSLATING_TAGS
}


# --- the .po format ---------------------------------------------------------------------------
@dataclass
class Entry:
    msgid: str
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: list[str] = field(default_factory=lambda: [""])
    comments: list[str] = field(default_factory=list)  # translator comments ("# ...") and "#." lines
    flags: list[str] = field(default_factory=list)
    refs: list[str] = field(default_factory=list)

    @property
    def key(self):
        return (self.msgctxt, self.msgid, self.msgid_plural)

    @property
    def translated(self) -> bool:
        return "fuzzy" not in self.flags and all(s != "" for s in self.msgstr)


_ESC = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "a": "\a", "b": "\b", "f": "\f", "v": "\v"}


def _unquote(s: str) -> str:
    s = s.strip()
    if len(s) < 2 or s[0] != '"' or s[-1] != '"':
        raise ValueError(f"not a quoted string: {s!r}")
    return re.sub(r"\\(.)", lambda m: _ESC.get(m[1], "\\" + m[1]), s[1:-1])


def _quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t").replace("\r", "\\r").replace(
        "\n", "\\n") + '"'


def read_po(path: Path) -> tuple[str, list[Entry]]:
    """Returns (header msgstr, entries). Obsolete (#~) entries are dropped."""
    header = ""
    entries: list[Entry] = []
    cur: Entry | None = None
    pending_comments: list[str] = []
    pending_flags: list[str] = []
    pending_refs: list[str] = []
    target = None  # (attr, index)

    def finish():
        nonlocal cur, header
        if cur is not None:
            if cur.msgid == "" and cur.msgctxt is None:
                header = cur.msgstr[0]
            else:
                entries.append(cur)
        cur = None

    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        try:
            if not line:
                continue
            if line.startswith("#~"):
                continue
            if line.startswith("#"):
                if cur is not None and target is not None and target[0] == "msgstr":
                    finish()
                    target = None
                if line.startswith("#,"):
                    pending_flags += [f.strip() for f in line[2:].split(",") if f.strip()]
                elif line.startswith("#:"):
                    pending_refs += line[2:].split()
                elif line.startswith("#|"):
                    pass
                else:
                    pending_comments.append(raw)
                continue
            m = re.match(r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(\".*\")$", line)
            if m:
                kw, idx, value = m[1], m[2], _unquote(m[3])
                if kw == "msgctxt" or (kw == "msgid" and (cur is None or target[0] != "msgctxt")):
                    finish()
                    cur = Entry(msgid="", msgstr=[], comments=pending_comments, flags=pending_flags,
                                refs=pending_refs)
                    pending_comments, pending_flags, pending_refs = [], [], []
                if cur is None:
                    raise ValueError(f"{kw} without msgid")
                if kw == "msgctxt":
                    cur.msgctxt, target = value, ("msgctxt", None)
                elif kw == "msgid":
                    cur.msgid, target = value, ("msgid", None)
                elif kw == "msgid_plural":
                    cur.msgid_plural, target = value, ("msgid_plural", None)
                else:
                    i = int(idx) if idx is not None else 0
                    while len(cur.msgstr) <= i:
                        cur.msgstr.append("")
                    cur.msgstr[i], target = value, ("msgstr", i)
                continue
            if line.startswith('"') and cur is not None and target is not None:
                value = _unquote(line)
                if target[0] == "msgstr":
                    cur.msgstr[target[1]] += value
                else:
                    setattr(cur, target[0], getattr(cur, target[0]) + value)
                continue
            raise ValueError("unrecognised line")
        except ValueError as exc:
            raise ValueError(f"{path}:{lineno}: {exc}: {raw!r}") from None
    finish()
    for e in entries:
        if not e.msgstr:
            e.msgstr = [""]
    return header, entries


def _po_string(keyword: str, s: str) -> list[str]:
    if "\n" in s[:-1]:
        parts = s.splitlines(keepends=True)
        return [f'{keyword} ""'] + [_quote(p) for p in parts]
    return [f"{keyword} {_quote(s)}"]


def write_po(path: Path, header: str, entries: list[Entry]) -> None:
    out = ["# English translation of the Zhijiao officer interface.",
           "# Managed with scripts/i18n.py (update / check / compile); msgfmt is not needed.",
           "#", 'msgid ""', 'msgstr ""'] + [_quote(line) for line in header.splitlines(keepends=True)] + [""]
    for e in entries:
        out += e.comments
        out += [f"#: {r}" for r in e.refs]
        if e.flags:
            out.append("#, " + ", ".join(e.flags))
        if e.msgctxt is not None:
            out += _po_string("msgctxt", e.msgctxt)
        out += _po_string("msgid", e.msgid)
        if e.msgid_plural is not None:
            out += _po_string("msgid_plural", e.msgid_plural)
            strs = e.msgstr + [""] * (2 - len(e.msgstr))
            for i, s in enumerate(strs):
                out += _po_string(f"msgstr[{i}]", s)
        else:
            out += _po_string("msgstr", e.msgstr[0])
        out.append("")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(out), encoding="utf-8")


def mo_bytes(header: str, entries: list[Entry]) -> bytes:
    """GNU .mo (little-endian, revision 0, no hash table). Untranslated and fuzzy entries are left out."""
    cat = {b"": header.encode("utf-8")}
    for e in entries:
        if not e.translated:
            continue
        k = e.msgid if e.msgid_plural is None else e.msgid + "\0" + e.msgid_plural
        if e.msgctxt is not None:
            k = e.msgctxt + "\x04" + k
        v = e.msgstr[0] if e.msgid_plural is None else "\0".join(e.msgstr)
        cat[k.encode("utf-8")] = v.encode("utf-8")
    keys = sorted(cat)
    n = len(keys)
    orig_table, trans_table = 28, 28 + 8 * n
    data_start = 28 + 16 * n
    ids = b"".join(k + b"\0" for k in keys)
    strs = b"".join(cat[k] + b"\0" for k in keys)
    otab, ttab = [], []
    off = data_start
    for k in keys:
        otab += [len(k), off]
        off += len(k) + 1
    for k in keys:
        ttab += [len(cat[k]), off]
        off += len(cat[k]) + 1
    head = struct.pack("<7I", 0x950412DE, 0, n, orig_table, trans_table, 0, data_start)
    return head + struct.pack(f"<{2 * n}I", *otab) + struct.pack(f"<{2 * n}I", *ttab) + ids + strs


# --- extraction -------------------------------------------------------------------------------
def setup_django() -> None:
    if str(BASE_DIR) not in sys.path:
        sys.path.insert(0, str(BASE_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zhijiao.settings")
    from django.apps import apps

    if not apps.ready:
        import django

        django.setup()


def template_dirs() -> list[Path]:
    dirs = [BASE_DIR / "templates"]
    dirs += sorted(p for p in (BASE_DIR / "apps").glob("*/templates") if p.is_dir())
    return dirs


def _literal(fe):
    """The constant string of a FilterExpression without filters, else None."""
    from django.template.base import Variable

    if fe is None or getattr(fe, "filters", None):
        return None
    var = fe.var
    if isinstance(var, str):
        return str(var)
    if isinstance(var, Variable) and var.lookups is None and isinstance(var.literal, str):
        return str(var.literal)
    return None


_CONSTANT_RE = re.compile(r"""_\((?:"[^"\\]*(?:\\.[^"\\]*)*"|'[^'\\]*(?:\\.[^'\\]*)*')\)""")


class Found:
    def __init__(self):
        self.msgs: OrderedDict[tuple, list[str]] = OrderedDict()
        self.problems: list[str] = []

    def add(self, key, where):
        self.msgs.setdefault(key, [])
        if where not in self.msgs[key]:
            self.msgs[key].append(where)


def extract_templates(found: Found, used_sources: set[str]) -> None:
    from django.template import engines
    from django.template.base import Lexer, Node, TokenType, Variable
    from django.template.library import SimpleNode
    from django.templatetags.i18n import BlockTranslateNode, TranslateNode

    engine = engines["django"].engine
    for tdir in template_dirs():
        for path in sorted(tdir.rglob("*.html")) + sorted(tdir.rglob("*.txt")):
            rel = path.relative_to(tdir).as_posix()
            where = path.relative_to(BASE_DIR).as_posix()
            source = path.read_text(encoding="utf-8")
            try:
                template = engine.from_string(source)
            except Exception as exc:  # noqa: BLE001 - report every broken template, not just the first
                found.problems.append(f"{where}: template does not parse: {exc}")
                continue
            for node in template.nodelist.get_nodes_by_type(Node):
                if isinstance(node, TranslateNode):
                    ctx = _literal(node.message_context) if node.message_context else None
                    var = node.filter_expression.var
                    if var.lookups is None:
                        found.add((ctx, str(var.literal).replace("%", "%%"), None), where)
                    else:
                        expr = node.filter_expression.token
                        if (rel, expr) in DYNAMIC_TEMPLATE_VARS:
                            if DYNAMIC_TEMPLATE_VARS[rel, expr]:
                                used_sources.add(DYNAMIC_TEMPLATE_VARS[rel, expr])
                        else:
                            found.problems.append(
                                f"{where}: {{% translate {expr} %}} translates a variable; register "
                                f"('{rel}', '{expr}') in DYNAMIC_TEMPLATE_VARS in scripts/i18n.py")
                elif isinstance(node, BlockTranslateNode):
                    ctx = _literal(node.message_context) if node.message_context else None
                    singular, _v = node.render_token_list(node.singular)
                    plural = node.render_token_list(node.plural)[0] if node.plural else None
                    found.add((ctx, singular, plural), where)
                elif isinstance(node, SimpleNode) and getattr(node.func, "__name__", "") in TRANSLATING_TAGS:
                    for i in TRANSLATING_TAGS[node.func.__name__]:
                        value = _literal(node.args[i]) if i < len(node.args) else None
                        if value is not None:
                            found.add((None, value, None), where)
                        else:
                            found.problems.append(f"{where}: {{% {node.func.__name__} %}} argument {i} is not a "
                                                  "literal string; its values cannot be extracted")
            # _("...") constants anywhere in {{ }} and {% %}: {{ _("x") }}, |default:_("x"), {% if a == _("x") %}
            for token in Lexer(source).tokenize():
                if token.token_type in (TokenType.VAR, TokenType.BLOCK):
                    for m in _CONSTANT_RE.finditer(token.contents):
                        found.add((None, str(Variable(m[0]).literal).replace("%", "%%"), None), where)


class _PyVisitor(ast.NodeVisitor):
    def __init__(self, found: Found, rel: str, used_sources: set[str]):
        self.found, self.rel, self.used = found, rel, used_sources
        self.func_stack: list[str] = []

    def visit_FunctionDef(self, node):
        self.func_stack.append(node.name)
        self.generic_visit(node)
        self.func_stack.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Call(self, node):
        f = node.func
        name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
        if name in GETTEXT_FUNCS and node.args:
            ci, si, pi = GETTEXT_FUNCS[name]

            def const(i):
                if i is None:
                    return None
                if i < len(node.args) and isinstance(node.args[i], ast.Constant) and isinstance(node.args[i].value,
                                                                                               str):
                    return node.args[i].value
                return False

            ctx, singular, plural = const(ci), const(si), const(pi)
            where = f"{self.rel}:{node.lineno}"
            if False in (ctx, singular, plural):
                func = self.func_stack[-1] if self.func_stack else "<module>"
                key = (self.rel, func)
                if key in DYNAMIC_PY_CALLS:
                    if DYNAMIC_PY_CALLS[key]:
                        self.used.add(DYNAMIC_PY_CALLS[key])
                else:
                    self.found.problems.append(
                        f"{where}: {name}() of a non-literal in {func}(); register ('{self.rel}', '{func}') in "
                        "DYNAMIC_PY_CALLS in scripts/i18n.py")
            else:
                self.found.add((ctx, singular, plural), where)
        self.generic_visit(node)


def extract_python(found: Found, used_sources: set[str]) -> None:
    for root in ("apps", "zhijiao"):
        for path in sorted((BASE_DIR / root).rglob("*.py")):
            parts = path.relative_to(BASE_DIR).parts
            if "tests" in parts or "migrations" in parts:
                continue
            rel = path.relative_to(BASE_DIR).as_posix()
            try:
                tree = ast.parse(path.read_text(encoding="utf-8"), filename=rel)
            except SyntaxError as exc:
                found.problems.append(f"{rel}: does not parse: {exc}")
                continue
            _PyVisitor(found, rel, used_sources).visit(tree)


def extract() -> Found:
    """Every msgid the interface may look up: {(msgctxt, msgid, msgid_plural): [where, ...]}."""
    setup_django()
    from django.utils import translation

    found = Found()
    used: set[str] = set()
    extract_templates(found, used)
    extract_python(found, used)
    with translation.override(None):  # lazy labels must give their msgid, not a translation
        for name in sorted(used | set(DYNAMIC_TEMPLATE_VARS.values()) - {None}):
            try:
                values = DYNAMIC_SOURCES[name]()
            except Exception as exc:  # noqa: BLE001
                found.problems.append(f"dynamic source {name!r} failed: {exc!r}")
                continue
            for v in values:
                found.add((None, str(v), None), f"<{name}>")
    return found


# --- commands ---------------------------------------------------------------------------------
def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def _placeholders(s: str) -> list[str]:
    return sorted(re.findall(r"%\([^)]+\)[sd]|%[sd]", s.replace("%%", "")))


def check(langs=None, found: Found | None = None) -> list[str]:
    """Problems that would leave part of the interface untranslated. Empty list = all good."""
    found = found or extract()
    problems = list(found.problems)
    for lang in langs or LANGUAGES:
        path = po_path(lang)
        if not path.exists():
            problems.append(f"{path.relative_to(BASE_DIR)} does not exist; run: python scripts/i18n.py update")
            continue
        header, entries = read_po(path)
        by_key = {e.key: e for e in entries}
        for key, where in found.msgs.items():
            e = by_key.get(key)
            label = f"[{lang}] {key[1]!r}" + (f" (plural {key[2]!r})" if key[2] else "") + (
                f" (context {key[0]!r})" if key[0] else "")
            if e is None:
                problems.append(f"{label} used at {', '.join(where)} is missing from the catalogue")
            elif not e.translated:
                problems.append(f"{label} used at {', '.join(where)} has no translation"
                                + (" (fuzzy)" if "fuzzy" in e.flags else ""))
        for e in entries:
            if e.translated:
                for s in e.msgstr:
                    if _placeholders(s) != _placeholders(e.msgid):
                        problems.append(f"[{lang}] {e.msgid!r}: translation {s!r} has different placeholders")
        mo = path.with_suffix(".mo")
        if not mo.exists() or mo.read_bytes() != mo_bytes(header, entries):
            problems.append(f"{mo.relative_to(BASE_DIR)} is out of date; run: python scripts/i18n.py compile")
    return problems


def obsolete(lang: str = "en", found: Found | None = None) -> list[Entry]:
    found = found or extract()
    _h, entries = read_po(po_path(lang))
    return [e for e in entries if e.key not in found.msgs]


def update(langs=None) -> None:
    found = extract()
    for lang in langs or LANGUAGES:
        path = po_path(lang)
        header, entries = read_po(path) if path.exists() else (HEADER.format(lang=lang), [])
        by_key = {e.key: e for e in entries}
        out = []
        for key, where in found.msgs.items():
            e = by_key.pop(key, None) or Entry(msgctxt=key[0], msgid=key[1], msgid_plural=key[2],
                                               msgstr=["", ""] if key[2] else [""])
            e.refs = where
            if "%(" in key[1] or key[2]:
                if "python-format" not in e.flags:
                    e.flags.append("python-format")
            out.append(e)
        # Entries no longer found stay (at the end) so translations are not lost when a string moves.
        for e in by_key.values():
            e.refs = []
            out.append(e)
        write_po(path, header, out)
        missing = sum(1 for e in out if not e.translated and e.key in found.msgs)
        print(f"{path.relative_to(BASE_DIR)}: {len(found.msgs)} msgids, {missing} to translate")


def compile_(langs=None) -> None:
    for lang in langs or LANGUAGES:
        path = po_path(lang)
        header, entries = read_po(path)
        mo = path.with_suffix(".mo")
        mo.write_bytes(mo_bytes(header, entries))
        print(f"{mo.relative_to(BASE_DIR)}: {sum(e.translated for e in entries)} translations")


def main(argv: list[str]) -> int:
    cmd = argv[1] if len(argv) > 1 else "check"
    if cmd == "compile":
        compile_()
    elif cmd == "update":
        update()
    elif cmd == "list":
        for (ctx, msgid, plural), where in extract().msgs.items():
            print(f"{msgid!r}" + (f" / {plural!r}" if plural else "") + (f" [{ctx}]" if ctx else ""),
                  "  ", ", ".join(where))
    elif cmd == "check":
        found = extract()
        problems = check(found=found)
        for p in problems:
            print(p, file=sys.stderr)
        if "--obsolete" in argv:
            for e in obsolete(found=found):
                print(f"not used (kept): {e.msgid!r}")
        if problems:
            print(f"{len(problems)} problem(s). Fill in locale/*/LC_MESSAGES/django.po (python scripts/i18n.py "
                  "update adds new msgids), then python scripts/i18n.py compile.", file=sys.stderr)
            return 1
        print(f"ok: {len(found.msgs)} msgids translated")
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
