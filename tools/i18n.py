"""Message extraction and catalogue upkeep for Tessera's three languages (PLAT-5).

    python3 dev.py i18n            # extract → app/locale/messages.pot, update both .po catalogues
    python3 dev.py i18n check      # list what is missing, empty, fuzzy or has wrong placeholders

Extraction uses Babel's own extractors (Python tokens, Jinja templates) in-process, so the test
suite runs exactly the same extraction (tests/kernel/test_catalogues.py). Babel's keyword model
maps one argument of a call to one msgid; a few of our constructors carry two user-visible
strings (``BuiltinRole(key, name, description)``), so the keyword table below lists, per call
name, every argument position that holds a msgid of its own.

Where a message reaches a translation call through a variable, extraction cannot see it: wrap
the English literal in ``lazy("...")`` where it is defined (docs/i18n.md).

A word that means different things in different places gets a message context: ``pgettext(ctx,
msg)`` and ``lazy_p(ctx, msg)`` in Python, ``pgettext(ctx, msg)`` and ``{% trans "ctx" %}`` in
templates become catalogue entries with ``msgctxt``, checked like any other entry.
"""

from __future__ import annotations

import gettext
import io
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_python
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from jinja2.ext import babel_extract

ROOT = Path(__file__).resolve().parent.parent
LOCALE_DIR = ROOT / "app" / "locale"
POT_FILE = LOCALE_DIR / "messages.pot"
# Our catalogue names → the Babel locale whose plural rules and metadata apply.
CATALOGUES = {"zh_Hans": "zh_Hans_CN", "zh_Hant": "zh_Hant_TW"}

PYTHON_DIRS = ("app", "tenants", "portals", "workers")
TEMPLATE_GLOBS = (
    "portals/**/templates/**/*.html",
    "app/**/templates/**/*.html",
    "app/**/templates/**/*.txt",
)

# Call name → the 1-based argument positions that each hold one msgid. A call whose argument at
# that position is not a string literal (a variable, a nested call) contributes nothing there.
PYTHON_KEYWORDS: dict[str, tuple[int, ...]] = {
    "gettext": (1,),  # i18n.gettext("...", name=...)
    "_": (1,),
    "lazy": (1,),  # marked for extraction, translated where shown
    "FieldError": (2,),  # FieldError(field, message, params)
    "DomainError": (2,),  # DomainError(code, message)
    "Conflict": (2,),
    "Forbidden": (1,),
    "TooManyRequests": (2,),
    "P": (2,),  # permissions: P(key, label)
    "Permission": (2,),
    "BuiltinRole": (2, 3),  # BuiltinRole(key, name, description, ...)
    "Kind": (2,),  # notification kinds: Kind(key, label)
    "Column": (2,),  # table columns: Column(key, label)
    "Filter": (2,),  # table filters: Filter(key, label, ...)
    "NavItem": (1, 2),  # NavItem(section, label, ...)
    "_refused": (2,),  # app/security/services/sso_login.py: _refused(code, message, **params)
}
# Plural calls: (singular position, plural position).
PYTHON_PLURAL_KEYWORDS: dict[str, tuple[int, int]] = {
    "ngettext": (1, 2),
    "lazy_n": (1, 2),  # an error message with a count {n}, translated where shown
}
# Calls with a message context (msgctxt): (context position, msgid position) ...
PYTHON_CONTEXT_KEYWORDS: dict[str, tuple[int, int]] = {
    "pgettext": (1, 2),  # i18n.pgettext("ticket", "Pending")
    "lazy_p": (1, 2),  # marked with a context, translated where shown
}
# ... and (context, singular, plural) positions.
PYTHON_CONTEXT_PLURAL_KEYWORDS: dict[str, tuple[int, int, int]] = {"npgettext": (1, 2, 3)}
# Templates: _/gettext(msg), ngettext(s, p, n), pgettext(ctx, msg), npgettext(ctx, s, p, n); the
# {% trans %} tag compiles to the same calls ({% trans "ctx" %} to pgettext/npgettext).
TEMPLATE_KEYWORDS = ("_", "gettext", "ngettext", "pgettext", "npgettext")

# Placeholders: {name} in Python msgids (str.format), %(name)s in templates (Jinja newstyle).
_BRACE = re.compile(r"(?<!\{)\{([A-Za-z_]\w*)(?:[!:][^{}]*)?\}(?!\})")
_PERCENT = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[sdifr]")


