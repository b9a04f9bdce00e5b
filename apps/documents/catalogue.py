"""The standard enforcement documents (执法文书) as data: code, title, the 字 of their number, and their place in the
case file's catalogue (执法档案 order: investigation, intake, entry, daily supervision, assessment, end).
Pure Python. A province replaces a document's wording by placing its own template file of the same name in
ZHIJIAO_DOCUMENT_TEMPLATES (see apps.documents.render); the numbers and the order stay here."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DocType:
    code: str
    title: str
    word: str  # the 字 of the number: 〔2026〕东湖区矫宣字第3号
    order: int  # place in the case file
    section: str
    to: str = ""  # addressed to (the deciding organ, the procuratorate...), when the form is a letter


T = DocType
DOC_TYPES: dict[str, DocType] = {d.code: d for d in (
    T("investigation_opinion", "调查评估意见书", "调评", 10, "调查评估", "委托机关"),
    T("investigation_impossible", "无法调查评估情况说明", "调说", 12, "调查评估", "委托机关"),
    T("receipt", "法律文书送达回执", "回", 20, "交付接收", "决定机关"),
    T("report_notice", "社区矫正对象报到情况通知单", "报通", 22, "交付接收", "决定机关"),
    T("missing_report", "社区矫正对象未按时报到（脱管）情况通报", "查通", 24, "交付接收", "人民检察院"),
    T("announcement", "社区矫正宣告书", "宣", 30, "入矫"),
    T("team_agreement", "矫正责任书", "责", 32, "入矫"),
    T("transfer_letter", "社区矫正执行地变更征求意见函", "变函", 50, "日常监管", "拟变更执行地社区矫正机构"),
    T("transfer_decision", "变更执行地决定书", "变决", 52, "日常监管"),
    T("leave_approval", "社区矫正对象外出审批表", "外批", 54, "日常监管"),
    T("permit_approval", "经常性跨市县活动审批表", "跨批", 55, "日常监管"),
    T("place_approval", "进入特定区域（场所）审批表", "区批", 56, "日常监管"),
    T("meeting_approval", "会客审批表", "会批", 57, "日常监管"),
    T("extension_approval", "延长病情复查期限审批表", "延批", 58, "日常监管", "人民检察院"),
    T("leave_assist_letter", "社区矫正对象外出期间协助监督管理函", "协函", 59, "日常监管", "外出目的地社区矫正机构"),
    T("release_appraisal", "社区矫正期满鉴定表", "鉴", 70, "解除终止"),
    T("release_announcement", "解除社区矫正宣告书", "解宣", 72, "解除终止"),
    T("release_certificate", "解除社区矫正证明书", "解证", 74, "解除终止"),
    T("release_notice", "解除社区矫正通知书", "解通", 76, "解除终止", "决定机关、人民检察院、公安机关"),
    T("termination_notice", "终止社区矫正通知书", "终通", 78, "解除终止", "决定机关、人民检察院、公安机关"),
)}


def number_text(*, agency_short: str, word: str, year: int, n: int) -> str:
    """〔2026〕东湖区矫宣字第3号"""
    return f"〔{year}〕{agency_short}矫{word}字第{n}号"
