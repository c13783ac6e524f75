"""Reads a copy of curated/ with DuckDB, as an analyst would, and prints one JSON document.

usage: duckdb_read.py <dir holding curated/> <dir of named queries (*.sql)>

Each curated table becomes a view of its name (as the Glue tables are named) over
curated/<table>/dt=*/*.parquet; for each: row count and DuckDB's column types. Then every
named query runs on those views; its rows are printed with dates and times as ISO text.
"""
import datetime
import decimal
import json
import pathlib
import sys

import duckdb

TABLES = ["location_events", "trips", "users", "clevertap_profiles", "export_status"]


def plain(v):
    if isinstance(v, datetime.datetime):
        # As hookloop writes times everywhere else: UTC, milliseconds, Z.
        if v.tzinfo is not None:
            v = v.astimezone(datetime.timezone.utc)
        return v.strftime("%Y-%m-%dT%H:%M:%S.") + f"{v.microsecond // 1000:03d}Z"
    if isinstance(v, datetime.date):
        return v.isoformat()
    if isinstance(v, decimal.Decimal):
        return float(v)
    return v


def main():
    root, queries = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    out = {"tables": {}, "queries": {}}
    for t in TABLES:
        files = sorted((root / "curated" / t).glob("dt=*/*.parquet"))
        if not files:
            continue
        glob = str(root / "curated" / t / "dt=*" / "*.parquet")
        con.execute(
            f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{glob}', hive_partitioning = true)"
        )
        count = con.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
        types = {r[0]: r[1] for r in con.execute(f"DESCRIBE {t}").fetchall()}
        rows = con.execute(f"SELECT * FROM {t}").fetchall()
        names = [d[0] for d in con.description]
        out["tables"][t] = {
            "files": [str(f.relative_to(root)) for f in files],
            "count": count,
            "types": types,
            "rows": [{n: plain(v) for n, v in zip(names, r)} for r in rows],
        }
    for q in sorted(queries.glob("*.sql")):
        try:
            cur = con.execute(q.read_text())
            names = [d[0] for d in cur.description]
            out["queries"][q.stem] = [
                {n: plain(v) for n, v in zip(names, r)} for r in cur.fetchall()
            ]
        except duckdb.CatalogException as e:
            # A query over a table with no file yet (nothing of that kind was sent).
            out["queries"][q.stem] = {"error": str(e)}
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
