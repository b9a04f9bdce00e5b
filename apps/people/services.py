"""Use cases that change supervisees. Each is one transaction with its audit record."""
from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Mapping

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.audit.models import AuditRecord
from apps.audit.services import audit_record, audit_records
from apps.orgs.models import Organisation
from apps.orgs.rules import Action, OrgKind
from apps.orgs.scope import NotFound, in_subtree, parse_pk, within

from . import extensions, rules
from .models import Contact, Supervisee, TeamMember

# One use case, one transaction no caller may wrap (see apps.orgs.services.use_case).
use_case = transaction.atomic(durable=True)


class InputErrors(Exception):
    """Field -> message, in Chinese, ready to show next to the field."""

    def __init__(self, errors: dict[str, str], *, duplicate_id: str = ""):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors
        self.duplicate_id = duplicate_id


class NotPermitted(Exception):
    pass


class ImportRefused(Exception):
    """A sheet that cannot be written as it is: every bad row with every reason (row number, [(column, message)])."""

    def __init__(self, problems: list[tuple[int, list[tuple[str, str]]]], *, duplicate_ids: list[str] = ()):
        super().__init__(f"{len(problems)} 行有误")
        self.problems = problems
        self.duplicate_ids = list(duplicate_ids)


# The record's own fields, edited on the person's form. The judgment is the case's (ADR 0005): it is entered when
# the case opens (registration, import) and changed on the case (apps.cases.services.case_judgment_change), which
# writes it back onto this row through `supervisee_judgment_project`.
EDITABLE_FIELDS = (
    "name", "former_names", "gender", "ethnicity", "id_number", "phone", "education", "occupation",
    "household_adcode", "household_address", "residence_address", "judicial_office", "management_level",
)
JUDGMENT_FIELDS = (
    "sentence_type", "deciding_organ_name", "judgment_number", "crime", "original_penalty", "judgment_date",
    "effective_date", "term_months", "detention_days", "release_date", "sentence_end_date", "temporary_ground",
)
JUDGMENT_ON_THE_CASE = "判决信息在案件页“变更判决信息”中办理（记入案件历史，重算矫正期限）"
# Set when a record is created (an import of old files, the demo), not on the edit form: the lifecycle issue's
# services change status; the residence point will be picked on a map.
CREATE_ONLY_FIELDS = ("status", "residence_lon", "residence_lat", "deciding_organ")
SNAPSHOT_FIELDS = EDITABLE_FIELDS + JUDGMENT_FIELDS + ("execution_county", "supervision_start", "supervision_end", "is_minor", "status",
                                     "residence_lon", "residence_lat", "deciding_organ")


def today_local() -> date:
    return timezone.localdate()


def _point(raw: Mapping[str, Any], out: dict, e: dict) -> None:
    """The residence point (WGS-84), optional; both coordinates or neither."""
    lon, lat = raw.get("residence_lon"), raw.get("residence_lat")
    if lon in (None, "") and lat in (None, ""):
        out["residence_lon"] = out["residence_lat"] = None
        return
    try:
        lon, lat = float(lon), float(lat)
    except (TypeError, ValueError):
        e["residence_lon"] = "居住地坐标应为经度、纬度两个数字"
        return
    if not (73 <= lon <= 136 and 3 <= lat <= 54):
        e["residence_lon"] = "居住地坐标不在中国境内"
        return
    out["residence_lon"], out["residence_lat"] = round(lon, 7), round(lat, 7)


def _date(value: Any, label: str, errors: dict, key: str, required: bool) -> date | None:
    if value in (None, ""):
        if required:
            errors[key] = f"请填写{label}"
        return None
    if isinstance(value, (date, datetime)):  # a sheet's date cell
        d = value.date() if isinstance(value, datetime) else value
        if not 1900 <= d.year <= 2100:
            errors[key] = f"{label}超出合理范围（1900—2100年）"
            return None
        return d
    text = str(value).strip().replace("/", "-").replace(".", "-")
    if len(text) == 8 and text.isdigit():
        text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
    try:
        d = date.fromisoformat(text)
        if not 1900 <= d.year <= 2100:
            errors[key] = f"{label}超出合理范围（1900—2100年）"
            return None
        return d
    except ValueError:
        errors[key] = f"{label}格式不正确，应为 2026-11-22 这样的日期"
        return None
    except OverflowError:
        errors[key] = f"{label}超出范围"
        return None


_INT_RE = re.compile(r"([0-9]{1,9})(\.0*)?")


def _int(value: Any, label: str, errors: dict, key: str, *, maximum: int) -> int | None:
    """A whole number from 0 to `maximum` ("6", 6, 6.0 from a sheet); anything else is an error, never a 500."""
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        value = ""
    text = unicodedata.normalize("NFKC", str(value)).strip()
    m = _INT_RE.fullmatch(text)
    if not m:
        errors[key] = f"{label}应为不小于0的整数"
        return None
    n = int(m.group(1))
    if n > maximum:
        errors[key] = f"{label}不能超过{maximum}"
        return None
    return n


def _choice(value: Any, choices: dict, label: str, errors: dict, key: str, default=None) -> str | None:
    """Accept the code or its Chinese label (a sheet says 缓刑, a form sends probation)."""
    v = str(value or "").strip()
    if not v:
        if default is None:
            errors[key] = f"请选择{label}"
        return default
    for code, text in choices.items():
        if v in (str(code), text):
            return str(code)
    errors[key] = f"{label}“{v}”无效，可选：{'、'.join(choices.values())}"
    return None


@dataclass
class CleanContext:
    """Look-ups prepared once for many rows (a sheet): the actor's offices and the ID numbers already known."""

    offices: dict[str, Organisation]
    existing_ids: set[str]

    @classmethod
    def for_rows(cls, *, actor, id_numbers: list[str]) -> CleanContext:
        offices: dict[str, Organisation] = {}
        for o in Organisation.objects.filter(in_subtree("path", actor.scope_path), kind=OrgKind.JUDICIAL_OFFICE):
            offices[str(o.pk)] = offices[o.name] = o
        wanted = {str(n).strip().upper() for n in id_numbers if n}
        existing: set[str] = set()
        chunk = list(wanted)
        for i in range(0, len(chunk), 500):
            existing.update(Supervisee.objects.filter(id_number__in=chunk[i:i + 500]).values_list("id_number", flat=True))
        return cls(offices, existing)


