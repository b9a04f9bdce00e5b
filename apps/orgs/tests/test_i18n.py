"""The English catalogue covers every string the interface translates, and it is the one Django loads.
When this fails after adding a template or a label: python scripts/i18n.py update, fill in the English
in locale/en/LC_MESSAGES/django.po, then python scripts/i18n.py compile."""
import gettext as gnu_gettext

import pytest
from django.template import engines
from django.utils import translation
from django.utils.translation import gettext, ngettext

from scripts import i18n

FORM_ERRORS = "有 %(n)s 处需要改正，未保存。"


@pytest.fixture(scope="module")
def found():
    return i18n.extract()


def test_every_used_msgid_has_an_english_translation(found):
    problems = i18n.check(found=found)
    assert problems == [], "\n".join(problems)


def test_extraction_sees_templates_code_and_dynamic_labels(found):
    msgids = {key[1] for key in found.msgs}
    assert {"智矫社区矫正平台", "共 %(n)s 人", "请输入用户名和密码"} <= msgids  # template, blocktranslate, gettext()
    assert {"社区矫正对象", "基本信息", "负责司法所", "查阅", "暂予监外执行", "矫正起始日"} <= msgids  # via variables / sort_link
    assert (None, FORM_ERRORS, FORM_ERRORS) in found.msgs  # blocktranslate count … plural


def test_check_reports_an_untranslated_string(found):
    extra = i18n.Found()
    extra.msgs.update(found.msgs)
    extra.add((None, "尚未翻译的新字符串", None), "templates/new.html")
    assert any("尚未翻译的新字符串" in p for p in i18n.check(found=extra))


def _mo_text(mo, e, n=1):
    """What the compiled catalogue gives for entry e (form n when plural)."""
    if e.msgid_plural:
        if e.msgctxt is not None:
            return mo.npgettext(e.msgctxt, e.msgid, e.msgid_plural, n)
        return mo.ngettext(e.msgid, e.msgid_plural, n)
    return mo.gettext(e.msgid) if e.msgctxt is None else mo.pgettext(e.msgctxt, e.msgid)


def test_compiled_catalogue_matches_the_po():
    po = i18n.read_po(i18n.po_path("en"))
    with open(i18n.po_path("en").with_suffix(".mo"), "rb") as fh:
        mo = gnu_gettext.GNUTranslations(fh)
    assert mo.info()["plural-forms"] == "nplurals=2; plural=(n != 1);"
    for e in po:
        if not e.msgid_plural:
            assert _mo_text(mo, e) == e.msgstr
        else:
            assert _mo_text(mo, e, 1) == e.msgstr_plural[0]
            assert _mo_text(mo, e, 5) == e.msgstr_plural[1]


def test_contexts_and_plurals_survive_update_and_compile(tmp_path, monkeypatch):
    monkeypatch.setattr(i18n, "BASE_DIR", tmp_path)
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path / "locale")
    found = i18n.Found()
    found.add(("月份", "五月", None), "templates/a.html")
    found.add((None, "共 %(n)s 人", "共 %(n)s 人"), "apps/x/views.py:3")
    found.add(("名单", "%(n)s 项", "%(n)s 项"), "templates/b.html")
    i18n.update(found=found)
    path = i18n.po_path("en")
    po = i18n.read_po(path)
    assert [i18n.entry_key(e) for e in po] == list(found.msgs)
    assert all(e.msgstr_plural == {0: "", 1: ""} for e in po if e.msgid_plural)
    po[0].msgstr, po[0].tcomment = "May", "the month"
    po[1].msgstr_plural = {0: "%(n)s person", 1: "%(n)s people"}
    po[2].msgstr_plural = {0: "%(n)s item", 1: "%(n)s items"}
    i18n.write_po(po, path)
    before = path.read_bytes()
    i18n.update(found=found)
    assert path.read_bytes() == before  # idempotent; translations and comments kept
    i18n.compile_()
    assert i18n.check(found=found) == []
    with open(path.with_suffix(".mo"), "rb") as fh:
        mo = gnu_gettext.GNUTranslations(fh)
    assert mo.pgettext("月份", "五月") == "May" and mo.gettext("五月") == "五月"
    assert mo.ngettext("共 %(n)s 人", "共 %(n)s 人", 2) == "%(n)s people"
    assert mo.npgettext("名单", "%(n)s 项", "%(n)s 项", 1) == "%(n)s item"
    assert mo.npgettext("名单", "%(n)s 项", "%(n)s 项", 3) == "%(n)s items"


def test_django_translates_to_english():
    with translation.override("en"):
        assert gettext("社区矫正对象") == "Supervisees"
        assert gettext("司法所") == "Judicial office"
        assert gettext("暂予监外执行") == "Medical parole"
        assert ngettext(FORM_ERRORS, FORM_ERRORS, 1) % {"n": 1} == "1 field needs correcting; nothing was saved."
        assert ngettext(FORM_ERRORS, FORM_ERRORS, 3) % {"n": 3} == "3 fields need correcting; nothing was saved."
    with translation.override("zh-hans"):
        assert gettext("社区矫正对象") == "社区矫正对象"


def test_templates_translate_literals_variables_and_blocks():
    template = engines["django"].from_string(
        "{% load i18n zj %}{% translate label %}|{% translate '执行地' %}|"
        "{% blocktranslate with p=2 t=9 %}第 {{ p }} / {{ t }} 页{% endblocktranslate %}|"
        "{% blocktranslate count n=c %}有 {{ n }} 处需要改正，未保存。{% plural %}有 {{ n }} 处需要改正，未保存。"
        "{% endblocktranslate %}|{{ 'probation'|sentence_label }}")
    with translation.override("en"):
        assert template.render({"label": "审计日志", "c": 2}) == (
            "Audit log|Execution county|Page 2 of 9|2 fields need correcting; nothing was saved.|Probation")
    with translation.override("zh-hans"):
        assert template.render({"label": "审计日志", "c": 2}).startswith("审计日志|执行地|第 2 / 9 页")
