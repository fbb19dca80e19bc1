"""Alembic environment: run with a connection handed over by
:mod:`nova_livemig.db.migration` (never from an alembic.ini URL)."""

from alembic import context

from nova_livemig.db import models

config = context.config
connection = config.attributes['connection']
context.configure(connection=connection,
                  target_metadata=models.Base.metadata,
                  render_as_batch=connection.dialect.name == 'sqlite')
with context.begin_transaction():
    context.run_migrations()
