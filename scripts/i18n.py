"""The English catalogue without GNU gettext.

    python scripts/i18n.py check     exit 1 listing msgids used in templates/code that have no English
                                     translation (and a stale .mo, broken placeholders, unregistered
                                     dynamic `{% translate variable %}` uses)
    python scripts/i18n.py update    add newly found msgids to the .po (empty msgstr, to be filled in);
                                     existing translations and comments are kept
    python scripts/i18n.py compile   write locale/<lang>/LC_MESSAGES/django.mo from the .po
    python scripts/i18n.py list      print every msgid found, with where it is used

The .po and .mo files are read and written by polib (requirements.txt). This script adds what is
particular to the project: extraction, the merge done by `update`, and `check`. `update` writes polib's
layout without line wrapping, except that each `#:` reference gets its own line, so running it again
on an unchanged tree changes nothing.

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
import sys
from collections import OrderedDict
from pathlib import Path

import polib

BASE_DIR = Path(__file__).resolve().parent.parent
LOCALE_DIR = BASE_DIR / "locale"
LANGUAGES = ["en"]
DOMAIN = "django"

HEADER_COMMENT = ("English translation of the Zhijiao officer interface.\n"
                  "Managed with scripts/i18n.py (update / check / compile); msgfmt is not needed.\n")
METADATA = {
    "Project-Id-Version": "zhijiao", "Report-Msgid-Bugs-To": "", "Language": "{lang}", "MIME-Version": "1.0",
    "Content-Type": "text/plain; charset=UTF-8", "Content-Transfer-Encoding": "8bit",
    "Plural-Forms": "nplurals=2; plural=(n != 1);",
}

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

    return [*rules.SENTENCE_LABELS.values(), *rules.LEVEL_LABELS.values(), *rules.STATUS_LABELS.values(),
            *rules.GROUND_LABELS.values()]


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
                out += [str(f.help_text) for f in obj.base_fields.values() if f.help_text]
                out += [label for _v, label in getattr(obj, "REASONS", ()) if label]
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


def _audit_labels():
    from apps.oversight.labels import ACTION_LABELS, OBJECT_LABELS

    return [*ACTION_LABELS.values(), *OBJECT_LABELS.values()]


def _export_states():
    from apps.people.models import ExportJob

    return [label for _value, label in ExportJob.State.choices]


def _org_counters():
    import django.apps

    django.apps.apps.get_app_config("people").ready()
    from apps.orgs.extensions import _org_counters

    return [label for _a, label, _c in _org_counters]


def _case_labels():
    from apps.cases import panels, rules
    from apps.cases.selectors import BUCKETS

    return [*rules.STATUS_LABELS.values(), *(t.label for t in rules.TRANSITIONS.values()),
            *(d.title for d in rules.DEADLINES.values()), *rules.OPENING_CODES.values(), "矫正期限重新计算",
            *panels.DATE_FIELDS.values(), *(label for _k, label in BUCKETS), *rules.INV_LABELS.values(),
            *(t.label for t in rules.INV_TRANSITIONS.values()), *rules.REQUESTER_KINDS.values(),
            *rules.OPINIONS.values(), *rules.TRANSFER_STAGE_LABELS.values()]


def _deadline_texts():
    from apps.cases import rules

    return [*(d.note for d in rules.DEADLINES.values() if d.note), *(d.article for d in rules.DEADLINES.values()),
            "日", "个工作日", "个月"]


def _supervision_labels():
    from apps.supervision import rules, selectors, views
    from apps.supervision.models import Activity, Record

    return [*(label for _v, label in Record.Kind.choices), *(label for _v, label in Record.Channel.choices),
            *(label for _v, label in Activity.Form.choices), *rules.PLACES.values(), *rules.HOURS_KINDS.values(),
            *rules.REQUEST_KINDS.values(), *rules.REQUEST_STATE_LABELS.values(), *rules.REASONS.values(),
            *rules.AUTHORITY_LABELS.values(), *(s.label for s in rules.STEPS.values()), *rules.FOUR_ONES.values(),
            *selectors.PERIOD_LABELS.values(), *views.RECORD_TITLES.values(), rules.VISIT_PRIVACY_ARTICLE,
            *views.PROHIBITION_LABELS.values(),
            "提出申请", "随案件变更审批机关", "依经常性跨市县活动审批备案", "没有未按规定报到的对象", "今天没有报到截止的对象", "其他对象本期均已报到"]


def _notice_labels():
    from apps.notices.services import KINDS
    from apps.supervision.services import NOTICE_FACT_LABELS

    return [*KINDS.values(), *NOTICE_FACT_LABELS]


def _rule_setting_labels():
    from apps.supervision import services

    return [*(x for pair in services.TABLE_META.values() for x in pair), *services.FIELD_LABELS.values(),
            *services.LEVEL_WORDS.values(), *services.PERIOD_WORDS.values()]


DYNAMIC_SOURCES = {
    "rule_setting_labels": _rule_setting_labels,  # apps/supervision/services.py TABLE_META, FIELD_LABELS, levels
    "notice_labels": _notice_labels,  # apps/notices KINDS; the particulars a notice carries (supervision)
    "supervision_labels": _supervision_labels,  # apps/supervision: record kinds, channels, places, request states...
    "deadline_texts": _deadline_texts,  # apps/cases/rules.py DEADLINES notes, articles and their units
    "case_labels": _case_labels,  # apps/cases/rules.py statuses, transitions, deadlines; the work page's buckets
    "audit_labels": _audit_labels,  # apps/oversight/labels.py ACTION_LABELS, OBJECT_LABELS
    "export_states": _export_states,  # apps/people/models.py ExportJob.State
    "org_counters": _org_counters,  # labels registered through apps/orgs/extensions.py
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
    ("supervision/settings.html", "t.title"): "rule_setting_labels",
    ("supervision/settings.html", "t.article"): "rule_setting_labels",
    ("supervision/settings.html", "f.label"): "rule_setting_labels",
    ("supervision/settings.html", "w"): "rule_setting_labels",
    ("supervision/settings.html", "pw"): "rule_setting_labels",
    ("notices/inbox.html", "label"): "notice_labels",
    ("notices/notice.html", "kind_label"): "notice_labels",
    ("notices/notice.html", "f.0"): "notice_labels",
    ("base.html", "label"): "nav",
    ("people/detail.html", "label"): "tabs",
    ("people/form.html", "title"): "forms",
    ("people/form.html", "field.label"): "forms",
    ("people/list.html", "v"): "people_labels",
    ("people/detail.html", "s.get_temporary_ground_display"): "people_labels",
    ("cases/_case_panel.html", "cv.ground"): "people_labels",  # a ground label, or the detail page's 未登记 words
    ("oversight/audit_list.html", "l"): "audit_kinds",
    ("oversight/audit_list.html", "r.get_kind_display"): "audit_kinds",
    ("oversight/audit_list.html", "label"): "audit_labels",
    ("oversight/audit_list.html", "row.action_label"): "audit_labels",
    ("orgs/staff.html", "l"): "roles",
    ("orgs/staff.html", "counter_label"): "org_counters",
    ("people/_export_progress.html", "job.get_state_display"): "export_states",
    ("people/export_job.html", "j.get_state_display"): "export_states",
    ("base.html", "r"): "roles",
    ("orgs/staff.html", "r"): "roles",
    ("orgs/staff_form.html", "label"): "roles",
    ("people/detail.html", "m.get_kind_display"): "team_kinds",
    ("people/detail.html", "l"): "team_kinds",
    ("cases/_case_panel.html", "c.label"): "case_labels",
    ("cases/_case_panel.html", "o.label"): "case_labels",
    ("cases/_case_panel.html", "t.title"): "case_labels",
    ("cases/_case_panel.html", "t.label"): "case_labels",
    ("cases/_case_panel.html", "e.label"): "case_labels",
    ("cases/_case_panel.html", "v"): "case_labels",
    ("cases/work.html", "label"): "case_labels",
    ("cases/deadlines.html", "r.d.title"): "case_labels",
    ("cases/deadlines.html", "r.d.note"): "deadline_texts",
    ("cases/deadlines.html", "r.d.article"): "deadline_texts",
    ("cases/deadlines.html", "r.unit"): "deadline_texts",
    ("cases/judgment.html", "field.label"): "forms",
    ("cases/judgment.html", "field.help_text"): "forms",
    ("cases/investigations.html", "v"): "case_labels",
    ("cases/_act_form.html", "t.label"): "case_labels",
    ("cases/_act_form.html", "v"): "case_labels",
    ("cases/transfer.html", "v"): "case_labels",
    ("cases/transfer.html", "t.title"): "case_labels",
    ("cases/investigations.html", "i.label"): "case_labels",
    ("cases/investigation.html", "inv.label"): "case_labels",
    ("cases/investigation.html", "t.title"): "case_labels",
    ("cases/investigation.html", "t.label"): "case_labels",
    ("cases/investigation.html", "v"): "case_labels",
    ("cases/work.html", "r.title"): "case_labels",
    ("cases/work.html", "r.case_status"): "case_labels",
    ('supervision/_approvals_panel.html', 'v'): "supervision_labels",
    ('supervision/prohibition_form.html', 'label'): "supervision_labels",
    ('supervision/_approvals_panel.html', 'r.get_kind_display'): "supervision_labels",
    ('supervision/_approvals_panel.html', 'r.state_label'): "supervision_labels",
    ('supervision/_checkins_panel.html', 'sc.period_label'): "supervision_labels",
    ('supervision/_checkins_panel.html', 'label'): "supervision_labels",
    ('supervision/_checkins_panel.html', 'v'): "supervision_labels",
    ('supervision/_checkins_panel.html', 'r.get_kind_display'): "supervision_labels",
    ('supervision/_checkins_panel.html', 'r.get_channel_display'): "supervision_labels",
    ('supervision/_checkins_panel.html', 'r.get_place_display'): "supervision_labels",
    ('supervision/_checkins_panel.html', 'h.get_kind_display'): "supervision_labels",
    ('supervision/_day_rows.html', 'empty'): "supervision_labels",
    ('supervision/activities.html', 'a.get_kind_display'): "supervision_labels",
    ('supervision/activities.html', 'a.get_form_display'): "supervision_labels",
    ('supervision/activities.html', 'val'): "supervision_labels",
    ('supervision/day.html', 'r.state_label'): "supervision_labels",
    ('supervision/hours_form.html', 'v'): "supervision_labels",
    ('supervision/record_form.html', 'title'): "supervision_labels",
    ('supervision/record_form.html', 'v'): "supervision_labels",
    ('supervision/record_form.html', 'privacy_article'): "supervision_labels",
    ('supervision/request.html', 'kind_label'): "supervision_labels",
    ('supervision/request.html', 'r.state_label'): "supervision_labels",
    ('supervision/request.html', 'reason_label'): "supervision_labels",
    ('supervision/request.html', 'authority_label'): "supervision_labels",
    ('supervision/request.html', 'e.label'): "supervision_labels",
    ('supervision/request.html', 's.label'): "supervision_labels",
    ('supervision/request_form.html', 'v'): "supervision_labels",
    ('supervision/requests.html', 'r.get_kind_display'): "supervision_labels",
}

# gettext(<non-literal>) in Python (path relative to BASE_DIR, enclosing function) -> source, or None
# when the values are already covered elsewhere (e.g. the literal tag arguments in templates).
DYNAMIC_PY_CALLS = {
    ("apps/people/templatetags/zj.py", "level_badge"): "people_labels",
    ("apps/people/templatetags/zj.py", "sentence_label"): "people_labels",
    ("apps/people/templatetags/zj.py", "status_label"): "people_labels",
    ("apps/people/templatetags/zj.py", "sort_link"): None,  # TRANSLATING_TAGS
    ('apps/supervision/views.py', 'record_view'): "supervision_labels",
    ('apps/supervision/views.py', 'hours_view'): "supervision_labels",
    ('apps/supervision/views.py', 'request_act_view'): "supervision_labels",
}


# --- the .po files (polib) --------------------------------------------------------------------
def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_po(path: Path) -> polib.POFile:
    """The catalogue at path, or a new empty one (header and metadata for its language) if there is none."""
    if path.exists():
        return polib.pofile(str(path), wrapwidth=0)
    po = polib.POFile(wrapwidth=0)
    po.header = HEADER_COMMENT
    po.metadata = {k: v.format(lang=path.parent.parent.name) for k, v in METADATA.items()}
    return po


def write_po(po: polib.POFile, path: Path) -> None:
    """polib's text, with one reference per `#:` line (so a new use of a msgid is a one-line diff)."""
    text = re.sub(r"^#: (.+)$", lambda m: "\n".join("#: " + ref for ref in m[1].split()), str(po), flags=re.M)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def entry_key(e: polib.POEntry) -> tuple:
    """(msgctxt, msgid, msgid_plural), None for what is absent: the keys of Found.msgs."""
    return (e.msgctxt, e.msgid, e.msgid_plural or None)