def _may_readmit(earlier: Supervisee, actor) -> bool:
    """Registered again on the form when every earlier case has ended, inside the registering officer's
    jurisdiction, and the case hook sees no reason against it (a death on record); never over a minor's sealed
    file (社区矫正法第54条). Anything else goes through the county agency by hand."""
    return (earlier.status in (rules.Status.RELEASED, rules.Status.TERMINATED) and not earlier.is_minor
            and within(actor, earlier.org_path) and not extensions.readmission_refusal(earlier))


def supervisee_clean(raw: Mapping[str, Any], *, actor, today: date, instance: Supervisee | None = None,
                     readmit: bool = False,
                     ctx: CleanContext | None = None) -> dict:
    """Validate and normalise input from a form, a sheet row or the API. Raises InputErrors."""
    e: dict[str, str] = {}
    out: dict[str, Any] = {}

    def text(key, label, max_len=200, required=True):
        try:
            out[key] = rules.clean_text(raw.get(key, ""), label=label, max_len=max_len, required=required)
        except rules.TextError as exc:
            e[key] = str(exc)

    try:
        out["name"] = rules.clean_person_name(raw.get("name", ""))
    except rules.TextError as exc:
        e["name"] = str(exc)
    former = str(raw.get("former_names") or "").strip()
    if former:
        try:
            out["former_names"] = rules.clean_text(former, label="曾用名", max_len=60)
        except rules.TextError as exc:
            e["former_names"] = str(exc)
    else:
        out["former_names"] = ""

    info = None
    try:
        info = rules.parse_id_number(str(raw.get("id_number") or ""), today=today)
        out["id_number"] = info.number
        out["birth_date"] = info.birth_date
    except rules.IdError as exc:
        e["id_number"] = str(exc)

    gender = _choice(raw.get("gender"), {"M": "男", "F": "女"}, "性别", e, "gender", default="")
    if info:
        if gender and gender != info.gender:
            e["gender"] = "性别与身份证号不一致（第17位奇数为男，偶数为女）"
        out["gender"] = info.gender
    eth = str(raw.get("ethnicity") or "汉族").strip()
    if eth and not eth.endswith("族") and eth + "族" in rules.ETHNICITIES:
        eth += "族"
    if eth not in rules.ETHNICITIES:
        e["ethnicity"] = f"民族“{eth}”不在56个民族名称中"
    out["ethnicity"] = eth
    try:
        out["phone"] = rules.clean_phone(str(raw.get("phone") or ""))
    except rules.TextError as exc:
        e["phone"] = str(exc)
    text("education", "文化程度", 20, required=False)
    text("occupation", "就业就学情况", 60, required=False)
    text("household_address", "户籍地址")
    text("residence_address", "居住地址")
    hh = str(raw.get("household_adcode") or "").strip()
    if hh and not (len(hh) == 6 and hh.isdigit()):
        e["household_adcode"] = "户籍地区划代码应为6位数字"
    out["household_adcode"] = hh or (info.region if info else "")

    # where: the judicial office (by id or by name), which fixes the execution county
    office_ref = raw.get("judicial_office")
    office = None
    if isinstance(office_ref, Organisation):
        office = office_ref
    elif office_ref not in (None, "") and ctx is not None:
        office = ctx.offices.get(str(office_ref).strip())
    elif office_ref not in (None, ""):
        qs = Organisation.objects.filter(in_subtree("path", actor.scope_path), kind=OrgKind.JUDICIAL_OFFICE)
        ref = str(office_ref).strip()
        office = qs.filter(pk=parse_pk(ref)).first() if parse_pk(ref) else qs.filter(name=ref[:100]).first()
    if office is None or office.kind != OrgKind.JUDICIAL_OFFICE or not within(actor, office.path):
        e["judicial_office"] = "请选择本辖区内的司法所" if office_ref in (None, "") else f"司法所“{office_ref}”不存在或不在您的辖区内"
    else:
        out["judicial_office"] = office
        out["execution_county"] = office.parent

    st = _choice(raw.get("sentence_type"), {k.value: v for k, v in rules.SENTENCE_LABELS.items()}, "矫正类别", e,
                 "sentence_type")
    out["sentence_type"] = st
    text("deciding_organ_name", "决定机关", 100)
    text("judgment_number", "判决（裁定、决定）书文号", 60)
    text("crime", "罪名", 60)
    text("original_penalty", "原判刑罚", 60)
    out["judgment_date"] = _date(raw.get("judgment_date"), "判决（裁定、决定）日期", e, "judgment_date", True)
    out["effective_date"] = _date(raw.get("effective_date"), "生效日期", e, "effective_date", True)
    out["term_months"] = _int(raw.get("term_months"), "管制刑期/缓刑考验期（月）", e, "term_months", maximum=600)
    out["detention_days"] = _int(raw.get("detention_days"), "先行羁押天数", e, "detention_days", maximum=36500) or 0
    out["release_date"] = _date(raw.get("release_date"), "出监（所）日期", e, "release_date", False)
    out["sentence_end_date"] = _date(raw.get("sentence_end_date"), "原判刑期止日", e, "sentence_end_date", False)
    out["temporary_ground"] = _choice(raw.get("temporary_ground"), {k.value: v for k, v in rules.GROUND_LABELS.items()},
                                      "暂予监外执行情形", e, "temporary_ground", default="") or ""
    # a 暂予监外执行 registered before its ground was recorded keeps the blank (supervised as 保外就医) until the
    # ground is entered: editing its address does not ask for it
    legacy = (instance is not None and instance.sentence_type == st and not instance.temporary_ground
              and not out["temporary_ground"])
    if st and not legacy and "temporary_ground" not in e and (
            problem := rules.ground_problem(st, out["temporary_ground"])):
        e["temporary_ground"] = problem
    out["management_level"] = _choice(raw.get("management_level"), {k.value: v for k, v in rules.LEVEL_LABELS.items()},
                                      "管理等级", e, "management_level", default=rules.Level.STRICT.value)

    if instance is None:  # what only a new record takes
        out["status"] = _choice(raw.get("status"), {k.value: v for k, v in rules.STATUS_LABELS.items()}, "矫正状态",
                                e, "status", default=rules.Status.ACTIVE.value)
        _point(raw, out, e)
        organ = raw.get("deciding_organ")
        if isinstance(organ, Organisation) and organ.kind in (OrgKind.COURT, OrgKind.POLICE, OrgKind.PRISON):
            out["deciding_organ"] = organ
        elif organ not in (None, ""):
            e["deciding_organ"] = "决定机关须为系统中的人民法院、公安机关或监狱管理机关"

    for key in ("judgment_date", "effective_date", "release_date"):
        if out.get(key) and out[key] > today:
            e.setdefault(key, "日期不能晚于今天")
    if info and out.get("judgment_date") and out["judgment_date"] < info.birth_date:
        e.setdefault("judgment_date", "判决日期早于出生日期，请核对")
    elif info and out.get("judgment_date") and out.get("crime"):
        problem = rules.criminal_responsibility_problem(
            age_at_judgment=rules.age_on(info.birth_date, out["judgment_date"]), crime=out["crime"])
        if problem:
            e.setdefault("crime", problem)
    if st and out.get("judgment_date") and out.get("effective_date") and not ({"judgment_date", "effective_date"} & e.keys()):
        if st in (rules.SentenceType.CONTROL, rules.SentenceType.PROBATION):
            out["release_date"] = None
            out["sentence_end_date"] = None
        else:
            out["term_months"] = None
            out["detention_days"] = 0
        period = rules.supervision_period(rules.Sentence(
            sentence_type=rules.SentenceType(st), judgment_date=out["judgment_date"],
            effective_date=out["effective_date"], term_months=out["term_months"],
            detention_days=out["detention_days"], release_date=out["release_date"],
            sentence_end_date=out["sentence_end_date"]))
        for k, msg in period.errors.items():
            e.setdefault(k, msg)
        if period.ok:
            out["supervision_start"], out["supervision_end"] = period.start, period.end
            if info:
                out["is_minor"] = rules.is_minor_case(info.birth_date, period.start)
                if rules.age_on(info.birth_date, period.start) < 12:
                    e.setdefault("id_number", "矫正开始时未满12周岁，请核对出生日期")

    duplicate = False
    if "id_number" in out and "id_number" not in e and ctx is not None:
        duplicate = out["id_number"] in ctx.existing_ids
    elif "id_number" in out and "id_number" not in e:
        dup = Supervisee.objects.filter(id_number=out["id_number"])
        if instance is not None:
            dup = dup.exclude(pk=instance.pk)
        earlier = dup.only("pk", "status", "is_minor", "org_path").first()
        duplicate = earlier is not None
        if earlier is not None and instance is None and readmit and _may_readmit(earlier, actor):
            duplicate = False  # a person whose corrections ended comes back under a new judgment: a new case
            out["readmit_pk"] = earlier.pk
    if duplicate:
        e["id_number"] = DUPLICATE_ID
    if e:
        raise InputErrors(e, duplicate_id=out["id_number"] if duplicate else "")
    return out


