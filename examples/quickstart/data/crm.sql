-- Source data for the quickstart: a small CRM. Loaded by `make up` into database crm.
CREATE TABLE accounts (
  account_id  text PRIMARY KEY,
  name        text NOT NULL,
  email       text,
  country     text,
  modified_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO accounts
SELECT 'A-' || lpad(i::text, 5, '0'),
       '  Account ' || i || ' ',
       ' Contact' || i || '@Example.COM',
       CASE WHEN i % 10 = 0 THEN NULL ELSE (ARRAY['us', 'de', 'ua', 'cn'])[1 + i % 4] END,
       now() - make_interval(mins => i)
FROM generate_series(1, 1000) AS i;

CREATE TABLE released_products (
  item_id     text PRIMARY KEY,
  name        text NOT NULL,
  uom         text,
  price       text,
  category    text,
  status      text NOT NULL,
  modified_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO released_products
SELECT 'P-' || lpad(i::text, 4, '0'),
       'Product ' || i,
       (ARRAY['pcs', 'kg', 'box'])[1 + i % 3],
       (i * 1.25)::numeric(10, 2)::text,
       CASE WHEN i % 7 = 0 THEN NULL ELSE 'tools' END,
       CASE WHEN i % 20 = 0 THEN 'retired' ELSE 'active' END,
       now() - make_interval(mins => i)
FROM generate_series(1, 500) AS i;
