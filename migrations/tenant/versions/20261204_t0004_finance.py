"""Finance: chart of accounts, fiscal periods, journal entries, period balances, and the triggers
that keep the ledger right whatever writes to it (docs/finance.md)

Revision ID: t0004
Revises: t0003
Create Date: 2026-12-04 23:03:01.960185
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "t0004"
down_revision: str | Sequence[str] | None = "t0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Functions resolve the tenant's own tables through `SET search_path FROM CURRENT` (the migration and
# the provisioning script run under the tenant's search_path; spares are re-pointed on rename).
# Messages start with a stable code the service layer maps back (app/finance/services/posting.py).
TRIGGERS = [
    """
CREATE FUNCTION fin_check_entry_balance() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    eid bigint;
    st text;
    d numeric;
    c numeric;
BEGIN
    IF TG_TABLE_NAME = 'fin_entry_lines' THEN
        IF TG_OP = 'DELETE' THEN eid := OLD.entry_id; ELSE eid := NEW.entry_id; END IF;
    ELSE
        eid := NEW.id;
    END IF;
    SELECT status INTO st FROM fin_entries WHERE id = eid;
    IF st IS DISTINCT FROM 'posted' THEN
        RETURN NULL;
    END IF;
    SELECT coalesce(sum(debit), 0), coalesce(sum(credit), 0) INTO d, c
      FROM fin_entry_lines WHERE entry_id = eid;
    IF d <> c OR d = 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'check_violation',
            MESSAGE = 'fin_unbalanced_entry: entry ' || eid || ' has debits ' || d || ' and credits ' || c;
    END IF;
    RETURN NULL;
END
$$
""",
    """
CREATE CONSTRAINT TRIGGER fin_entry_lines_balanced
AFTER INSERT OR UPDATE OR DELETE ON fin_entry_lines
DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION fin_check_entry_balance()
""",
    """
CREATE CONSTRAINT TRIGGER fin_entries_balanced
AFTER INSERT OR UPDATE ON fin_entries
DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION fin_check_entry_balance()
""",
    """
CREATE FUNCTION fin_guard_entry() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    p_status text;
    p_year int;
    p_month int;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status = 'posted' THEN
        RAISE EXCEPTION USING ERRCODE = 'check_violation',
            MESSAGE = 'fin_posted_entry_immutable: entry ' || OLD.id || ' is posted; reverse it instead';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    IF NEW.status = 'posted' THEN
        SELECT status, year, month INTO p_status, p_year, p_month FROM fin_periods WHERE id = NEW.period_id;
        IF p_status IS DISTINCT FROM 'open' THEN
            RAISE EXCEPTION USING ERRCODE = 'check_violation',
                MESSAGE = 'fin_period_closed: period ' || NEW.period_id || ' is closed';
        END IF;
        IF extract(year FROM NEW.entry_date) <> p_year OR extract(month FROM NEW.entry_date) <> p_month THEN
            RAISE EXCEPTION USING ERRCODE = 'check_violation',
                MESSAGE = 'fin_period_mismatch: the entry date is outside period ' || NEW.period_id;
        END IF;
    END IF;
    RETURN NEW;
END
$$
""",
    """
CREATE TRIGGER fin_entries_guard BEFORE INSERT OR UPDATE OR DELETE ON fin_entries
FOR EACH ROW EXECUTE FUNCTION fin_guard_entry()
""",
    """
CREATE FUNCTION fin_guard_line() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        IF EXISTS (SELECT 1 FROM fin_entries WHERE id = OLD.entry_id AND status = 'posted') THEN
            RAISE EXCEPTION USING ERRCODE = 'check_violation',
                MESSAGE = 'fin_posted_entry_immutable: entry ' || OLD.entry_id || ' is posted; reverse it instead';
        END IF;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    IF EXISTS (SELECT 1 FROM fin_entries WHERE id = NEW.entry_id AND status = 'posted') THEN
        RAISE EXCEPTION USING ERRCODE = 'check_violation',
            MESSAGE = 'fin_posted_entry_immutable: entry ' || NEW.entry_id || ' is posted; reverse it instead';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM fin_accounts WHERE id = NEW.account_id AND postable) THEN
        RAISE EXCEPTION USING ERRCODE = 'check_violation',
            MESSAGE = 'fin_account_not_postable: account ' || NEW.account_id || ' is a group account';
    END IF;
    RETURN NEW;
