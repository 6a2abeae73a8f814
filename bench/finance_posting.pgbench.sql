-- pgbench script of bench/finance_posting.py: one sales order → confirmation → invoice → posted entry
-- → outbox events per iteration, in plain SQL, against the tenant schema (PGOPTIONS sets
-- search_path). It makes the writes the API makes for POST /api/v1/crm/orders and POST
-- /api/v1/crm/orders/{id}/confirm with invoicing on confirmation (finance_posting.py --show-sql
-- lists the API's statements): the same rows in the same tables, the counters taken at the same
-- points —
--   order:        order-number counter, the order with its totals, its four lines; 5 audit rows
--   confirmation: the order locked and confirmed, its audit row and crm.sales_order_confirmed; the
--                 invoice's id (identity sequence); the period (FOR SHARE), the entry as a draft,
--                 its three lines (receivable, revenue, output VAT); the invoice number, the
--                 voucher number (counter upserts) and the entry posted in one statement
--                 (triggers); the invoice with its entry, its four lines, the order marked invoiced,
--                 their 2 audit rows (journal entries have none); finance.entry_posted and
--                 finance.invoice_issued
-- What it leaves out is the API's reads (the order, accounts, settings, tax rates, posting rules,
-- products) that the SQL does not need because it computes in place.
--
-- Like the API, an iteration is TWO database transactions: the order, then its confirmation with
-- everything finance does. (In one transaction the order-number counter, taken first, would hold its
-- row lock through the invoice and the entry, and every iteration would wait for the previous one:
-- `finance_posting.py --pgbench-one-transaction` runs it that way.) pgbench counts an iteration as
-- one "transaction", so its tps is orders confirmed and invoiced per second, as on the API side.
--
-- Variables from the harness (-D): first_account, last_account, first_product, last_product,
-- tenant_id, receivable, revenue, output_vat (account ids of 1122, 6001, 222101), actor_id.
-- Casts are explicit so that -M prepared (parameters instead of text) works.
\set account random(:first_account, :last_account)
\set p1 random(:first_product, :last_product)
\set p2 random(:first_product, :last_product)
\set p3 random(:first_product, :last_product)
\set p4 random(:first_product, :last_product)
\set q1 random(1, 20)
\set q2 random(1, 20)
\set q3 random(1, 20)
\set q4 random(1, 20)
-- === POST /api/v1/crm/orders ===
BEGIN;
INSERT INTO crm_number_sequences AS s (key, next_value)
    VALUES ('sales_order:' || extract(year FROM current_date), 2)
    ON CONFLICT (key) DO UPDATE SET next_value = s.next_value + 1
    RETURNING next_value - 1 AS so_n \gset
-- the order written with its totals (the API computes them from the priced lines before the insert)
WITH v(pid, q) AS (VALUES (:p1::bigint, :q1::numeric), (:p2::bigint, :q2::numeric), (:p3::bigint, :q3::numeric),
                          (:p4::bigint, :q4::numeric)),
     n AS (SELECT round(v.q * p.list_price, 2) AS net, round(round(v.q * p.list_price, 2) * p.tax_rate / 100, 2) AS tax
           FROM v JOIN crm_products AS p ON p.id = v.pid),
     t AS (SELECT sum(net) AS net, sum(tax) AS tax FROM n)
INSERT INTO crm_sales_orders (number, account_id, status, currency, order_date, customer_reference,
                              shipping_address, subtotal, discount_total, tax_total, total)
    SELECT 'SO-' || extract(year FROM current_date) || '-'
            || CASE WHEN :so_n::bigint < 100000 THEN lpad(:so_n::text, 5, '0') ELSE :so_n::text END,
           :account::bigint, 'draft', 'CNY', current_date, 'bench', NULL, t.net, 0, t.tax, t.net + t.tax
    FROM t
    RETURNING id AS order_id \gset
INSERT INTO audit_log (at, actor_kind, actor_id, actor_label, action, event, entity_type, entity_id, before,
                       after, ip, user_agent, request_id)
    SELECT now(), 'api_client', :actor_id::bigint, 'pgbench', 'crm_sales_orders.create', 'crm.sales_order_created',
           'crm_sales_orders', o.id::text, NULL, to_jsonb(o), '127.0.0.1', 'pgbench', md5(random()::text)
    FROM crm_sales_orders AS o WHERE o.id = :order_id::bigint;