def placeholders(text: str) -> set[str]:
    """The named placeholders of a msgid or translation, style-tagged: ``{n}`` and ``%(n)s``."""
    braces = {f"{{{m}}}" for m in _BRACE.findall(text)}
    percents = {f"%({m})" for m in _PERCENT.findall(text)}
    return braces | percents


@dataclass(frozen=True)
class Found:
    msgid: str | tuple[str, str]
    path: str
    lineno: int
    context: str | None = None


def describe(msgid: str | tuple[str, ...] | list[str], context: str | None = None) -> str:
    """How a problem names an entry: 'Pending', or 'Pending' (context 'ticket')."""
    label = msgid if isinstance(msgid, str) else msgid[0]
    return f"{label!r} (context {context!r})" if context is not None else repr(label)


def _python_files() -> Iterator[Path]:
    for d in PYTHON_DIRS:
        yield from sorted((ROOT / d).rglob("*.py"))


def _template_files() -> Iterator[Path]:
    seen: set[Path] = set()
    for pattern in TEMPLATE_GLOBS:
        for p in sorted(ROOT.glob(pattern)):
            if p not in seen:
                seen.add(p)
                yield p


def _from_python(path: Path) -> Iterator[Found]:
    keywords = [
        *PYTHON_KEYWORDS,
        *PYTHON_PLURAL_KEYWORDS,
        *PYTHON_CONTEXT_KEYWORDS,
        *PYTHON_CONTEXT_PLURAL_KEYWORDS,
    ]
    rel = path.relative_to(ROOT).as_posix()
    with path.open("rb") as fh:
        for lineno, funcname, messages, _comments in extract_python(fh, keywords, [], {}):
            args = list(messages) if isinstance(messages, tuple) else [messages]

            def arg(i: int, args: list[str | None] = args) -> str | None:
                return args[i - 1] if len(args) >= i and isinstance(args[i - 1], str) else None

            if funcname in PYTHON_PLURAL_KEYWORDS:
                s, p = (arg(i) for i in PYTHON_PLURAL_KEYWORDS[funcname])
                if s and p:
                    yield Found((s, p), rel, lineno)
                continue
            if funcname in PYTHON_CONTEXT_KEYWORDS:
                ctx, text = (arg(i) for i in PYTHON_CONTEXT_KEYWORDS[funcname])
                if ctx and text:
                    yield Found(text, rel, lineno, ctx)
                continue
            if funcname in PYTHON_CONTEXT_PLURAL_KEYWORDS:
                ctx, s, p = (arg(i) for i in PYTHON_CONTEXT_PLURAL_KEYWORDS[funcname])
                if ctx and s and p:
                    yield Found((s, p), rel, lineno, ctx)
                continue
            for i in PYTHON_KEYWORDS[funcname]:
                text = arg(i)
                if text:
                    yield Found(text, rel, lineno)


def _from_template(path: Path) -> Iterator[Found]:
    rel = path.relative_to(ROOT).as_posix()
    # Same whitespace rules as the real environment (app/kernel/templating.py), so {% trans %}
    # blocks give the msgids that are looked up at run time.
    options = {"trim_blocks": "true", "lstrip_blocks": "true", "silent": "false"}
    with path.open("rb") as fh:
        for lineno, func, message, _comments in babel_extract(fh, TEMPLATE_KEYWORDS, [], options):
            # One entry per argument, None where it is not a literal (keyword arguments included).
            args = [*message] if isinstance(message, tuple) else [message]
            ctx: str | None = None
            if func in ("pgettext", "npgettext"):
                ctx, *args = (*args, None)
                if not (isinstance(ctx, str) and ctx):
                    continue
            s, p = (*args, None, None)[:2]
            if func in ("ngettext", "npgettext"):
                if isinstance(s, str) and isinstance(p, str) and s and p:
                    yield Found((s, p), rel, lineno, ctx)
            elif isinstance(s, str) and s:
                yield Found(s, rel, lineno, ctx)


def extract() -> Catalog:
    """Every msgid in the code and templates, as a template catalogue (the .pot)."""
    catalog = Catalog(
        project="Tessera",
        version="1",
        msgid_bugs_address="",
        copyright_holder="Tessera",
        charset="utf-8",
        creation_date=datetime(2026, 1, 1, tzinfo=UTC),
        fuzzy=False,
    )
    found: Iterable[Found] = [
        *(f for p in _python_files() for f in _from_python(p)),
        *(f for p in _template_files() for f in _from_template(p)),
    ]
    for f in found:
        catalog.add(f.msgid, locations=[(f.path, None)], context=f.context)
    return catalog