DUPLICATE_ID = "该身份证号已有登记，不能重复录入；如需核对，请联系上级社区矫正机构"


def record_duplicate_hits(*, actor, id_numbers: list[str], ip: str = "") -> None:
    """A duplicate-ID answer tells the asker that a person is registered somewhere (perhaps a sealed minor in
    another county), so every such answer is itself logged, in a transaction of its own. Call it outside the
    transaction of the write that was refused (that one rolls back)."""
    hits: list[int] = []
    for i in range(0, min(len(id_numbers), 5000), 500):
        hits += Supervisee.objects.filter(id_number__in=id_numbers[i:i + 500]).values_list("pk", flat=True)
    if not hits:
        return
    with transaction.atomic():
        audit_record(actor=actor, kind=AuditRecord.Kind.VIEW, action="supervisee.id_lookup", object_type="supervisee",
                     object_id=hits[0] if len(hits) == 1 else "", after={"ids": hits} if len(hits) > 1 else None,
                     summary=f"身份证号查重命中 {len(hits)} 条已有登记", ip=ip)


def snapshot(s: Supervisee) -> dict[str, Any]:
    d = {}
    for f in SNAPSHOT_FIELDS:
        v = getattr(s, f + "_id") if f in ("judicial_office", "execution_county", "deciding_organ") else getattr(s, f)
        d[f] = v.isoformat() if isinstance(v, date) else v
    d["id_number"] = rules.mask_id(s.id_number) if s.id_number else ""
    return d


def _changes(before: dict, after: dict, raw_before: Supervisee | None, raw_after: Supervisee) -> tuple[dict, dict]:
    keys = [k for k in after if before.get(k) != after.get(k)]
    if raw_before is not None and raw_before.id_number != raw_after.id_number and "id_number" not in keys:
        keys.append("id_number")  # the masks can match while the numbers differ
        after = {**after, "id_number": after["id_number"] + "（已更正）"}
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


def _may_change(actor, s: Supervisee) -> None:
    """The record must be inside the actor's jurisdiction and, for a minor, the actor must hold the grant
    (社区矫正法 第54条). Out of scope and sealed both answer as not found, as reading does."""
    if not actor.can(Action.SUPERVISEE_CHANGE):
        raise NotPermitted("您没有修改社区矫正对象的权限")
    if not within(actor, s.org_path) or (s.is_minor and not actor.minor_access):
        raise NotFound()


def _field(errors: dict, out: dict, key: str, clean, *args, **kwargs) -> None:
    """Run one cleaner; keep its value in `out` or its message in `errors`."""
    try:
        out[key] = clean(*args, **kwargs)
    except rules.TextError as exc:
        errors[key] = str(exc)


def _logs_duplicate_probes(service):
    """Run the service; if it refused a duplicate ID, log that answer after the rollback."""
    @functools.wraps(service)
    def wrapper(*, actor, ip: str = "", **kwargs):
        try:
            return service(actor=actor, ip=ip, **kwargs)
        except InputErrors as exc:
            if exc.duplicate_id:
                record_duplicate_hits(actor=actor, id_numbers=[exc.duplicate_id], ip=ip)
            raise
        except ImportRefused as exc:
            if exc.duplicate_ids:
                record_duplicate_hits(actor=actor, id_numbers=exc.duplicate_ids, ip=ip)
            raise

    return wrapper


def _sentence_label(s: Supervisee) -> str:
    return rules.SENTENCE_LABELS[rules.SentenceType(s.sentence_type)]


def _create(*, actor, data: Mapping[str, Any], ip: str = "", today: date | None = None,
            readmit: bool = False) -> Supervisee:
    if not actor.can(Action.SUPERVISEE_CREATE):
        raise NotPermitted("您没有新增社区矫正对象的权限")
    clean = supervisee_clean(data, actor=actor, today=today or today_local(), readmit=readmit)
    if "readmit_pk" in clean:
        return _readmit(actor=actor, pk=clean.pop("readmit_pk"), clean=clean, ip=ip)
    s = Supervisee(**clean, created_by=actor)
    s.org_path = s.judicial_office.path
    s.sort_name = rules.sort_name(s.name, s.is_minor)
    try:
        with transaction.atomic():
            s.save()
    except IntegrityError:
        raise InputErrors({"id_number": DUPLICATE_ID}, duplicate_id=s.id_number) from None
    # No names in summaries: the audit list is read by administrators, who do not read case files.
    audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action="supervisee.create", object_type="supervisee",
                 object_id=s.pk, summary=f"新增社区矫正对象（{_sentence_label(s)}）", after=snapshot(s), ip=ip,
                 org_path=s.org_path)
    extensions.people_created(actor=actor, people=[s], ip=ip)
    return s


