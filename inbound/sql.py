"""The one statement Django's ORM does not offer: insert a row unless it exists, and say which happened."""

from __future__ import annotations

from django.db import connection, models


def insert_unless_exists(instance: models.Model, *, unique: tuple[str, ...] = ()) -> bool:
    """``INSERT ... ON CONFLICT (unique) DO NOTHING RETURNING pk``: True, with the pk set, if this inserted it.

    Like a plain insert it waits for a concurrent transaction holding the same
    key to commit or roll back; unlike ``create`` inside a savepoint, losing
    costs no savepoint round trips (``bulk_create(ignore_conflicts=True)``
    cannot say whether it inserted). Without ``unique``, any unique conflict.
    Works on PostgreSQL and SQLite (3.35 or later).
    """
    model = type(instance)
    meta = model._meta
    qn = connection.ops.quote_name
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    target = f"({', '.join(qn(meta.get_field(name).column) for name in unique)}) " if unique else ""
    sql = (
        f"INSERT INTO {qn(meta.db_table)} ({', '.join(qn(field.column) for field in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))}) "
        f"ON CONFLICT {target}DO NOTHING RETURNING {qn(meta.pk.column)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [field.get_db_prep_save(getattr(instance, field.attname), connection) for field in fields])
        row = cursor.fetchone()
    if row is None:
        return False
    instance.pk = row[0]
    instance._state.adding = False
    return True
