-- Append rows to results.signal_ledger from relation `incoming` (columns by name). Plain
-- INSERT: a row already there is a key violation, never a silent rewrite.
INSERT INTO results.signal_ledger BY NAME SELECT * FROM incoming;