def _readmit(*, actor, pk: int, clean: dict, ip: str) -> Supervisee:
    """The person's row takes the new judgment, office and identity details as registered now; the earlier
    cases keep theirs (each case holds its judgment), and a new case opens through the case hook."""
    s = Supervisee.objects.select_for_update().get(pk=pk)
    if not _may_readmit(s, actor):  # changed since the check
        raise InputErrors({"id_number": DUPLICATE_ID}, duplicate_id=s.id_number)
    before = snapshot(s)
    for k, v in clean.items():
        setattr(s, k, v)
    s.org_path = s.judicial_office.path
    s.sort_name = rules.sort_name(s.name, s.is_minor)
    s.save()
    audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action="supervisee.readmit", object_type="supervisee",
                 object_id=s.pk, summary=f"再次纳入社区矫正（{_sentence_label(s)}）", before=before, after=snapshot(s),
                 ip=ip, org_path=s.org_path)
    extensions.person_readmitted(actor=actor, person=s, ip=ip)
    return s


@_logs_duplicate_probes
@use_case
def supervisee_create(*, actor, data: Mapping[str, Any], ip: str = "", today: date | None = None) -> Supervisee:
    return _create(actor=actor, data=data, ip=ip, today=today)


@dataclass(frozen=True)
class ImportResult:
    created: list[Supervisee]


class _Cleaned(list):
    ctx: CleanContext


def _clean_rows(*, actor, rows, today: date, ctx: CleanContext | None):
    """Every row cleaned, look-ups prepared once: (clean rows, [(row number, [(field, message)])], duplicate IDs)."""
    ctx = ctx or CleanContext.for_rows(actor=actor, id_numbers=[r.get("id_number") for _, r in rows])
    problems, dups = [], []
    cleaned = _Cleaned()
    cleaned.ctx = ctx
    seen: dict[str, int] = {}
    for n, row in rows:
        try:
            clean = supervisee_clean(row, actor=actor, today=today, ctx=ctx)
        except InputErrors as exc:
            problems.append((n, list(exc.errors.items())))
            if exc.duplicate_id:
                dups.append(exc.duplicate_id)
            continue
        first = seen.setdefault(clean["id_number"], n)
        if first != n:
            problems.append((n, [("id_number", f"与第 {first} 行重复")]))
            continue
        cleaned.append(clean)
    return cleaned, problems, dups


def supervisee_bulk_create(*, actor, rows: list[tuple[int, Mapping[str, Any]]], today: date, ip: str = "",
                           families: list[tuple[list[dict], list[dict]]] | None = None,
                           ctx: CleanContext | None = None) -> ImportResult:
    """Many records in the caller's transaction: every row cleaned first (look-ups batched), then one INSERT per
    1,000 rows, no savepoint per row, and one audit record per person in bulk. `rows` are (row number, data).
    `families` (the demo) gives each row's contacts and correction team, created and audited with it.
    Raises ImportRefused, naming every bad row, before anything is written."""
    if not actor.can(Action.SUPERVISEE_CREATE):
        raise NotPermitted("您没有新增社区矫正对象的权限")
    cleaned, problems, dups = _clean_rows(actor=actor, rows=rows, today=today, ctx=ctx)
    if problems:
        raise ImportRefused(problems, duplicate_ids=dups)
    ctx = cleaned.ctx
    people = []
    for clean in cleaned:
        s = Supervisee(**clean, created_by=actor)
        s.org_path = s.judicial_office.path
        s.sort_name = rules.sort_name(s.name, s.is_minor)
        people.append(s)
    try:
        with transaction.atomic():
            Supervisee.objects.bulk_create(people, batch_size=1000)
    except IntegrityError:  # someone registered one of these numbers since the check
        taken = set(Supervisee.objects.filter(id_number__in=[p.id_number for p in people])
                    .values_list("id_number", flat=True))
        raise ImportRefused([(n, [("id_number", DUPLICATE_ID)]) for (n, r), p in zip(rows, people)
                             if p.id_number in taken], duplicate_ids=sorted(taken)) from None
    ctx.existing_ids.update(p.id_number for p in people)
    entries = [{"actor": actor, "kind": AuditRecord.Kind.CHANGE, "action": "supervisee.create",
                "object_type": "supervisee", "object_id": s.pk, "summary": f"新增社区矫正对象（{_sentence_label(s)}）",
                "after": snapshot(s), "ip": ip, "org_path": s.org_path} for s in people]
    if families:
        entries += _bulk_families(actor, people, families, ip)
    audit_records(entries)
    extensions.people_created(actor=actor, people=people, ip=ip)
    return ImportResult(people)


def _bulk_families(actor, people, families, ip) -> list[dict]:
    contacts, members = [], []
    for s, (cs, ms) in zip(people, families):
        contacts += [Contact(supervisee=s, **c) for c in cs]
        members += [TeamMember(supervisee=s, **m) for m in ms]
    Contact.objects.bulk_create(contacts, batch_size=1000)
    TeamMember.objects.bulk_create(members, batch_size=1000)
    where = {s.pk: s.org_path for s in people}
    entries = [{"actor": actor, "kind": AuditRecord.Kind.CHANGE, "action": "supervisee.contact_add",
                "object_type": "supervisee", "object_id": c.supervisee_id, "summary": f"添加家庭成员/联系人（{c.relation}）",
                "after": {"contact": c.pk, "relation": c.relation, "name": c.name}, "ip": ip,
                "org_path": where[c.supervisee_id]} for c in contacts]
    entries += [{"actor": actor, "kind": AuditRecord.Kind.CHANGE, "action": "supervisee.team_add",
                 "object_type": "supervisee", "object_id": m.supervisee_id,
                 "summary": f"矫正小组增加成员（{m.get_kind_display()}）",
                 "after": {"member": m.pk, "name": m.name, "kind": m.kind}, "ip": ip,
                 "org_path": where[m.supervisee_id]} for m in members]
    return entries