def read_catalogue(locale: str) -> Catalog:
    path = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as fh:
        return read_po(fh, locale=CATALOGUES[locale], abort_invalid=True)


def _write(catalog: Catalog, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    write_po(buf, catalog, width=100, sort_output=True, include_lineno=False, ignore_obsolete=True)
    path.write_bytes(buf.getvalue())


def update() -> dict[str, int]:
    """Extract, write the .pot, and merge it into each catalogue (translations are kept;
    msgids that left the code are dropped; no fuzzy guesses for new ones)."""
    template = extract()
    _write(template, POT_FILE)
    untranslated: dict[str, int] = {}
    for locale, babel_locale in CATALOGUES.items():
        path = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
        if path.exists():
            catalog = read_catalogue(locale)
        else:
            catalog = Catalog(
                locale=babel_locale,
                project="Tessera",
                version="1",
                copyright_holder="Tessera",
                msgid_bugs_address="",
                last_translator="Tessera",
                language_team=f"Tessera {locale}",
                header_comment=f"# Tessera {locale} catalogue: see docs/i18n.md.",
                fuzzy=False,
            )
        catalog.update(template, no_fuzzy_matching=True, update_header_comment=False)
        catalog.locale = babel_locale  # type: ignore[assignment]
        catalog.fuzzy = False
        catalog.revision_date = datetime(2026, 1, 1, tzinfo=UTC)
        _write(catalog, path)
        untranslated[locale] = sum(1 for m in catalog if m.id and not _translated(m))
    return untranslated


def _translated(m: Message) -> bool:
    if isinstance(m.string, tuple | list):
        return all(bool(s) for s in m.string)
    return bool(m.string)


def problems(locale: str, template: Catalog | None = None) -> list[str]:
    """Everything wrong with one catalogue file, one line each (empty = all good)."""
    try:
        catalog = read_catalogue(locale)
    except Exception as exc:  # a .po that does not parse
        return [f"{locale}: cannot read the catalogue: {exc}"]
    return catalogue_problems(locale, template or extract(), catalog)


def catalogue_problems(locale: str, template: Catalog, catalog: Catalog) -> list[str]:
    """Missing, empty or fuzzy translations, placeholders that differ from the msgid's, Babel's
    own format checks, and whether the catalogue compiles."""
    out: list[str] = []
    for msg in template:
        if not msg.id:
            continue
        entry = catalog.get(msg.id, context=msg.context)
        label = describe(msg.id, msg.context)
        if entry is None:
            out.append(f"{locale}: missing: {label}")
            continue
        if entry.fuzzy:
            out.append(f"{locale}: fuzzy: {label}")
        if not _translated(entry):
            out.append(f"{locale}: not translated: {label}")
            continue
        wanted = placeholders(msg.id[-1] if isinstance(msg.id, tuple) else msg.id)
        strings = entry.string if isinstance(entry.string, tuple | list) else [entry.string]
        for s in strings:
            got = placeholders(s)
            if got != wanted:
                out.append(
                    f"{locale}: placeholders differ in {label}: "
                    f"msgid has {sorted(wanted)}, translation has {sorted(got)}"
                )
    for msg in catalog:
        if msg.id and msg.fuzzy and template.get(msg.id, context=msg.context) is None:
            out.append(f"{locale}: fuzzy: {describe(msg.id, msg.context)}")
    for msg, errors in catalog.check():
        for err in errors:
            out.append(f"{locale}: {describe(msg.id, msg.context)}: {err}")
    try:
        buf = io.BytesIO()
        write_mo(buf, catalog)
        buf.seek(0)
        gettext.GNUTranslations(buf)
    except Exception as exc:
        out.append(f"{locale}: does not compile: {exc}")
    return out


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "update"
    if command == "update":
        counts = update()
        with POT_FILE.open("rb") as fh:
            total = sum(1 for m in read_po(fh) if m.id)
        _say(f"{POT_FILE.relative_to(ROOT)}: {total} msgids")
        for locale, n in counts.items():
            _say(f"{locale}: {n} to translate (python3 dev.py i18n check)" if n else f"{locale}: complete")
        return 0
    if command == "check":
        template = extract()
        issues = [line for locale in CATALOGUES for line in problems(locale, template)]
        _say("\n".join(issues) if issues else "catalogues complete")
        return 1 if issues else 0
    _say(__doc__ or "")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