WITH l AS (
    INSERT INTO crm_sales_order_lines (order_id, position, product_id, description, quantity, unit, unit_price,
                                       discount_percent, tax_rate, net_amount, discount_amount, tax_amount,
                                       total_amount)
    SELECT :order_id::bigint, v.pos, p.id, p.name, v.q, p.unit, p.list_price, 0, p.tax_rate, n.net, 0, n.tax,
           n.net + n.tax
    FROM (VALUES (1, :p1::bigint, :q1::numeric), (2, :p2::bigint, :q2::numeric), (3, :p3::bigint, :q3::numeric),
                 (4, :p4::bigint, :q4::numeric)) AS v(pos, pid, q)
    JOIN crm_products AS p ON p.id = v.pid,
    LATERAL (SELECT round(v.q * p.list_price, 2) AS net,
                    round(round(v.q * p.list_price, 2) * p.tax_rate / 100, 2) AS tax) AS n
    RETURNING *
)
INSERT INTO audit_log (at, actor_kind, actor_id, actor_label, action, event, entity_type, entity_id, before,
                       after, ip, user_agent, request_id)
    SELECT now(), 'api_client', :actor_id::bigint, 'pgbench', 'crm_sales_order_lines.create',
           'crm.sales_order_created', 'crm_sales_order_lines', l.id::text, NULL, to_jsonb(l), '127.0.0.1',
           'pgbench', md5(random()::text)
    FROM l;
COMMIT;
-- === POST /api/v1/crm/orders/{id}/confirm ===
BEGIN;
SELECT id FROM crm_sales_orders WHERE id = :order_id::bigint FOR UPDATE;
WITH o AS (UPDATE crm_sales_orders SET status = 'confirmed', confirmed_at = now(), updated_at = now()
           WHERE id = :order_id::bigint RETURNING id, confirmed_at)
INSERT INTO audit_log (at, actor_kind, actor_id, actor_label, action, event, entity_type, entity_id, before,
                       after, ip, user_agent, request_id)
    SELECT now(), 'api_client', :actor_id::bigint, 'pgbench', 'crm_sales_orders.update', 'crm.sales_order_confirmed',
           'crm_sales_orders', o.id::text, '{"status": "draft", "confirmed_at": null}',
           jsonb_build_object('status', 'confirmed', 'confirmed_at', o.confirmed_at), '127.0.0.1', 'pgbench',
           md5(random()::text)
    FROM o;
-- crm.sales_order_confirmed, in the confirmation's own flush (its lines in the payload)
INSERT INTO public.outbox (event_id, tenant_id, topic, payload, created_at, available_at, attempts)
    SELECT gen_random_uuid(), :tenant_id::bigint, 'crm.sales_order_confirmed',
           jsonb_build_object('order_id', o.id, 'number', o.number, 'account_id', o.account_id,
                              'currency', o.currency, 'order_date', o.order_date, 'confirmed_at', o.confirmed_at,
                              'subtotal', o.subtotal, 'tax_total', o.tax_total, 'total', o.total,
                              'lines', (SELECT jsonb_agg(to_jsonb(l)) FROM crm_sales_order_lines AS l
                                        WHERE l.order_id = o.id)),
           now(), now(), 0
    FROM crm_sales_orders AS o WHERE o.id = :order_id::bigint;
-- the invoice's id (from its identity sequence), so that the entry can name its source
SELECT nextval(pg_get_serial_sequence('fin_invoices', 'id')) AS invoice_id \gset
-- the entry through the posting door's steps: the period locked FOR SHARE (it exists: the harness's
-- check before the runs posted into it, as a month's first posting creates it), a draft, three
-- lines, the voucher number (counter upsert), flipped to posted — the triggers fin_guard_entry,
-- fin_add_period_balances and the deferred balance check run (journal entries have no audit rows)
SELECT id AS period_id FROM fin_periods
    WHERE year = extract(year FROM current_date) AND month = extract(month FROM current_date) FOR SHARE \gset
INSERT INTO fin_entries (journal, entry_date, period_id, status, memo, source_type, source_id)
    VALUES ('general', current_date, :period_id::bigint, 'draft', 'bench', 'finance.invoice', :invoice_id::bigint)
    RETURNING id AS entry_id \gset
INSERT INTO fin_entry_lines (entry_id, line_no, account_id, debit, credit, partner_id, memo)
    SELECT :entry_id::bigint, v.no, v.account, v.debit, v.credit, v.partner, ''
    FROM crm_sales_orders AS o,
         LATERAL (VALUES (1, :receivable::bigint, o.total, 0::numeric, o.account_id),
                         (2, :revenue::bigint, 0, o.subtotal, NULL),
                         (3, :output_vat::bigint, 0, o.tax_total, NULL)) AS v(no, account, debit, credit, partner)
    WHERE o.id = :order_id::bigint;