END
$$
""",
    """
CREATE TRIGGER fin_entry_lines_guard BEFORE INSERT OR UPDATE OR DELETE ON fin_entry_lines
FOR EACH ROW EXECUTE FUNCTION fin_guard_line()
""",
    """
CREATE FUNCTION fin_add_period_balances() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO fin_period_balances AS b (account_id, period_id, debit, credit)
    SELECT account_id, NEW.period_id, sum(debit), sum(credit)
      FROM fin_entry_lines WHERE entry_id = NEW.id
     GROUP BY account_id ORDER BY account_id
    ON CONFLICT (account_id, period_id)
    DO UPDATE SET debit = b.debit + EXCLUDED.debit, credit = b.credit + EXCLUDED.credit;
    RETURN NULL;
END
$$
""",
    """
CREATE TRIGGER fin_entries_post_balances AFTER UPDATE OF status ON fin_entries
FOR EACH ROW WHEN (OLD.status = 'draft' AND NEW.status = 'posted')
EXECUTE FUNCTION fin_add_period_balances()
""",
]

DROP_TRIGGERS = [
    "DROP TRIGGER IF EXISTS fin_entries_post_balances ON fin_entries",
    "DROP TRIGGER IF EXISTS fin_entry_lines_guard ON fin_entry_lines",
    "DROP TRIGGER IF EXISTS fin_entries_guard ON fin_entries",
    "DROP TRIGGER IF EXISTS fin_entries_balanced ON fin_entries",
    "DROP TRIGGER IF EXISTS fin_entry_lines_balanced ON fin_entry_lines",
    "DROP FUNCTION IF EXISTS fin_add_period_balances()",
    "DROP FUNCTION IF EXISTS fin_guard_line()",
    "DROP FUNCTION IF EXISTS fin_guard_entry()",
    "DROP FUNCTION IF EXISTS fin_check_entry_balance()",
]


def upgrade() -> None:
    # ### commands auto generated by Alembic - please adjust! ###
    op.create_table(
        "fin_accounts",
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("type", sa.String(length=10), nullable=False),
        sa.Column("parent_id", sa.BigInteger(), nullable=True),
        sa.Column("postable", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "type IN ('asset', 'liability', 'equity', 'income', 'expense')", name=op.f("ck_fin_accounts_type")
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["fin_accounts.id"], name=op.f("fk_fin_accounts_parent_id_fin_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fin_accounts")),
        sa.UniqueConstraint("code", name=op.f("uq_fin_accounts_code")),
    )
    op.create_index(op.f("ix_fin_accounts_parent_id"), "fin_accounts", ["parent_id"], unique=False)
    op.create_table(
        "fin_periods",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.CheckConstraint("status IN ('open', 'closed')", name=op.f("ck_fin_periods_status")),
        sa.CheckConstraint("month BETWEEN 1 AND 12", name=op.f("ck_fin_periods_month")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fin_periods")),
        sa.UniqueConstraint("year", "month", name=op.f("uq_fin_periods_year_month")),
    )
    op.create_table(
        "fin_settings",
        sa.Column("id", sa.SmallInteger(), nullable=False),
        sa.Column("chart_template", sa.String(length=10), nullable=False),
        sa.Column("base_currency", sa.String(length=3), nullable=False),
        sa.Column(
            "installed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.CheckConstraint("chart_template IN ('cas', 'ifrs')", name=op.f("ck_fin_settings_chart_template")),
        sa.CheckConstraint("id = 1", name=op.f("ck_fin_settings_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fin_settings")),
    )
    op.create_table(
        "fin_entries",
        sa.Column("journal", sa.String(length=20), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=True),
        sa.Column("entry_date", sa.Date(), nullable=False),
        sa.Column("period_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("memo", sa.Text(), nullable=False),
        sa.Column("source_type", sa.String(length=40), nullable=True),
        sa.Column("source_id", sa.BigInteger(), nullable=True),
        sa.Column("reversal_of", sa.BigInteger(), nullable=True),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("posted_by", sa.String(length=80), nullable=True),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "journal IN ('general', 'receipts', 'payments')", name=op.f("ck_fin_entries_journal")
        ),
        sa.CheckConstraint(
            "status = 'draft' OR number IS NOT NULL", name=op.f("ck_fin_entries_posted_numbered")
        ),
        sa.CheckConstraint("status IN ('draft', 'posted')", name=op.f("ck_fin_entries_status")),
        sa.ForeignKeyConstraint(
            ["period_id"], ["fin_periods.id"], name=op.f("fk_fin_entries_period_id_fin_periods")
        ),
        sa.ForeignKeyConstraint(
            ["reversal_of"], ["fin_entries.id"], name=op.f("fk_fin_entries_reversal_of_fin_entries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fin_entries")),
        sa.UniqueConstraint("number", name=op.f("uq_fin_entries_number")),
        sa.UniqueConstraint("reversal_of", name=op.f("uq_fin_entries_reversal_of")),
    )
    op.create_index("ix_fin_entries_period_journal", "fin_entries", ["period_id", "journal"], unique=False)
    op.create_index("ix_fin_entries_source", "fin_entries", ["source_type", "source_id"], unique=False)
    op.create_table(
        "fin_period_balances",
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("period_id", sa.BigInteger(), nullable=False),
        sa.Column("debit", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("credit", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["fin_accounts.id"], name=op.f("fk_fin_period_balances_account_id_fin_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["period_id"], ["fin_periods.id"], name=op.f("fk_fin_period_balances_period_id_fin_periods")
        ),
        sa.PrimaryKeyConstraint("account_id", "period_id", name=op.f("pk_fin_period_balances")),
    )
    op.create_table(
        "fin_voucher_counters",
        sa.Column("journal", sa.String(length=20), nullable=False),
        sa.Column("period_id", sa.BigInteger(), nullable=False),
        sa.Column("last_value", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["period_id"], ["fin_periods.id"], name=op.f("fk_fin_voucher_counters_period_id_fin_periods")
        ),
        sa.PrimaryKeyConstraint("journal", "period_id", name=op.f("pk_fin_voucher_counters")),
    )
    op.create_table(
        "fin_entry_lines",
        sa.Column("entry_id", sa.BigInteger(), nullable=False),
        sa.Column("line_no", sa.SmallInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("debit", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("credit", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("cost_centre", sa.String(length=40), nullable=True),
        sa.Column("partner_id", sa.BigInteger(), nullable=True),
        sa.Column("memo", sa.String(length=200), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.CheckConstraint("(debit = 0) <> (credit = 0)", name=op.f("ck_fin_entry_lines_debit_xor_credit")),
        sa.CheckConstraint("debit >= 0 AND credit >= 0", name=op.f("ck_fin_entry_lines_not_negative")),
        sa.ForeignKeyConstraint(
            ["account_id"], ["fin_accounts.id"], name=op.f("fk_fin_entry_lines_account_id_fin_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["fin_entries.id"], name=op.f("fk_fin_entry_lines_entry_id_fin_entries")
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["crm_accounts.id"], name=op.f("fk_fin_entry_lines_partner_id_crm_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fin_entry_lines")),
    )
    op.create_index("ix_fin_entry_lines_account", "fin_entry_lines", ["account_id", "entry_id"], unique=False)
    op.create_index(op.f("ix_fin_entry_lines_entry_id"), "fin_entry_lines", ["entry_id"], unique=False)
    op.create_index(op.f("ix_fin_entry_lines_partner_id"), "fin_entry_lines", ["partner_id"], unique=False)
    # ### end Alembic commands ###
    for statement in TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    for statement in DROP_TRIGGERS:
        op.execute(statement)
    # ### commands auto generated by Alembic - please adjust! ###
    op.drop_index(op.f("ix_fin_entry_lines_partner_id"), table_name="fin_entry_lines")
    op.drop_index(op.f("ix_fin_entry_lines_entry_id"), table_name="fin_entry_lines")
    op.drop_index("ix_fin_entry_lines_account", table_name="fin_entry_lines")
    op.drop_table("fin_entry_lines")
    op.drop_table("fin_voucher_counters")
    op.drop_table("fin_period_balances")
    op.drop_index("ix_fin_entries_source", table_name="fin_entries")
    op.drop_index("ix_fin_entries_period_journal", table_name="fin_entries")
    op.drop_table("fin_entries")
    op.drop_table("fin_settings")
    op.drop_table("fin_periods")
    op.drop_index(op.f("ix_fin_accounts_parent_id"), table_name="fin_accounts")
    op.drop_table("fin_accounts")
    # ### end Alembic commands ###