@_logs_duplicate_probes
@use_case
def supervisee_import(*, actor, rows: list[tuple[int, Mapping[str, Any]]], ip: str = "",
                      today: date | None = None, filename: str = "") -> ImportResult:
    """All rows or none, in one transaction: a bad row refuses the whole sheet, naming every problem."""
    if not actor.can(Action.SUPERVISEE_IMPORT):
        raise NotPermitted("您没有批量导入的权限")
    result = supervisee_bulk_create(actor=actor, rows=rows, today=today or today_local(), ip=ip)
    audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action="supervisee.import", object_type="supervisee",
                 summary=f"从表格导入 {len(result.created)} 名社区矫正对象",
                 after={"ids": [s.pk for s in result.created], "file": filename[:100]}, ip=ip)
    return result


def _update(*, actor, supervisee: Supervisee, data: Mapping[str, Any], ip: str = "",
            today: date | None = None) -> Supervisee:
    s = Supervisee.objects.select_for_update().get(pk=supervisee.pk)
    _may_change(actor, s)
    before = snapshot(s)
    old = Supervisee(id_number=s.id_number)
    judgment = [f for f in JUDGMENT_FIELDS if data.get(f) is not None]
    if judgment:
        raise InputErrors({f: JUDGMENT_ON_THE_CASE for f in judgment})
    merged = {f: data.get(f, getattr(s, f)) for f in EDITABLE_FIELDS}
    merged.update({f: getattr(s, f) for f in JUDGMENT_FIELDS})
    if "judicial_office" not in data:
        merged["judicial_office"] = s.judicial_office
    clean = supervisee_clean(merged, actor=actor, today=today or today_local(), instance=s)
    for k, v in clean.items():
        setattr(s, k, v)
    s.org_path = s.judicial_office.path  # clean() accepted only an office inside the editor's scope
    s.sort_name = rules.sort_name(s.name, s.is_minor)
    b, a = _changes(before, snapshot(s), old, s)
    s.changed_fields = list(a)
    if not a:
        return s
    try:
        with transaction.atomic():
            s.save()
    except IntegrityError:
        raise InputErrors({"id_number": DUPLICATE_ID}, duplicate_id=s.id_number) from None
    labels = "、".join(str(Supervisee._meta.get_field(k).verbose_name) for k in a)
    audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action="supervisee.update", object_type="supervisee",
                 object_id=s.pk, summary=f"修改{labels}", before=b, after=a, ip=ip, org_path=s.org_path)
    extensions.person_changed(actor=actor, person=s, fields=list(a), ip=ip)
    return s


def team_archive(*, actor, person: Supervisee, ip: str = "") -> list[dict]:
    """The correction team of a case that has ended, taken off the person so the next case forms its own (法25);
    returned for the ended case's record, and audited. Called by apps.cases inside its transaction."""
    members = list(person.team.all())
    kept = [{"name": m.name, "kind": m.kind, "gender": m.gender, "phone": m.phone, "knows_minors": m.knows_minors,
             "staff": m.staff_id} for m in members]
    if members:
        TeamMember.objects.filter(pk__in=[m.pk for m in members]).delete()
        audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action="supervisee.team_archive",
                     object_type="supervisee", object_id=person.pk,
                     summary=f"上次矫正的矫正小组（{len(members)}人）随原案件存档", before={"members": kept}, ip=ip,
                     org_path=person.org_path)
    return kept


def judgment_clean(person: Supervisee, raw: Mapping[str, Any], *, actor, today: date) -> dict:
    """A new judgment for this person's case, checked as the registration checks it (the term computed by
    rules.supervision_period): the judgment fields, the term and whether the case is a minor's. Raises InputErrors
    naming only the judgment's fields. Writes nothing."""
    merged: dict[str, Any] = {f: getattr(person, f) for f in EDITABLE_FIELDS}
    merged["judicial_office"] = person.judicial_office
    merged.update({f: raw.get(f, getattr(person, f)) for f in JUDGMENT_FIELDS})
    try:
        clean = supervisee_clean(merged, actor=actor, today=today, instance=person)
    except InputErrors as exc:
        raise InputErrors({k: v for k, v in exc.errors.items() if k in JUDGMENT_FIELDS}
                          or exc.errors) from None
    return {k: clean[k] for k in JUDGMENT_FIELDS + ("supervision_start", "supervision_end", "is_minor")
            if k in clean}


def supervisee_judgment_project(person: Supervisee, fields: Mapping[str, Any]) -> list[str]:
    """Write a changed judgment onto the person's row (the list filters by it). Called by apps.cases.services only,
    inside its transaction. Returns the fields that changed."""
    allowed = set(JUDGMENT_FIELDS) | {"supervision_start", "supervision_end", "is_minor"}
    if not fields.keys() <= allowed:
        raise ValueError(f"not a judgment field: {sorted(fields.keys() - allowed)}")
    changed = {k: v for k, v in fields.items() if getattr(person, k) != v}
    for k, v in changed.items():
        setattr(person, k, v)
    if changed:
        person.sort_name = rules.sort_name(person.name, person.is_minor)
        Supervisee.objects.filter(pk=person.pk).update(sort_name=person.sort_name, **changed)
    return list(changed)


def supervisee_project(person: Supervisee, **fields) -> None:
    """Write the open case's summary onto the person's row (status, level, office, term), which the lists filter
    and sort by. Called by apps.cases.services only, inside its transaction: the case is the record."""
    allowed = {"status", "management_level", "judicial_office", "execution_county", "org_path", "supervision_start",
               "supervision_end", "sentence_type", "is_minor", "residence_address"}
    if not fields.keys() <= allowed:
        raise ValueError(f"not a projected field: {sorted(fields.keys() - allowed)}")
    for k, v in fields.items():
        setattr(person, k, v)
    Supervisee.objects.filter(pk=person.pk).update(**fields)


@_logs_duplicate_probes
@use_case
def supervisee_update(*, actor, supervisee: Supervisee, data: Mapping[str, Any], ip: str = "",
                      today: date | None = None) -> Supervisee:
    return _update(actor=actor, supervisee=supervisee, data=data, ip=ip, today=today)


def _clean_contact(data: Mapping[str, Any]) -> dict:
    e: dict[str, str] = {}
    out: dict[str, Any] = {}
    _field(e, out, "name", rules.clean_person_name, data.get("name", ""))
    _field(e, out, "relation", rules.clean_text, data.get("relation", ""), label="关系", max_len=20, required=True)
    _field(e, out, "address", rules.clean_text, data.get("address", ""), label="地址", max_len=200)
    _field(e, out, "phone", rules.clean_phone, str(data.get("phone") or ""))
    if e:
        raise InputErrors(e)
    return out


