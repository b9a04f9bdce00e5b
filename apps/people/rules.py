"""Rules about a supervisee's identity and sentence, as pure functions. No Django here."""
from __future__ import annotations

import calendar
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum


class SentenceType(StrEnum):
    CONTROL = "control"  # 管制
    PROBATION = "probation"  # 缓刑
    PAROLE = "parole"  # 假释
    MEDICAL_PAROLE = "medical_parole"  # 暂予监外执行


SENTENCE_LABELS = {
    SentenceType.CONTROL: "管制",
    SentenceType.PROBATION: "缓刑",
    SentenceType.PAROLE: "假释",
    SentenceType.MEDICAL_PAROLE: "暂予监外执行",
}


class Ground(StrEnum):
    """The ground of a temporary execution outside prison (暂予监外执行, 刑事诉讼法第265条)."""
    MEDICAL = "medical"  # 有严重疾病需要保外就医
    PREGNANT = "pregnant"  # 怀孕或者正在哺乳自己婴儿的妇女
    INCAPABLE = "incapable"  # 生活不能自理，适用暂予监外执行不致危害社会


GROUND_LABELS = {Ground.MEDICAL: "保外就医", Ground.PREGNANT: "怀孕或者正在哺乳自己婴儿",
                 Ground.INCAPABLE: "生活不能自理"}


def ground_problem(sentence_type: str, ground: str) -> str | None:
    """刑事诉讼法第265条: a 暂予监外执行 is decided on one of three grounds, and which one decides the supervision
    (only 保外就医 owes the hospital's re-examination, 实施办法第24条). Other sentences have none."""
    if sentence_type == SentenceType.MEDICAL_PAROLE and ground not in {g.value for g in Ground}:
        return "请选择暂予监外执行情形：" + "、".join(GROUND_LABELS.values()) + "（刑事诉讼法第265条）"
    if sentence_type != SentenceType.MEDICAL_PAROLE and ground:
        return "暂予监外执行情形只适用于暂予监外执行，其他矫正类别请留空"
    return None


class Level(StrEnum):
    STRICT = "strict"
    NORMAL = "normal"
    LENIENT = "lenient"


LEVEL_LABELS = {Level.STRICT: "严管", Level.NORMAL: "普管", Level.LENIENT: "宽管"}


class Status(StrEnum):
    PENDING = "pending"  # 待报到/待接收
    ACTIVE = "active"  # 在矫
    RELEASED = "released"  # 解除矫正
    TERMINATED = "terminated"  # 终止矫正


STATUS_LABELS = {Status.PENDING: "待接收", Status.ACTIVE: "在矫", Status.RELEASED: "解矫", Status.TERMINATED: "终止"}

ETHNICITIES = (
    "汉族 蒙古族 回族 藏族 维吾尔族 苗族 彝族 壮族 布依族 朝鲜族 满族 侗族 瑶族 白族 土家族 哈尼族 哈萨克族 傣族 黎族 傈僳族 "
    "佤族 畲族 高山族 拉祜族 水族 东乡族 纳西族 景颇族 柯尔克孜族 土族 达斡尔族 仫佬族 羌族 布朗族 撒拉族 毛南族 仡佬族 锡伯族 "
    "阿昌族 普米族 塔吉克族 怒族 乌孜别克族 俄罗斯族 鄂温克族 德昂族 保安族 裕固族 京族 塔塔尔族 独龙族 鄂伦春族 赫哲族 门巴族 "
    "珞巴族 基诺族"
).split()
assert len(ETHNICITIES) == 56


# --- national ID number (GB 11643-1999) ------------------------------------
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_ID_RE = re.compile(r"^[0-9]{17}[0-9X]$")  # ASCII only: full-width digits are normalised first


def id_check_digit(first17: str) -> str:
    """ISO 7064 MOD 11-2 over the first 17 digits."""
    return _CHECK[sum(int(c) * w for c, w in zip(first17, _WEIGHTS)) % 11]


@dataclass(frozen=True)
class IdInfo:
    number: str
    region: str
    birth_date: date
    gender: str  # "M" / "F"


class IdError(ValueError):
    pass


