"""The PostgreSQL fixture (tests/postgres.py) is a real server: what is written is read back through
psycopg over TCP, and each test's database is its own."""

from __future__ import annotations

import psycopg

from .postgres import PostgresCluster


def test_a_table_written_is_read_back(postgresql_url: str) -> None:
    with psycopg.connect(postgresql_url) as conn:
        conn.execute("CREATE TABLE notes (id serial PRIMARY KEY, text text NOT NULL)")
        conn.execute("INSERT INTO notes (text) VALUES (%s), (%s)", ("första", "andra"))
    with psycopg.connect(postgresql_url) as conn:
        assert conn.execute("SELECT id, text FROM notes ORDER BY id").fetchall() == [(1, "första"), (2, "andra")]
        assert conn.execute("SELECT inet_server_addr()::text").fetchone() == ("127.0.0.1/32",)


def test_each_url_is_a_fresh_empty_database(postgresql_cluster: PostgresCluster, postgresql_url: str) -> None:
    other = postgresql_cluster.create_database()
    assert other != postgresql_url
    assert postgresql_url.startswith(f"postgresql://{postgresql_cluster.user}@127.0.0.1:{postgresql_cluster.port}/")
    with psycopg.connect(postgresql_url) as conn:
        conn.execute("CREATE TABLE only_here (x int)")
    with psycopg.connect(other) as conn:
        assert conn.execute("SELECT current_database()").fetchone()[0] == other.rsplit("/", 1)[1]
        tables = conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
        assert tables.fetchone() == (0,)
    assert (postgresql_cluster.bindir / "pg_ctl").exists()