@use_case
def contact_add(*, actor, supervisee: Supervisee, data: Mapping[str, Any], ip: str = "") -> Contact:
    _may_change(actor, supervisee)
    clean = _clean_contact(data)
    c = Contact.objects.create(supervisee=supervisee, is_guardian=bool(data.get("is_guardian")), **clean)
    audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action="supervisee.contact_add", object_type="supervisee",
                 object_id=supervisee.pk, summary=f"添加家庭成员/联系人（{c.relation}）",
                 after={"contact": c.pk, "relation": c.relation, "name": c.name}, ip=ip, org_path=supervisee.org_path)
    return c


@use_case
def team_member_add(*, actor, supervisee: Supervisee, data: Mapping[str, Any], ip: str = "") -> TeamMember:
    _may_change(actor, supervisee)
    e: dict[str, str] = {}
    out: dict[str, Any] = {}
    _field(e, out, "name", rules.clean_person_name, data.get("name", ""))
    out["kind"] = _choice(data.get("kind"), dict(TeamMember.Kind.choices), "身份", e, "kind")
    out["gender"] = _choice(data.get("gender"), {"M": "男", "F": "女"}, "性别", e, "gender")
    staff = None
    ref = str(data.get("staff") or "").strip()
    if ref:  # a staff account on the team: it answers for the office's deadlines of the case (责任人)
        staff = next((u for u in team_staff_choices(supervisee) if u.pk == parse_pk(ref)), None)
        if staff is None:
            e["staff"] = "只能选择本司法所或本县级社区矫正机构在职工作人员的账号"
        elif supervisee.team.filter(staff=staff).exists():
            e["staff"] = "该工作人员已在矫正小组中"
        elif out.get("kind") not in (TeamMember.Kind.OFFICE, TeamMember.Kind.SOCIAL_WORKER, TeamMember.Kind.VOLUNTEER):
            e["kind"] = "关联工作人员账号的成员，身份须为司法所工作人员、社会工作者或志愿者"
        else:  # what the account knows need not be typed again
            if "name" in e and not str(data.get("name") or "").strip() and staff.full_name:
                e.pop("name")
                out["name"] = staff.full_name[:30]
            if not data.get("gender") and staff.gender:
                e.pop("gender", None)
                out["gender"] = staff.gender
            if not out.get("phone") and staff.phone:
                out["phone"] = staff.phone
    if e:
        raise InputErrors(e)
    m = TeamMember.objects.create(supervisee=supervisee, knows_minors=bool(data.get("knows_minors")), staff=staff,
                                  **out)
    audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action="supervisee.team_add", object_type="supervisee",
                 object_id=supervisee.pk, summary=f"矫正小组增加成员（{m.get_kind_display()}）"
                                                  + ("，关联工作人员账号" if staff else ""),
                 after={"member": m.pk, "name": m.name, "kind": m.kind, "staff": m.staff_id}, ip=ip,
                 org_path=supervisee.org_path)
    extensions.team_changed(actor=actor, person=supervisee, ip=ip)
    return m


def team_staff_choices(supervisee: Supervisee) -> list:
    """The staff accounts that may sit on this person's team: active, of the responsible office or its county
    agency."""
    from django.contrib.auth import get_user_model

    return list(get_user_model().objects.filter(
        is_active=True, organisation_id__in=(supervisee.judicial_office_id, supervisee.execution_county_id))
        .select_related("organisation").order_by("organisation__path", "full_name", "id"))


@use_case
def team_member_remove(*, actor, supervisee: Supervisee, member_id: int, reason: str = "", ip: str = "") -> None:
    """Take a member off the correction team: a reason is required and recorded with what the team lacks after."""
    _may_change(actor, supervisee)
    m = TeamMember.objects.filter(supervisee=supervisee, pk=member_id).first()
    if m is None:
        raise InputErrors({"member": "该成员不存在"})
    try:
        reason = rules.clean_text(reason, label="移除理由", max_len=100)
    except rules.TextError as exc:
        raise InputErrors({"reason": str(exc)}) from None
    if not reason:
        raise InputErrors({"reason": "请填写移除理由（如：调离、辞职、不再适合），将记入变更历史"})
    before = {"member": m.pk, "name": m.name, "kind": m.kind, "staff": m.staff_id}
    m.delete()
    left = [rules.Member(x.gender, x.knows_minors) for x in supervisee.team.all()]
    problems = rules.team_problems(gender=supervisee.gender, minor=supervisee.is_minor, members=left)
    supervisee.team_problems_after = problems
    audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action="supervisee.team_remove", object_type="supervisee",
                 object_id=supervisee.pk, summary=f"矫正小组移除成员（{m.get_kind_display()}）：{reason}", before=before,
                 after={"reason": reason, "team_problems": problems}, ip=ip, org_path=supervisee.org_path)
    if before.get("staff"):
        extensions.team_changed(actor=actor, person=supervisee, ip=ip)


PHOTO_MAX_BYTES = 5 * 1024 * 1024
PHOTO_MAX_PIXELS = 40_000_000


@dataclass(frozen=True)
class CheckedPhoto:
    data: bytes
    ext: str


def photo_check(upload) -> CheckedPhoto:
    """Is this a real JPEG or PNG, of a sane size, usable for face check-in? Reads nothing into the database,
    so a form can check the photo before it writes anything else."""
    from io import BytesIO

    from PIL import Image, UnidentifiedImageError

    data = upload.read(PHOTO_MAX_BYTES + 1)
    if len(data) > PHOTO_MAX_BYTES:
        raise InputErrors({"photo": "照片不能超过 5 MB"})
    try:
        with Image.open(BytesIO(data)) as img:
            fmt, (w, h) = img.format, img.size
            if w * h > PHOTO_MAX_PIXELS:
                raise InputErrors({"photo": "照片像素过大，请上传普通证件照"})
            img.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise InputErrors({"photo": "无法识别的图片，请上传 JPG 或 PNG 照片"}) from None
    if fmt not in ("JPEG", "PNG"):
        raise InputErrors({"photo": "照片须为 JPG 或 PNG 格式"})
    if min(w, h) < 160:
        raise InputErrors({"photo": "照片太小，短边至少 160 像素，才能用于人脸核验"})
    return CheckedPhoto(data, "jpg" if fmt == "JPEG" else "png")


def _set_photo(*, actor, supervisee: Supervisee, photo: CheckedPhoto, ip: str) -> Supervisee:
    from django.core.files.base import ContentFile

    s = Supervisee.objects.select_for_update().get(pk=supervisee.pk)
    old = s.photo.name if s.photo else ""
    s.photo.save(f"s{s.pk}.{photo.ext}", ContentFile(photo.data), save=True)
    audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action="supervisee.photo", object_type="supervisee",
                 object_id=s.pk, summary="更新照片", before={"photo": old}, after={"photo": s.photo.name}, ip=ip,
                 org_path=s.org_path)
    return s


