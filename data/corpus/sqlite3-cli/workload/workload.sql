-- sqlite3 CLI on a file database: WAL (the -shm file is mapped shared),
-- mmap_size (the database file mapped, grown by mremap), 60k rows, an
-- index and queries.
PRAGMA journal_mode = WAL;
PRAGMA mmap_size = 268435456;
CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, v REAL);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 60000)
INSERT INTO t SELECT x, printf('name-%08d', x * 7919 % 100003), x * 0.5 FROM c;
CREATE INDEX t_name ON t(name);
SELECT count(*), sum(v) FROM t WHERE name LIKE 'name-0001%';
SELECT name FROM t ORDER BY name DESC LIMIT 3;
PRAGMA wal_checkpoint(TRUNCATE);
