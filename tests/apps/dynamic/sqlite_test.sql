-- Debian's sqlite3 on Mica (tests/apps/dynamic.cmake), compared with the host's run.
CREATE TABLE city (name TEXT, country TEXT, people INTEGER);
INSERT INTO city VALUES ('Paris', 'FR', 2100000), ('Lyon', 'FR', 520000), ('Berlin', 'DE', 3600000),
                        ('Hamburg', 'DE', 1800000), ('Rome', 'IT', 2800000);
CREATE INDEX city_country ON city (country);
SELECT country, count(*), sum(people) FROM city GROUP BY country ORDER BY country;
SELECT name FROM city WHERE people > 2000000 ORDER BY people DESC;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10) SELECT group_concat(i * i) FROM n;
SELECT printf('%.3f', avg(people) / 1000000.0) FROM city;
UPDATE city SET people = people + 1 WHERE country = 'IT';
DELETE FROM city WHERE name = 'Lyon';
SELECT count(*), max(people) FROM city;
