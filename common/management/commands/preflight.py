"""Check that PostgreSQL and Redis can be reached, and create the database if it is missing.

`make run` and `make test` call this first so that a missing service is reported in one
plain sentence that says how to start it, instead of a traceback from deep inside Django.
"""

from __future__ import annotations

import sys
from typing import Any

import psycopg2
import redis
from django.conf import settings
from django.core.management.base import BaseCommand
from psycopg2 import sql

START_POSTGRES = (
    "Start it with `docker compose up -d db redis` (and put "
    "DATABASE_URL=postgres://flywheel:flywheel@127.0.0.1:5432/flywheel_crm in .env), "
    "or the system service (`sudo service postgresql start`, or "
    "`pg_ctlcluster <version> main start`)."
)
START_REDIS = (
    "Start it with `docker compose up -d redis`, or the system service "
    "(`sudo service redis-server start`, or `redis-server --daemonize yes`)."
)


class Command(BaseCommand):
    help = "Check PostgreSQL (DATABASE_URL) and Redis (REDIS_URL); optionally create the database."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--create-db", action="store_true", help="Create the database if it does not exist."
        )
        parser.add_argument(
            "--server-only",
            action="store_true",
            help="Check only that the server answers (the tests create their own database).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        problems = [
            problem
            for problem in (
                self._check_postgres(
                    create_db=options["create_db"], server_only=options["server_only"]
                ),
                self._check_redis(),
            )
            if problem
        ]
        if problems:
            for problem in problems:
                self.stderr.write(self.style.ERROR(problem))
            sys.exit(1)

    def _check_postgres(self, *, create_db: bool, server_only: bool) -> str | None:
        db = settings.DATABASES["default"]
        where = f"{db.get('HOST') or 'localhost'}:{db.get('PORT') or 5432}"
        params = {
            "host": db.get("HOST") or None,
            "port": db.get("PORT") or None,
            "user": db.get("USER") or None,
            "password": db.get("PASSWORD") or None,
            "connect_timeout": 3,
        }
        try:
            connection = psycopg2.connect(dbname="postgres", **params)
        except psycopg2.OperationalError as error:
            reason = str(error).strip().splitlines()[0]
            return (
                f"PostgreSQL is not reachable at {where} (DATABASE_URL): {reason}. "
                + START_POSTGRES
            )
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]])
                exists = cursor.fetchone() is not None
                if not exists and create_db:
                    cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db["NAME"])))
                    self.stdout.write(f"Created the database {db['NAME']} on {where}.")
                elif not exists and not server_only:
                    return (
                        f"The database {db['NAME']} does not exist on {where}. "
                        "Run `make run` (which creates it) or `createdb`."
                    )
        except psycopg2.Error as error:
            return f"PostgreSQL at {where} refused: {str(error).strip()}"
        finally:
            connection.close()
        self.stdout.write(f"PostgreSQL: ok ({where}/{db['NAME']})")
        return None

    def _check_redis(self) -> str | None:
        url = settings.REDIS_URL
        try:
            redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3).ping()
        except redis.RedisError as error:
            reason = str(error).rstrip(".")
            return f"Redis is not reachable at {url} (REDIS_URL): {reason}. {START_REDIS}"
        self.stdout.write(f"Redis: ok ({url})")
        return None