def _occurrence(where: str) -> tuple[str, str]:
    path, _sep, line = where.rpartition(":")
    return (path, line) if line.isdigit() else (where, "")


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
        po = read_po(path)
        by_key = {entry_key(e): e for e in po if not e.obsolete}
        for key, where in found.msgs.items():
            e = by_key.get(key)
            label = f"[{lang}] {key[1]!r}" + (f" (plural {key[2]!r})" if key[2] else "") + (
                f" (context {key[0]!r})" if key[0] else "")
            if e is None:
                problems.append(f"{label} used at {', '.join(where)} is missing from the catalogue")
            elif not e.translated():
                problems.append(f"{label} used at {', '.join(where)} has no translation"
                                + (" (fuzzy)" if e.fuzzy else ""))
        for e in po.translated_entries():
            for s in e.msgstr_plural.values() if e.msgid_plural else [e.msgstr]:
                if _placeholders(s) != _placeholders(e.msgid):
                    problems.append(f"[{lang}] {e.msgid!r}: translation {s!r} has different placeholders")
        mo = path.with_suffix(".mo")
        if not mo.exists() or mo.read_bytes() != po.to_binary():
            problems.append(f"{mo.relative_to(BASE_DIR)} is out of date; run: python scripts/i18n.py compile")
    return problems


