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


def test_compiled_catalogue_matches_the_po():
    header, entries = i18n.read_po(i18n.po_path("en"))
    with open(i18n.po_path("en").with_suffix(".mo"), "rb") as fh:
        mo = gnu_gettext.GNUTranslations(fh)
    assert mo.info()["plural-forms"] == "nplurals=2; plural=(n != 1);"
    for e in entries:
        if e.msgid_plural is None:
            assert mo.gettext(e.msgid) == e.msgstr[0]
        else:
            assert mo.ngettext(e.msgid, e.msgid_plural, 1) == e.msgstr[0]
            assert mo.ngettext(e.msgid, e.msgid_plural, 5) == e.msgstr[1]


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
