"""Managers keep the list of disposition codes: add, edit, reorder, deactivate and reactivate.

A code is never deleted here (past dispositions point at it, ``PROTECT``); an inactive one stays on
them and leaves the choices. Its slug is fixed once created: the API and the merge (``duplicate``) name it.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Max

from sdr_desk.dispositions.forms import DispositionCodeForm
from sdr_desk.dispositions.models import DispositionCode
from sdr_desk.ordering import neighbour_swap
from sdr_desk.routing.ownership import FieldsInvalid

POSITION_STEP = 10


class CodeInvalid(FieldsInvalid):
    pass


@transaction.atomic
def code_save(form: DispositionCodeForm, *, user: AbstractBaseUser) -> DispositionCode:
    """Add or edit a code from its validated form; a new one goes last."""
    if not form.is_valid():
        raise CodeInvalid({field: [str(e) for e in errors] for field, errors in form.errors.items()})
    code = form.save(commit=False)
    if code.pk is None:
        last = DispositionCode.objects.select_for_update().aggregate(last=Max("position"))["last"]
        code.position = (last or 0) + POSITION_STEP
    code.save()
    return code


@transaction.atomic
def code_move(code_id: int, *, up: bool, user: AbstractBaseUser) -> DispositionCode:
    """Swap the code with its neighbour in the list's order, and renumber the list in steps of ten."""
    codes = list(DispositionCode.objects.select_for_update().order_by("position", "name"))
    if neighbour_swap(codes, code_id, up=up, step=POSITION_STEP) is None:
        raise CodeInvalid({"code": ["No such code."]})
    DispositionCode.objects.bulk_update(codes, ["position"])
    return next(code for code in codes if code.pk == code_id)


@transaction.atomic
def code_active_set(code_id: int, *, active: bool, user: AbstractBaseUser) -> DispositionCode:
    """Deactivate (it leaves the choices, stays on past dispositions) or reactivate a code."""
    code = DispositionCode.objects.select_for_update().filter(pk=code_id).first()
    if code is None:
        raise CodeInvalid({"code": ["No such code."]})
    if code.is_active != active:
        code.is_active = active
        code.save(update_fields=["is_active"])
    return code