@use_case
def supervisee_set_photo(*, actor, supervisee: Supervisee, upload=None, photo: CheckedPhoto | None = None,
                         ip: str = "") -> Supervisee:
    """Store the photo used for face check-in (checked here unless the caller checked it already)."""
    _may_change(actor, supervisee)
    return _set_photo(actor=actor, supervisee=supervisee, photo=photo or photo_check(upload), ip=ip)


@_logs_duplicate_probes
@use_case
def supervisee_register(*, actor, data: Mapping[str, Any], photo: CheckedPhoto | None = None, ip: str = "",
                        today: date | None = None) -> Supervisee:
    """The create form: the record and its photo in one transaction (a failure leaves neither). A registration
    on the form opens the case at intake (待报到): reporting in and the announcement follow on the case tab."""
    s = _create(actor=actor, data={**data, "status": data.get("status") or rules.Status.PENDING.value}, ip=ip,
                today=today, readmit=True)
    if photo:
        _set_photo(actor=actor, supervisee=s, photo=photo, ip=ip)
    return s


@_logs_duplicate_probes
@use_case
def supervisee_edit(*, actor, supervisee: Supervisee, data: Mapping[str, Any], photo: CheckedPhoto | None = None,
                    ip: str = "", today: date | None = None) -> Supervisee:
    """The edit form: the changes and a new photo in one transaction."""
    s = _update(actor=actor, supervisee=supervisee, data=data, ip=ip, today=today)
    if photo:
        _set_photo(actor=actor, supervisee=s, photo=photo, ip=ip)
    return s


# --- Excel import: check, stage, confirm -----------------------------------------------------------------
@dataclass(frozen=True)
class ImportCheck:
    total: int
    problems: list[tuple[int, dict, list[tuple[str, str]]]]  # (row number, row, [(column header, message)])
    preview: list[tuple[int, dict]]
    token: str = ""  # set when the sheet is clean and staged for confirmation


IMPORT_KEEP_SECONDS = 24 * 3600


def supervisee_import_check(*, actor, data: bytes, filename: str, ip: str = "", today: date | None = None
                            ) -> ImportCheck:
    """Read and check a sheet without writing any record: every bad row with every reason. A clean sheet is
    staged in the file storage for the officer to confirm (from any web process); the officer's older staged
    sheet is dropped. Duplicate-ID answers are logged. Raises sheets.SheetError for a file that is not a sheet."""
    import secrets

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from . import sheets
    from .models import StagedImport

    if not actor.can(Action.SUPERVISEE_IMPORT):
        raise NotPermitted("您没有批量导入的权限")
    parsed = sheets.parse_sheet(data)
    cleaned, problems, dups = _clean_rows(actor=actor, rows=parsed.rows, today=today or today_local(), ctx=None)
    if dups:
        record_duplicate_hits(actor=actor, id_numbers=dups, ip=ip)
    by_row = dict(parsed.rows)
    shown = [(n, by_row[n], [(sheets.header_label(k), m) for k, m in errs]) for n, errs in problems]
    if shown:
        return ImportCheck(len(parsed.rows), shown, [])
    token = secrets.token_hex(16)
    with transaction.atomic():
        for old in StagedImport.objects.select_for_update().filter(user=actor):
            default_storage.delete(old.file)
            old.delete()
        name = default_storage.save(f"imports/{actor.pk}-{token}.xlsx", ContentFile(data))
        StagedImport.objects.create(token=token, user=actor, file=name, filename=filename[:200], rows=len(parsed.rows))
    return ImportCheck(len(parsed.rows), [], parsed.rows[:20], token)


class StagedImportMissing(Exception):
    message = "导入已过期或无效，请重新上传"


@_logs_duplicate_probes
@use_case
def supervisee_import_staged(*, actor, token: str, ip: str = "", today: date | None = None) -> ImportResult:
    """Write a staged sheet: all rows or none. The staged file is removed either way."""
    from django.core.files.storage import default_storage

    from . import sheets
    from .models import StagedImport

    if not actor.can(Action.SUPERVISEE_IMPORT):
        raise NotPermitted("您没有批量导入的权限")
    staged = StagedImport.objects.select_for_update().filter(token=token or "-", user=actor).first()
    if staged is None:
        raise StagedImportMissing()
    try:
        with default_storage.open(staged.file, "rb") as fh:
            parsed = sheets.parse_sheet(fh.read())
    except FileNotFoundError:
        raise StagedImportMissing() from None
    result = supervisee_bulk_create(actor=actor, rows=parsed.rows, today=today or today_local(), ip=ip)
    audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action="supervisee.import", object_type="supervisee",
                 summary=f"从表格导入 {len(result.created)} 名社区矫正对象",
                 after={"ids": [s.pk for s in result.created], "file": staged.filename}, ip=ip)
    name = staged.file
    staged.delete()
    transaction.on_commit(lambda: default_storage.delete(name))
    return result


def staged_import_discard(*, actor, token: str) -> None:
    """Throw away a staged sheet after a refused confirmation (the rows were never written)."""
    from django.core.files.storage import default_storage

    from .models import StagedImport

    for st in StagedImport.objects.filter(token=token or "-", user=actor):
        default_storage.delete(st.file)
        st.delete()


def staged_imports_sweep(*, now=None) -> int:
    """Remove sheets staged more than a day ago and never confirmed (a daily beat task)."""
    from datetime import timedelta

    from django.core.files.storage import default_storage

    from .models import StagedImport

    now = now or timezone.now()
    old = list(StagedImport.objects.filter(created_at__lt=now - timedelta(seconds=IMPORT_KEEP_SECONDS)))
    for st in old:
        default_storage.delete(st.file)
        st.delete()
    return len(old)


# --- Excel export -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ExportResult:
    count: int
    data: bytes = b""  # built at once (a small list)
    job: Any = None  # or an ExportJob building in the background


def _export_title(actor, count: int) -> str:
    return f"社区矫正对象名单（导出：{actor}，{today_local().isoformat()}，共{count}人）"


def _filters_dict(filters) -> dict:
    from dataclasses import asdict

    return asdict(filters)


def _logged_filters(filters) -> dict:
    """The filters as the audit log keeps them: the search text masked (rules.mask_query)."""
    d = dict(filters) if isinstance(filters, dict) else _filters_dict(filters)
    d["q"] = rules.mask_query(d.get("q", ""))
    return d


