-- Sample data for docker-compose.yml: three small databases the compose fleet backs up.
CREATE DATABASE shop;
CREATE DATABASE crm;
CREATE DATABASE analytics;

\connect shop
CREATE TABLE customers (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL, email text UNIQUE);
CREATE TABLE orders (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  customer_id bigint NOT NULL REFERENCES customers,
  placed_at timestamptz NOT NULL DEFAULT now(),
  total numeric(12, 2) NOT NULL,
  note text
);
INSERT INTO customers (name, email)
  SELECT 'Customer ' || i, 'customer' || i || '@example.com' FROM generate_series(1, 1000) i;
INSERT INTO orders (customer_id, placed_at, total, note)
  SELECT 1 + (i % 1000), now() - i * interval '1 minute', (i % 500) + 0.99,
         CASE WHEN i % 10 = 0 THEN E'gift\twrap\nplease' END
  FROM generate_series(1, 50000) i;
CREATE INDEX orders_customer ON orders (customer_id);

\connect crm
CREATE SCHEMA sales;
CREATE TABLE sales."Contacts" (id serial PRIMARY KEY, "Full Name" text, phone text);
CREATE TABLE sales.notes (id serial PRIMARY KEY, contact_id int REFERENCES sales."Contacts", body text);
INSERT INTO sales."Contacts" ("Full Name", phone) SELECT 'Contact ' || i, '+49 30 ' || i FROM generate_series(1, 500) i;
INSERT INTO sales.notes (contact_id, body) SELECT 1 + (i % 500), repeat('note ', i % 20) FROM generate_series(1, 5000) i;

\connect analytics
CREATE TABLE events (
  id bigint GENERATED ALWAYS AS IDENTITY,
  at date NOT NULL,
  kind text NOT NULL,
  payload jsonb
) PARTITION BY RANGE (at);
CREATE TABLE events_2026_01 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2026-02-01');
CREATE TABLE events_2026_02 PARTITION OF events FOR VALUES FROM ('2026-02-01') TO ('2026-03-01');
INSERT INTO events (at, kind, payload)
  SELECT date '2026-01-01' + (i % 59), 'kind' || (i % 7), jsonb_build_object('n', i)
  FROM generate_series(1, 100000) i;
