"""Excel in and out: the import template, reading a sheet into rows, and the list export."""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from datetime import datetime

from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from . import rules

# (key, header, required, example)
COLUMNS = [
    ("name", "姓名", True, "张伟"),
    ("gender", "性别", False, "男"),
    ("ethnicity", "民族", False, "汉族"),
    ("id_number", "公民身份号码", True, "36010219900101123X"),  # a valid example (GB 11643 check digit)
    ("phone", "手机号码", False, "13807910001"),
    ("household_address", "户籍地址", True, "江西省南昌市东湖区八一大道100号"),
    ("residence_address", "居住地址", True, "江西省南昌市东湖区八一大道100号"),
    ("judicial_office", "负责司法所", True, "公园街道司法所"),
    ("sentence_type", "矫正类别", True, "缓刑"),
    ("deciding_organ_name", "决定机关", True, "南昌市东湖区人民法院"),
    ("judgment_number", "判决（裁定、决定）书文号", True, "（2026）赣0102刑初123号"),
    ("crime", "罪名", True, "危险驾驶罪"),
    ("original_penalty", "原判刑罚", True, "拘役三个月，缓刑六个月"),
    ("judgment_date", "判决（裁定、决定）日期", True, "2026-09-01"),
    ("effective_date", "生效日期", True, "2026-09-12"),
    ("term_months", "管制刑期/缓刑考验期（月）", False, "6"),
    ("detention_days", "先行羁押天数", False, "0"),
    ("release_date", "出监（所）日期", False, ""),
    ("sentence_end_date", "原判刑期止日", False, ""),
    ("temporary_ground", "暂予监外执行情形", False, ""),  # 保外就医 / 怀孕或者正在哺乳自己婴儿 / 生活不能自理
    ("management_level", "管理等级", False, "严管"),
    ("education", "文化程度", False, "高中"),
    ("occupation", "就业就学情况", False, "个体经营"),
    ("status", "矫正状态", False, "在矫"),
]
HEADER_TO_KEY = {h: k for k, h, _, _ in COLUMNS}
MAX_ROWS = 5000


class SheetError(ValueError):
    pass


def template_bytes(*, example_office: str = "") -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "社区矫正对象"
    bold = Font(bold=True)
    req_fill = PatternFill("solid", fgColor="FDE2E1")
    for i, (key, header, required, example) in enumerate(COLUMNS, start=1):
        c = ws.cell(row=1, column=i, value=header)
        c.font = bold
        if required:
            c.fill = req_fill
        ws.cell(row=2, column=i, value=example_office if (key == "judicial_office" and example_office) else example)
        ws.column_dimensions[get_column_letter(i)].width = max(12, len(header) * 2 + 2)
    col = {k: get_column_letter(i) for i, (k, *_rest) in enumerate(COLUMNS, start=1)}
    for key, options in (("sentence_type", rules.SENTENCE_LABELS.values()), ("gender", ["男", "女"]),
                         ("management_level", rules.LEVEL_LABELS.values()),
                         ("temporary_ground", rules.GROUND_LABELS.values())):
        dv = DataValidation(type="list", formula1='"' + ",".join(options) + '"', allow_blank=True)
        dv.add(f"{col[key]}2:{col[key]}{MAX_ROWS + 1}")
        ws.add_data_validation(dv)
    notes = wb.create_sheet("填写说明")
    lines = [
        "填写说明",
        "1. 第一行为表头，请勿修改；从第二行起每行一名社区矫正对象（第二行为示例，可覆盖）。红色表头为必填项。",
        "2. 日期写成 2026-11-22；身份证号为18位，末位X大写或小写均可。",
        "3. 矫正类别：管制、缓刑、假释、暂予监外执行。管制、缓刑须填“管制刑期/缓刑考验期（月）”；",
        "   假释、暂予监外执行须填“出监（所）日期”和“原判刑期止日”。矫正起止日由系统计算。",
        "   暂予监外执行须填“暂予监外执行情形”：保外就医、怀孕或者正在哺乳自己婴儿、生活不能自理（刑事诉讼法第265条）；"
        "其他矫正类别留空。",
        "4. 负责司法所填写系统中的司法所全称，须在您的辖区内。",
        "5. 导入前系统会逐行检查；只要有一行有误，整张表都不会写入，请按提示改正后重新上传。",
        f"6. 每次最多 {MAX_ROWS} 行。",
    ]
    for i, line in enumerate(lines, start=1):
        notes.cell(row=i, column=1, value=line).alignment = Alignment(wrap_text=False)
    notes.column_dimensions["A"].width = 110
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@dataclass
class ParsedSheet:
    rows: list[tuple[int, dict]] = field(default_factory=list)  # (sheet row number, values by key)


def _cell(v):
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, str):
        return v.strip()
    return v


