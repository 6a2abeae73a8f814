"""public.tessera_cjk_bigrams(text): CJK names as bigram lexemes for full-text search

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 22:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Chinese has no spaces: the 'simple' parser keeps a whole run (上海华信科技) as one word, and
    # pg_trgm cannot index a two-character search (张伟, 明辉) — so every run of two or more CJK
    # characters also contributes its bigrams (上海 海华 华信 信科 科技). A two-character query is
    # then one GIN lookup, a longer one an AND of its bigrams (app/crm/services/search.py). Tenant
    # search columns call it (schema-qualified) in their generated expressions, so it is IMMUTABLE.
    op.execute(
        r"""
        CREATE FUNCTION public.tessera_cjk_bigrams(t text) RETURNS tsvector
        LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
          SELECT coalesce(array_to_tsvector(array_agg(DISTINCT substr(m.run[1], i, 2))), ''::tsvector)
          FROM regexp_matches(t, '[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]{2,}', 'g') AS m(run),
               generate_series(1, char_length(m.run[1]) - 1) AS i
        $$
        """
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS public.tessera_cjk_bigrams(text)")