def parse_id_number(raw: str, *, today: date) -> IdInfo:
    """Validate an 18-digit ID number and read region, birth date and gender from it.
    A lower-case x is accepted and normalised. The legacy 15-digit form is refused."""
    # NFKC turns full-width digits and Ｘ into ASCII, so one person cannot be registered twice
    # under two spellings of the same number.
    number = unicodedata.normalize("NFKC", str(raw or "")).strip().upper()
    if len(number) == 15 and number.isascii() and number.isdigit():
        raise IdError("这是旧式15位身份证号，请填写18位公民身份号码")
    if not number:
        raise IdError("请填写公民身份号码")
    if len(number) != 18:
        raise IdError(f"身份证号应为18位，现为{len(number)}位")
    if not _ID_RE.fullmatch(number):
        raise IdError("身份证号前17位须为数字，最后一位为数字或X")
    region = number[:6]
    if region[:2] in ("00", "99") or region == "999999":
        raise IdError("身份证号地址码无效")
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise IdError("身份证号中的出生日期不存在") from None
    if born > today:
        raise IdError("身份证号中的出生日期晚于今天")
    if id_check_digit(number[:17]) != number[17]:
        raise IdError("身份证号校验码错误，请核对后重新输入")
    return IdInfo(number, region, born, "M" if int(number[16]) % 2 else "F")


def mask_id(number: str) -> str:
    if len(number) < 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def mask_name(name: str) -> str:
    """张三 -> 张*, 欧阳娜娜 -> 欧***; a minor's name in a list."""
    if not name:
        return ""
    return name[0] + "*" * max(1, len(name) - 1)


def sort_name(name: str, is_minor: bool) -> str:
    """The key a list sorted by name uses for a reader without the minors' grant: a sealed name is placed by what
    that reader sees of it (its first character), so its place tells nothing more."""
    return (name[:1] + "*") if is_minor else name


def mask_query(q: str) -> str:
    """What an officer searched for, as the audit log keeps it: digits (an ID or phone number) masked like an ID
    number, a name like a minor's name; the log is append-only, so it never holds either in clear."""
    q = (q or "").strip()
    if not q:
        return ""
    if sum(c.isdigit() for c in q) >= 4:  # (part of) an ID or phone number: no more than 2 characters each end
        return q[:2] + "*" * (len(q) - 4) + q[-2:] if len(q) >= 10 else "*" * len(q)
    return mask_name(q)


# --- names and free text: apps.orgs.text (staff forms use them too, and orgs sits below people) ---------
from apps.orgs.text import TextError, clean_person_name, clean_phone, clean_text  # noqa: E402,F401


# --- the supervision period ----------------------------------------------------
def add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class Sentence:
    sentence_type: SentenceType
    judgment_date: date  # 判决/裁定/决定作出日期
    effective_date: date  # 生效日期
    term_months: int | None = None  # 管制刑期 / 缓刑考验期（月）
    detention_days: int = 0  # 管制：判决前先行羁押天数
    release_date: date | None = None  # 假释/暂予监外执行：出监（所）日期
    sentence_end_date: date | None = None  # 假释/暂予监外执行：原判刑期止日