def supervisee_export(*, actor, filters, ip: str = "") -> ExportResult:
    """The current list (its filters) as a workbook: built at once up to ZHIJIAO_EXPORT_INLINE_MAX rows, otherwise
    as a background job with progress, the file kept for download. Either way one audit record names every
    person exported, written when the rows are read."""
    from django.conf import settings

    from . import sheets
    from .models import ExportJob
    from .selectors import present, supervisee_list

    if not actor.can(Action.SUPERVISEE_EXPORT):
        raise NotPermitted("您没有导出的权限")
    qs = supervisee_list(fetched_by=actor, filters=filters, action=Action.SUPERVISEE_EXPORT)
    n = qs.count()
    if n <= settings.ZHIJIAO_EXPORT_INLINE_MAX:
        people = list(qs)
        data = sheets.export_bytes([present(actor, s) for s in people], title=_export_title(actor, len(people)))
        with transaction.atomic():
            _export_audit(actor, filters, [s.pk for s in people], ip)
        return ExportResult(len(people), data=data)
    from zhijiao.background import submit

    from .tasks import export_build

    with transaction.atomic():
        job = ExportJob.objects.create(requested_by=actor, filters=_filters_dict(filters), total=n,
                                       scope_path=actor.scope_path, revealed_minors=bool(actor.minor_access))
        audit_record(actor=actor, kind=AuditRecord.Kind.EXPORT, action="supervisee.export_requested",
                     object_type="export", object_id=job.pk, summary=f"申请导出社区矫正对象名单（约 {n} 人，后台生成）",
                     after={"filters": _logged_filters(job.filters), "count": n}, ip=ip)
        submit(export_build, job.pk, ip)
    return ExportResult(n, job=job)


def _export_audit(actor, filters, ids: list[int], ip: str, job=None) -> None:
    audit_record(actor=actor, kind=AuditRecord.Kind.EXPORT, action="supervisee.export", object_type="supervisee",
                 summary=f"导出社区矫正对象名单 {len(ids)} 人" + (f"（导出任务 {job.pk}）" if job else ""),
                 after={"filters": _logged_filters(filters), "count": len(ids), "ids": ids}, ip=ip)


@dataclass(frozen=True)
class _Reader:
    """A requester as an export job sees them: their permissions and scope, and the minors' grant only if they
    held it both when they asked and when the file is built."""

    can: Any
    scope_path: str
    minor_access: bool
    is_authenticated: bool = True
    organisation: Any = None


def export_job_build(*, job_id: int, ip: str = "") -> None:
    """Build an export job's file in the background: rows read in batches, progress saved every 1,000 rows, the
    file saved to storage, the read of every person exported audited, the job marked done (or failed, with the
    reason shown to the officer)."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from . import sheets
    from .models import ExportJob
    from .selectors import SuperviseeFilters, present, supervisee_list

    job = ExportJob.objects.select_related("requested_by__organisation").get(pk=job_id)
    actor = job.requested_by
    ExportJob.objects.filter(pk=job.pk).update(state=ExportJob.State.RUNNING)
    try:
        if job.scope_path != actor.scope_path or not actor.can(Action.SUPERVISEE_EXPORT):
            raise PermissionError("申请导出后，申请人的辖区或权限已变更")
        # the file shows no more than the requester could see both when asking and now
        reader = _Reader(actor.can, actor.scope_path, job.revealed_minors and actor.minor_access)
        filters = SuperviseeFilters(**job.filters)
        qs = supervisee_list(fetched_by=reader, filters=filters, action=Action.SUPERVISEE_EXPORT)
        ids: list[int] = []

        def rows():
            for s in qs.iterator(chunk_size=2000):
                ids.append(s.pk)
                yield present(reader, s)

        def progress(done):
            ExportJob.objects.filter(pk=job.pk).update(done=done)

        data = sheets.export_bytes(rows(), title=_export_title(actor, job.total), progress=progress)
        name = default_storage.save(f"exports/{actor.pk}/supervisees-{job.pk}-{today_local().isoformat()}.xlsx",
                                    ContentFile(data))
        with transaction.atomic():
            _export_audit(actor, job.filters, ids, ip, job=job)
            ExportJob.objects.filter(pk=job.pk).update(state=ExportJob.State.DONE, done=len(ids), total=len(ids),
                                                       file=name, finished_at=timezone.now())
    except PermissionError as exc:
        ExportJob.objects.filter(pk=job.pk).update(state=ExportJob.State.FAILED, finished_at=timezone.now(),
                                                   error=f"未生成：{exc}"[:300])
    except Exception as exc:  # noqa: BLE001 - the officer sees that it failed and why; the log has the trace
        ExportJob.objects.filter(pk=job.pk).update(state=ExportJob.State.FAILED, finished_at=timezone.now(),
                                                   error=f"生成失败：{type(exc).__name__}"[:300])
        raise


def export_job_download(*, actor, job, ip: str = "") -> bytes:
    """The finished file; each download is a read of the people in it, and logged."""
    from django.core.files.storage import default_storage

    if job.state != job.State.DONE or not job.file:
        raise NotFound()
    # the file shows what the officer could see when it was built: not after a move, nor a withdrawn grant
    if job.scope_path != actor.scope_path or (job.revealed_minors and not actor.minor_access):
        raise NotFound()
    try:
        with default_storage.open(job.file, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        raise NotFound() from None
    with transaction.atomic():
        audit_record(actor=actor, kind=AuditRecord.Kind.EXPORT, action="supervisee.export_download",
                     object_type="export", object_id=job.pk, summary=f"下载导出文件（{job.total} 人）", ip=ip)
    return data


def export_jobs_sweep(*, now=None) -> int:
    """Delete export files older than ZHIJIAO_EXPORT_KEEP_DAYS (a daily beat task); the jobs stay, marked."""
    from datetime import timedelta

    from django.conf import settings
    from django.core.files.storage import default_storage

    from .models import ExportJob

    now = now or timezone.now()
    # a job whose process stopped (a restart) never finishes: after an hour it is marked failed, to be asked again
    ExportJob.objects.filter(state__in=[ExportJob.State.QUEUED, ExportJob.State.RUNNING],
                             created_at__lt=now - timedelta(hours=1)).update(
        state=ExportJob.State.FAILED, finished_at=now, error="生成中断（服务重启），请重新导出")
    old = ExportJob.objects.filter(finished_at__lt=now - timedelta(days=settings.ZHIJIAO_EXPORT_KEEP_DAYS)).exclude(file="")
    n = 0
    for job in old:
        default_storage.delete(job.file)
        ExportJob.objects.filter(pk=job.pk).update(file="", error="文件已超过保存期限，已删除")
        n += 1
    return n
