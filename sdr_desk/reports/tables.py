"""A report's table as data: columns, rows, the link of each figure to its leads, and its CSV export.

One shape for every table of every report, so the page, the drill-down links and the CSV cannot disagree.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import urlencode

from django.http import HttpResponse
from django.urls import reverse

# A text cell starting with one of these would be run as a formula by a spreadsheet (CSV injection, OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> Any:
    """Neutralise a text cell a spreadsheet would evaluate: prefix it with an apostrophe. Numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "count"  # label, text, count, rate, duration, number
    flag: str = ""  # a count's leads: the row's leads with this drill flag


@dataclass
class Table:
    """``rows`` may be a function: it is called once, when the table is shown or exported, so exporting one
    table of a page runs that table's query alone."""

    key: str
    title: str
    columns: list[Column]
    source: list[dict[str, Any]] | Callable[[], list[dict[str, Any]]]
    note: str = ""
    base: dict[str, str] = field(default_factory=dict)  # the page's filters, carried into every link

    @cached_property
    def rows(self) -> list[dict[str, Any]]:
        return self.source() if callable(self.source) else self.source

    def drill_href(self, row: dict[str, Any], column: Column) -> str | None:
        if column.kind in ("text",) or "drill" not in row:
            return None
        params = {**self.base, **row["drill"]}
        flags = [f for f in (params.pop("flag", ""), column.flag) if f]
        if flags:
            params["flag"] = ",".join(dict.fromkeys(",".join(flags).split(",")))
        return reverse("reports-leads") + "?" + urlencode(params)

    def body(self) -> list[list[dict[str, Any]]]:
        """Each row's cells: the value, how it reads, and the link to the leads behind it."""
        return [[{"value": row.get(column.key), "kind": column.kind, "href": self.drill_href(row, column)}
                 for column in self.columns] for row in self.rows]

    def csv_response(self, filename: str) -> HttpResponse:
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        writer = csv.writer(response)
        writer.writerow([csv_safe(_csv_header(column)) for column in self.columns])
        for row in self.rows:
            writer.writerow([csv_safe(_csv_value(row.get(column.key), column.kind)) for column in self.columns])
        return response


def _csv_header(column: Column) -> str:
    return {"duration": f"{column.label} (minutes)", "rate": f"{column.label} (%)"}.get(column.kind, column.label)


def _csv_value(value: Any, kind: str) -> Any:
    if value is None:
        return ""
    if kind == "duration":
        return round(value / 60, 2)
    if kind == "rate":
        return round(value * 100, 1)
    if kind == "number":
        return round(value, 2)
    return value
