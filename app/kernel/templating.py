"""The one Jinja2 environment for portal pages and e-mails.

Templates are found by convention, without importing the packages that own them:
``portals/templates`` (layout and reusable pieces), ``portals/<portal>/templates`` and
``app/<context>/templates`` (e-mails). Names are namespaced by folder (``admin/users.html``,
``mail/invitation.txt``) so two packages never shadow each other silently.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from app.kernel import i18n

ROOT = Path(__file__).resolve().parent.parent.parent


def template_dirs() -> list[Path]:
    dirs = [ROOT / "portals" / "templates"]
    dirs += sorted(p for p in (ROOT / "portals").glob("*/templates") if p.is_dir())
    dirs += sorted(p for p in (ROOT / "app").glob("*/templates") if p.is_dir())
    return dirs


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader([str(d) for d in template_dirs()]),
        autoescape=select_autoescape(["html", "htm", "xml"], default_for_string=True),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=i18n.jinja_gettext,
        ngettext=i18n.jinja_ngettext,
        pgettext=i18n.jinja_pgettext,
        npgettext=i18n.jinja_npgettext,
        newstyle=True,
    )
    env.globals.update(
        LOCALES=i18n.LOCALES,
        html_lang=i18n.html_lang,
        format_datetime=i18n.format_datetime,
        format_date=i18n.format_date,
        format_percent=i18n.format_percent,
        format_money=i18n.format_money,
        format_number=i18n.format_number,
        tr=i18n.gettext,
    )
    return env
