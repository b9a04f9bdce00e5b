"""Named, reproducible supervisees for tests, built through the services (so they are audited like real data).

    s = given_supervisee(officer, office=tree.donghu_office)
"""
from __future__ import annotations

from datetime import date

from apps.orgs.models import Organisation, User
from apps.orgs.testing import TODAY, _counter


def id_number(region: str, born: date, seq: int, male: bool = True) -> str:
    from apps.people.rules import id_check_digit

    order = seq * 2 + (1 if male else 0)
    first17 = f"{region}{born:%Y%m%d}{order % 1000:03d}"
    return first17 + id_check_digit(first17)


def supervisee_data(office: Organisation, **over) -> dict:
    _counter[0] += 1
    born = over.pop("born", date(1990, 5, 17))
    male = over.pop("male", True)
    data = {
        "name": "王小明",
        "id_number": id_number("360102", born, _counter[0] % 499, male),
        "ethnicity": "汉族",
        "phone": "13807910001",
        "household_address": "江西省南昌市东湖区八一大道100号",
        "residence_address": "江西省南昌市东湖区阳明路28号",
        "judicial_office": str(office.pk),
        "sentence_type": "probation",
        "deciding_organ_name": "南昌市东湖区人民法院",
        "judgment_number": f"（2026）赣0102刑初{_counter[0]}号",
        "crime": "危险驾驶罪",
        "original_penalty": "拘役三个月，缓刑六个月",
        "judgment_date": "2026-09-01",
        "effective_date": "2026-09-12",
        "term_months": "6",
        "management_level": "strict",
    }
    data.update(over)
    if data["sentence_type"] == "medical_parole":
        data.setdefault("temporary_ground", "medical")
    return data


def given_supervisee(actor: User, *, office: Organisation, minor: bool = False, **over):
    from apps.people.services import supervisee_create

    if minor:
        over.setdefault("born", date(2010, 3, 3))
    return supervisee_create(actor=actor, data=supervisee_data(office, **over), today=TODAY)


def sheet_row(office: Organisation, **over) -> dict:
    """One row of an import sheet, as an officer fills it in (the office by name, the sentence type in words)."""
    d = supervisee_data(office, **over)
    d["judicial_office"] = office.name
    d["sentence_type"] = "缓刑"
    return d


def sheet_file(rows: list[dict], header: list[str] | None = None, title: str | None = None):
    """An uploaded .xlsx: the import headers on the first row (or `title` above them), then the rows."""
    import io

    from openpyxl import Workbook

    from apps.people import sheets

    wb = Workbook()
    ws = wb.active
    if title:
        ws.append([title])
    ws.append(header or [h for _, h, _, _ in sheets.COLUMNS])
    for row in rows:
        ws.append([row.get(k, "") for k, *_ in sheets.COLUMNS])
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    buf.name = "sheet.xlsx"
    return buf
