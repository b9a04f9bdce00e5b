"""Names, phone numbers and free text as typed into a form or a sheet: normalised, or refused with a message in
Chinese. Pure Python; used by the staff forms here and by the supervisee forms (apps.people.rules)."""
from __future__ import annotations

import re
import unicodedata

_NAME_RE = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff·•A-Za-z .'-]+$")


class TextError(ValueError):
    pass


def clean_person_name(raw: str) -> str:
    """A person's name: Chinese characters, the middle dot of minority names, or Latin letters.
    Markup, digits and control characters are refused, so a script in a name never reaches a page."""
    name = unicodedata.normalize("NFKC", str(raw or "")).strip()
    name = name.replace("•", "·")
    if not name:
        raise TextError("请填写姓名")
    if len(name) > 30:
        raise TextError("姓名不能超过30个字符")
    if not _NAME_RE.fullmatch(name):
        raise TextError("姓名只能包含汉字、间隔号“·”或英文字母，不能包含数字、符号或代码")
    return name


_PHONE_RE = re.compile(r"^(1[3-9][0-9]{9}|0[0-9]{2,3}-?[0-9]{7,8})$")


def clean_phone(raw: str, *, required: bool = False) -> str:
    phone = re.sub(r"[\s()（）]", "", unicodedata.normalize("NFKC", str(raw or "")))
    if phone.startswith("+86"):  # written the international way
        phone = phone[3:].lstrip("-")
    if not phone:
        if required:
            raise TextError("请填写联系电话")
        return ""
    if not _PHONE_RE.fullmatch(phone):
        raise TextError("电话号码格式不正确（手机11位，以1开头；座机如 0791-86123456）")
    return phone


_MARKUP_RE = re.compile(r"[<>]|javascript:", re.IGNORECASE)


def clean_text(raw: str, *, label: str, max_len: int = 200, required: bool = False) -> str:
    # NFC, not NFKC: full-width brackets and commas in document numbers (（2026）赣0102刑初1号) stay as written
    text = unicodedata.normalize("NFC", str(raw or "")).strip()
    if not text:
        if required:
            raise TextError(f"请填写{label}")
        return ""
    if len(text) > max_len:
        raise TextError(f"{label}不能超过{max_len}个字符")
    if _MARKUP_RE.search(text) or any(unicodedata.category(c) in ("Cc", "Cf") for c in text):
        raise TextError(f"{label}不能包含尖括号、代码或控制字符")
    if text[0] in "=+-@":
        raise TextError(f"{label}不能以 = + - @ 开头（会被表格软件当作公式）")
    return text




_USERNAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{2,150}$")


def clean_username(raw: str) -> str:
    """A sign-in name: 2 to 150 letters, digits or _ . @ -, nothing cut off silently."""
    name = unicodedata.normalize("NFKC", str(raw or "")).strip()
    if not name:
        raise TextError("请填写用户名")
    if len(name) > 150:
        raise TextError("用户名不能超过150个字符")
    if not _USERNAME_RE.fullmatch(name):
        raise TextError("用户名只能包含英文字母、数字和 _ . @ -，至少2个字符")
    return name
