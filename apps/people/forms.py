"""Forms render the fields and carry errors; validation itself is `services.supervisee_clean`, the one
path shared by the form, the sheet import and the API."""
from __future__ import annotations

import copy

from django import forms

from . import rules
from .models import TeamMember

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class SuperviseeForm(forms.Form):
    name = forms.CharField(label="姓名", required=True, max_length=30)
    former_names = forms.CharField(label="曾用名", required=False)
    id_number = forms.CharField(label="公民身份号码", max_length=18, required=True,
                                help_text="18位，出生日期和性别由号码自动识别")
    gender = forms.ChoiceField(label="性别", choices=[("", "按身份证号"), ("M", "男"), ("F", "女")], required=False)
    ethnicity = forms.ChoiceField(label="民族", choices=[(e, e) for e in rules.ETHNICITIES], initial="汉族")
    phone = forms.CharField(label="手机号码", required=False)
    education = forms.ChoiceField(label="文化程度", required=False, choices=[("", "—")] + [
        (x, x) for x in ("文盲", "小学", "初中", "高中", "中专", "大专", "本科", "研究生")])
    occupation = forms.CharField(label="就业就学情况", required=False)
    household_address = forms.CharField(label="户籍地址")
    residence_address = forms.CharField(label="居住地址")
    judicial_office = forms.ChoiceField(label="负责司法所")
    sentence_type = forms.ChoiceField(label="矫正类别", choices=[("", "请选择")] + [
        (k.value, v) for k, v in rules.SENTENCE_LABELS.items()])
    deciding_organ_name = forms.CharField(label="决定机关", help_text="如：南昌市东湖区人民法院")
    judgment_number = forms.CharField(label="判决（裁定、决定）书文号", help_text="如：（2026）赣0102刑初123号")
    crime = forms.CharField(label="罪名")
    original_penalty = forms.CharField(label="原判刑罚", help_text="如：有期徒刑一年，缓刑二年")
    judgment_date = forms.DateField(label="判决（裁定、决定）日期", widget=DATE)
    effective_date = forms.DateField(label="生效日期", widget=DATE)
    term_months = forms.IntegerField(label="管制刑期/缓刑考验期（月）", required=False,
                                     help_text="管制、缓刑填写")
    detention_days = forms.IntegerField(label="先行羁押天数", required=False, initial=0, help_text="管制：一日折抵二日")
    release_date = forms.DateField(label="出监（所）日期", required=False, widget=DATE, help_text="假释、暂予监外执行填写")
    sentence_end_date = forms.DateField(label="原判刑期止日", required=False, widget=DATE,
                                        help_text="假释、暂予监外执行填写")
    temporary_ground = forms.ChoiceField(label="暂予监外执行情形", required=False, choices=[("", "—")] + [
        (k.value, v) for k, v in rules.GROUND_LABELS.items()], help_text="暂予监外执行填写；保外就医的须定期病情复查")
    management_level = forms.ChoiceField(label="管理等级", choices=[(k.value, v) for k, v in rules.LEVEL_LABELS.items()],
                                         initial=rules.Level.STRICT.value, help_text="入矫初期一般为严管")

    SECTIONS = [
        ("基本信息", ["name", "former_names", "id_number", "gender", "ethnicity", "phone", "education", "occupation"]),
        ("户籍与居住", ["household_address", "residence_address", "judicial_office"]),
        ("判决与矫正期限", ["sentence_type", "deciding_organ_name", "judgment_number", "crime", "original_penalty",
                     "judgment_date", "effective_date", "term_months", "detention_days", "release_date",
                     "sentence_end_date", "temporary_ground", "management_level"]),
    ]

    JUDGMENT = ["sentence_type", "deciding_organ_name", "judgment_number", "crime", "original_penalty",
                "judgment_date", "effective_date", "term_months", "detention_days", "release_date", "sentence_end_date",
                "temporary_ground"]

    def __init__(self, *args, offices=(), edit=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.edit = edit
        if edit:  # the judgment is the case's: changed on the case (社区矫正法第22条 the term it sets)
            for name in self.JUDGMENT:
                del self.fields[name]
            self.SECTIONS = [(t, [n for n in names if n in self.fields]) for t, names in self.SECTIONS]
            self.SECTIONS[-1] = ("管理等级", self.SECTIONS[-1][1])
        self.fields["judicial_office"].choices = [("", "请选择")] + [
            (str(o.pk), f"{o.parent.name if o.parent_id else ''} · {o.name}") for o in offices]
        for f in self.fields.values():
            f.widget.attrs.setdefault("class", "form-select" if isinstance(f.widget, forms.Select) else "form-control")

    def sections(self):
        return [(title, [self[n] for n in names]) for title, names in self.SECTIONS]

    def apply_errors(self, errors: dict[str, str]) -> None:
        for key, msg in errors.items():
            if key in self.fields:
                w = self.fields[key].widget
                w.attrs["class"] = w.attrs.get("class", "") + " is-invalid"
                w.attrs["aria-invalid"] = "true"
            self.add_error(key if key in self.fields else None, msg)


class JudgmentForm(forms.Form):
    """The judgment of a case, changed on the case: its fields as registered, and why it changes."""

    REASONS = [("", "请选择"), ("correction", "更正登记错误"), ("reduction", "减刑裁定"),
               ("ruling", "人民法院裁定、决定变更"), ("other", "其他")]
    reason = forms.ChoiceField(label="变更原因", choices=REASONS)
    basis = forms.CharField(label="依据文书及文号", required=False, help_text="如：（2027）赣01刑更45号刑事裁定书")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        base = SuperviseeForm.base_fields
        for name in SuperviseeForm.JUDGMENT:
            self.fields[name] = copy.deepcopy(base[name])
        for f in self.fields.values():
            f.widget.attrs.setdefault("class", "form-select" if isinstance(f.widget, forms.Select) else "form-control")

    def apply_errors(self, errors: dict[str, str]) -> None:
        SuperviseeForm.apply_errors(self, errors)


class ContactForm(forms.Form):
    name = forms.CharField(label="姓名")
    relation = forms.CharField(label="关系", help_text="如：父亲、配偶")
    phone = forms.CharField(label="电话", required=False)
    address = forms.CharField(label="地址", required=False)
    is_guardian = forms.BooleanField(label="监护人", required=False)


class TeamMemberForm(forms.Form):
    name = forms.CharField(label="姓名")
    kind = forms.ChoiceField(label="身份", choices=TeamMember.Kind.choices)
    gender = forms.ChoiceField(label="性别", choices=[("M", "男"), ("F", "女")])
    phone = forms.CharField(label="电话", required=False)
    knows_minors = forms.BooleanField(label="熟悉未成年人身心特点", required=False)


class ImportForm(forms.Form):
    file = forms.FileField(label="Excel 文件（.xlsx）")