@dataclass(frozen=True)
class Period:
    start: date | None
    end: date | None
    basis: str
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def supervision_period(s: Sentence) -> Period:
    """Start and end of community corrections, from the sentence.

    - 管制: from the day the judgment is enforced; one day of prior detention offsets two days (刑法第41条).
    - 缓刑: the probation period runs from the day the judgment takes effect (刑法第73条).
    - 假释: the remaining term, from the day of release on parole (刑法第83条).
    - 暂予监外执行: from the day of release until the original term ends (刑事诉讼法第268条; the term keeps running).
    The end is the day before the same date N months later (a term of 1 year from 2026-01-10 ends 2027-01-09)."""
    e: dict[str, str] = {}
    if s.effective_date < s.judgment_date:
        e["effective_date"] = "生效日期不能早于判决（裁定、决定）日期"
    t = s.sentence_type
    if t in (SentenceType.CONTROL, SentenceType.PROBATION):
        limits = (3, 24) if t == SentenceType.CONTROL else (2, 60)
        if not s.term_months:
            e["term_months"] = "请填写管制刑期（月）" if t == SentenceType.CONTROL else "请填写缓刑考验期（月）"
        elif not limits[0] <= s.term_months <= limits[1]:
            what = "管制刑期" if t == SentenceType.CONTROL else "缓刑考验期"
            e["term_months"] = f"{what}应在{limits[0]}至{limits[1]}个月之间"
        if s.detention_days < 0:
            e["detention_days"] = "先行羁押天数不能为负数"
        if e:
            return Period(None, None, "", e)
        start = s.effective_date
        end = add_months(start, s.term_months) - timedelta(days=1)
        if t == SentenceType.CONTROL:
            end -= timedelta(days=2 * s.detention_days)
            if end < start:
                e["detention_days"] = "先行羁押折抵后刑期已执行完毕，无需社区矫正"
                return Period(None, None, "", e)
            return Period(start, end, "刑法第41条：管制刑期自判决执行之日起计算，先行羁押一日折抵刑期二日")
        return Period(start, end, "刑法第73条：缓刑考验期限从判决确定之日起计算")
    # parole, medical parole
    if not s.release_date:
        e["release_date"] = "请填写出监（所）日期"
    if not s.sentence_end_date:
        e["sentence_end_date"] = "请填写原判刑期止日"
    if e:
        return Period(None, None, "", e)
    if s.release_date < s.judgment_date:
        e["release_date"] = "出监（所）日期不能早于裁定（决定）日期"
    if s.sentence_end_date <= s.release_date:
        e["sentence_end_date"] = "原判刑期止日应晚于出监（所）日期"
    if e:
        return Period(None, None, "", e)
    if t == SentenceType.PAROLE:
        return Period(s.release_date, s.sentence_end_date, "刑法第83条：假释考验期限为没有执行完毕的刑期，从假释之日起计算")
    return Period(s.release_date, s.sentence_end_date,
                  "刑事诉讼法第268条：暂予监外执行期间计入执行刑期（以不正当手段取得的除外），至原判刑期届满")


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def is_minor_case(born: date, start: date) -> bool:
    """A minor case is one whose supervisee was under 18 when supervision began; it stays one after
    the 18th birthday (社区矫正法 第58条)."""
    return age_on(born, start) < 18


@dataclass(frozen=True)
class Member:
    gender: str
    knows_minors: bool = False


def team_problems(*, gender: str, minor: bool, members: list[Member]) -> list[str]:
    """What the correction team still lacks under 社区矫正法 第25条 and 第52条."""
    problems = []
    if not members:
        problems.append("尚未组建矫正小组（社区矫正法第25条）")
        return problems
    if gender == "F" and not any(m.gender == "F" for m in members):
        problems.append("矫正对象为女性，矫正小组应当有女性成员（社区矫正法第25条）")
    if minor and not any(m.knows_minors for m in members):
        problems.append("未成年矫正对象的矫正小组应有熟悉未成年人身心特点的人员（社区矫正法第52条）")
    return problems


# --- ages of criminal responsibility (刑法第17条, as amended by 刑法修正案（十一）, in force 2021-03-01) ----------
# 已满十四周岁不满十六周岁: only these offences. The charge for drugs is 走私、贩卖、运输、制造毒品罪; at 14-15 only
# 贩卖 counts, so a sheet may write either.
CRIMES_FROM_14 = frozenset({"故意杀人罪", "故意伤害罪", "强奸罪", "抢劫罪", "贩卖毒品罪", "走私、贩卖、运输、制造毒品罪",
                            "放火罪", "爆炸罪", "投放危险物质罪"})
# 已满十二周岁不满十四周岁: intentional homicide or injury causing death or grave disability, with the Supreme
# People's Procuratorate's approval to prosecute.
CRIMES_FROM_12 = frozenset({"故意杀人罪", "故意伤害罪"})


def criminal_responsibility_problem(*, age_at_judgment: int, crime: str) -> str | None:
    """What 刑法第17条 says against this conviction, or None. The age at the offence is at most the age at the
    judgment, so a judgment given before 16 (or 14, or 12) is certain to concern an offence committed before it."""
    if age_at_judgment >= 16:
        return None
    if age_at_judgment < 12:
        return "判决时未满12周岁，依刑法第17条不负刑事责任，请核对出生日期"
    if age_at_judgment < 14 and crime not in CRIMES_FROM_12:
        return (f"判决时未满14周岁，依刑法第17条第三款仅对故意杀人、故意伤害致人死亡或以特别残忍手段致人重伤造成严重"
                f"残疾的行为负刑事责任，罪名“{crime}”不在其列，请核对出生日期或罪名")
    if crime not in CRIMES_FROM_14:
        return (f"判决时未满16周岁，依刑法第17条第二款仅对故意杀人、故意伤害致人重伤或者死亡、强奸、抢劫、贩卖毒品、"
                f"放火、爆炸、投放危险物质负刑事责任，罪名“{crime}”不在其列，请核对出生日期或罪名")
    return None
