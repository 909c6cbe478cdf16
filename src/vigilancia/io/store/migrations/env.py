"""Alembic environment of the workspace database.

At runtime the store runs migrations programmatically
(:func:`vigilancia.io.store.engine.migrate`): it builds an Alembic ``Config``
in code and hands over an open connection in ``config.attributes["connection"]``,
so that the whole upgrade runs in the caller's transaction. No ``alembic.ini`` is
needed then.

For developers writing a new revision against a scratch workspace::

    alembic -c src/vigilancia/io/store/alembic.ini \\
        -x url=sqlite:////tmp/ws/vigilancia.sqlite revision --autogenerate -m "what"
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context
from sqlalchemy.engine import Connection

from vigilancia.io.store.schema import include_object, metadata

config = context.config


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise RuntimeError("give the database with: alembic -x url=sqlite:///PATH ...")
    return url


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=include_object,
    )


def run_migrations_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=metadata,
        include_object=include_object,
        literal_binds=True,
        render_as_batch=_url().startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = sa.create_engine(_url(), poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        _configure(conn)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