def obsolete(lang: str = "en", found: Found | None = None) -> list[polib.POEntry]:
    found = found or extract()
    return [e for e in read_po(po_path(lang)) if not e.obsolete and entry_key(e) not in found.msgs]


def update(langs=None, found: Found | None = None) -> None:
    found = found or extract()
    for lang in langs or LANGUAGES:
        path = po_path(lang)
        po = read_po(path)
        # an obsolete (#~) entry comes back if its msgid is used again, unless a live one has the same key
        by_key = {entry_key(e): e for e in sorted(po, key=lambda e: not e.obsolete)}
        entries = []
        for key, where in found.msgs.items():
            e = by_key.pop(key, None) or polib.POEntry(
                msgctxt=key[0], msgid=key[1], msgid_plural=key[2] or "", msgstr_plural={0: "", 1: ""} if key[2] else {})
            e.obsolete, e.occurrences = False, [_occurrence(w) for w in where]
            if ("%(" in key[1] or key[2]) and "python-format" not in e.flags:
                e.flags.append("python-format")
            entries.append(e)
        # Entries no longer found stay (at the end) so translations are not lost when a string moves.
        for e in by_key.values():
            e.occurrences = []
            entries.append(e)
        po[:] = entries
        write_po(po, path)
        missing = sum(1 for e in entries if not e.translated() and entry_key(e) in found.msgs)
        print(f"{path.relative_to(BASE_DIR)}: {len(found.msgs)} msgids, {missing} to translate")


def compile_(langs=None) -> None:
    for lang in langs or LANGUAGES:
        po = read_po(po_path(lang))
        mo = po_path(lang).with_suffix(".mo")
        po.save_as_mofile(str(mo))
        print(f"{mo.relative_to(BASE_DIR)}: {len(po.translated_entries())} translations")


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