-- the invoice number and the voucher number (counter upserts, the document's first) and the flip to
-- posted, in one statement, as the posting door does for an invoice (posting.post_numbering)
WITH d AS (INSERT INTO fin_document_counters AS c (series, year, last_value)
               VALUES ('INV', extract(year FROM current_date), 1)
               ON CONFLICT (series, year) DO UPDATE SET last_value = c.last_value + 1
               RETURNING last_value),
     v AS (INSERT INTO fin_voucher_counters AS c (journal, period_id, last_value)
               SELECT 'general', :period_id::bigint, 1 FROM d
               ON CONFLICT (journal, period_id) DO UPDATE SET last_value = c.last_value + 1
               RETURNING last_value)
UPDATE fin_entries SET status = 'posted', posted_at = now(), posted_by = 'pgbench', updated_at = now(),
       number = '记-' || to_char(current_date, 'YYYY-MM') || '-'
                || lpad((SELECT last_value FROM v)::text, greatest(4, length((SELECT last_value FROM v)::text)), '0')
    WHERE id = :entry_id::bigint
    RETURNING (SELECT last_value FROM d) AS inv_n \gset
-- the invoice, written once with its number and entry, its audit row and four lines
WITH i AS (
    INSERT INTO fin_invoices (id, kind, number, account_id, sales_order_id, issue_date, due_date, currency,
                              subtotal, tax_total, total, paid, credited, entry_id, memo)
    SELECT :invoice_id::bigint, 'invoice', 'INV-' || extract(year FROM current_date) || '-'
                      || CASE WHEN :inv_n::int < 100000 THEN lpad(:inv_n::text, 5, '0') ELSE :inv_n::text END,
           account_id, id, current_date, current_date + 30, currency, subtotal, tax_total, total, 0, 0,
           :entry_id::bigint, number
    FROM crm_sales_orders WHERE id = :order_id::bigint
    RETURNING *
)
INSERT INTO audit_log (at, actor_kind, actor_id, actor_label, action, event, entity_type, entity_id, before,
                       after, ip, user_agent, request_id)
    SELECT now(), 'api_client', :actor_id::bigint, 'pgbench', 'fin_invoices.create', 'finance.invoice_issued',
           'fin_invoices', i.id::text, NULL, to_jsonb(i), '127.0.0.1', 'pgbench', md5(random()::text)
    FROM i;
INSERT INTO fin_invoice_lines (invoice_id, line_no, description, product_id, sku, quantity, unit, unit_price,
                               tax_rate, net_amount, tax_amount, total_amount, account_id)
    SELECT :invoice_id::bigint, l.position, l.description, l.product_id, p.sku, l.quantity, l.unit, l.unit_price,
           l.tax_rate, l.net_amount, l.tax_amount, l.total_amount, :revenue::bigint
    FROM crm_sales_order_lines AS l LEFT JOIN crm_products AS p ON p.id = l.product_id
    WHERE l.order_id = :order_id::bigint;
-- the order marked invoiced, with its audit row
WITH o AS (UPDATE crm_sales_orders AS o SET status = 'invoiced', invoiced_at = now(), updated_at = now(),
                  invoice_ref = i.number
           FROM fin_invoices AS i WHERE o.id = :order_id::bigint AND i.id = :invoice_id::bigint
           RETURNING o.id, o.status, o.invoiced_at, o.invoice_ref)
INSERT INTO audit_log (at, actor_kind, actor_id, actor_label, action, event, entity_type, entity_id, before,
                       after, ip, user_agent, request_id)
    SELECT now(), 'api_client', :actor_id::bigint, 'pgbench', 'crm_sales_orders.update', 'crm.sales_order_invoiced',
           'crm_sales_orders', o.id::text, '{"status": "confirmed", "invoiced_at": null, "invoice_ref": null}',
           jsonb_build_object('status', o.status, 'invoiced_at', o.invoiced_at, 'invoice_ref', o.invoice_ref),
           '127.0.0.1', 'pgbench', md5(random()::text)
    FROM o;
-- the outbox events of the posted entry and the issued invoice, in the same transaction
INSERT INTO public.outbox (event_id, tenant_id, topic, payload, created_at, available_at, attempts)
    SELECT gen_random_uuid(), :tenant_id::bigint, 'finance.entry_posted',
           jsonb_build_object('entry_id', e.id, 'number', e.number, 'journal', e.journal, 'entry_date', e.entry_date,
                              'source_type', e.source_type, 'source_id', e.source_id, 'total', i.total),
           now(), now(), 0
    FROM fin_entries AS e JOIN fin_invoices AS i ON i.id = e.source_id WHERE e.id = :entry_id::bigint
    UNION ALL
    SELECT gen_random_uuid(), :tenant_id::bigint, 'finance.invoice_issued',
           jsonb_build_object('invoice_id', i.id, 'number', i.number, 'account_id', i.account_id, 'sales_order_id',
                              i.sales_order_id, 'issue_date', i.issue_date, 'due_date', i.due_date, 'currency',
                              i.currency, 'subtotal', i.subtotal, 'tax_total', i.tax_total, 'total', i.total,
                              'entry_id', i.entry_id),
           now(), now(), 0
    FROM fin_invoices AS i WHERE i.id = :invoice_id::bigint
    ;
COMMIT;
