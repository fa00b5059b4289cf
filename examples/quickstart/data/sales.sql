-- Destination schema for the quickstart: the sales database. The primary keys are
-- the integration keys, so upserts can never create duplicates.
CREATE TABLE customers (
  customer_number text PRIMARY KEY,
  name            text,
  email           text,
  country         text,
  business_unit   text
);
CREATE TABLE products (
  product_number text PRIMARY KEY,
  name           text,
  unit           text,
  price          numeric(12, 2),
  category       text
);