def parse_sheet(data: bytes) -> ParsedSheet:
    """Read the first sheet. Raises SheetError with a message for the user when the file itself is wrong."""
    if not data:
        raise SheetError("上传的文件是空的")
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError):
        raise SheetError("无法读取文件：请上传由模板填写的 Excel 文件（.xlsx）") from None
    try:
        return _read(wb)
    except SheetError:
        raise
    except Exception:  # noqa: BLE001 - a damaged file fails while it is read, lazily, in many ways (XML, zip, cells)
        raise SheetError("文件已损坏或不是完整的 Excel 文件，无法读取：请用 Excel 或 WPS 打开后另存为 .xlsx 再上传") from None
    finally:
        wb.close()


def _read(wb) -> ParsedSheet:
    ws = wb.worksheets[0]
    it = ws.iter_rows(values_only=True)
    header = next(it, None)
    if not header:
        raise SheetError("表格是空的：第一行应为表头")
    keys = []
    for h in header:
        h = str(h).strip() if h is not None else ""
        key = HEADER_TO_KEY.get(h)
        if key and key in keys:
            raise SheetError(f"表头“{h}”出现了两次，请删除重复的列")
        keys.append(key)
    missing = [h for k, h, req, _ in COLUMNS if req and k not in keys]
    if missing:
        seen = "、".join(str(h).strip() for h in header if h not in (None, ""))[:120] or "（空行）"
        raise SheetError(f"表头缺少必填列：{'、'.join(missing)}。系统把第 1 行当作表头读取，读到的是：{seen}。"
                         "请使用下载的模板，或导出的名单（表头在第 1 行）")
    out = ParsedSheet()
    for n, values in enumerate(it, start=2):
        if values is None or all(v in (None, "") for v in values):
            continue
        row = {k: _cell(v) for k, v in zip(keys, values) if k}
        out.rows.append((n, row))
        if len(out.rows) > MAX_ROWS:
            raise SheetError(f"超过 {MAX_ROWS} 行，请分批导入")
    if not out.rows:
        raise SheetError("表格中没有数据行")
    return out


# The export's first columns are the import's, under the same headers, so an exported list can be corrected and
# imported elsewhere; the last ones are computed and ignored on import.
EXPORT_EXTRA = [("执行地", 12), ("矫正起始日", 12), ("矫正终止日", 12), ("未成年", 7)]
_WIDTHS = {"name": 8, "gender": 5, "ethnicity": 6, "id_number": 21, "phone": 14, "household_address": 32,
           "residence_address": 32, "judicial_office": 16, "sentence_type": 10, "deciding_organ_name": 22,
           "judgment_number": 24, "crime": 16, "original_penalty": 24}


def _labels(key: str) -> dict:
    return {"sentence_type": rules.SENTENCE_LABELS, "management_level": rules.LEVEL_LABELS,
            "temporary_ground": rules.GROUND_LABELS,
            "status": rules.STATUS_LABELS, "gender": {"M": "男", "F": "女"}}.get(key, {})


def export_bytes(rows, *, title: str, progress=None, every: int = 1000) -> bytes:
    """The list as a workbook: headers on the first row, frozen and filtered, one row per person. `rows` are
    SuperviseeRow (apps.people.selectors.present): a sealed minor's name, ID number, phone and addresses come
    masked (社区矫正法 第54条). `progress(n)` is called every `every` rows (a background job's progress bar)."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("社区矫正对象")

    def cell(v):
        # Everything we write is data: a value that looks like a formula (=, +, -, @) stays text.
        if isinstance(v, str):
            c = WriteOnlyCell(ws, value=v)
            c.data_type = "s"
            return c
        return v

    headers = [h for _, h, _, _ in COLUMNS] + [h for h, _ in EXPORT_EXTRA]
    for i, key in enumerate([k for k, *_ in COLUMNS], start=1):
        ws.column_dimensions[get_column_letter(i)].width = _WIDTHS.get(key, max(10, len(COLUMNS[i - 1][1]) * 2))
    for j, (_, width) in enumerate(EXPORT_EXTRA, start=len(COLUMNS) + 1):
        ws.column_dimensions[get_column_letter(j)].width = width
    ws.freeze_panes = "A2"
    bold = Font(bold=True)
    head = []
    for h in headers:
        c = WriteOnlyCell(ws, value=h)
        c.font = bold
        head.append(c)
    ws.append(head)
    n = 0
    for r in rows:
        s = r.s
        values = []
        for key, *_ in COLUMNS:
            if key in ("name", "id_number", "phone", "household_address", "residence_address", "judgment_number"):
                v = getattr(r, key)
            elif key == "judicial_office":
                v = s.judicial_office.name
            else:
                v = getattr(s, key)
                v = _labels(key).get(v, v) if _labels(key) else v
            if key == "term_months" and not v:
                v = None
            values.append(v)
        values += [s.execution_county.name, s.supervision_start, s.supervision_end, "是" if s.is_minor else "否"]
        ws.append([cell(v) for v in values])
        n += 1
        if progress and n % every == 0:
            progress(n)
    ws.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{max(n + 1, 2)}"
    props = wb.properties
    props.title = title[:200]
    props.creator = "智矫"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()




def header_label(key: str) -> str:
    for k, header, _, _ in COLUMNS:
        if k == key:
            return header
    return key
