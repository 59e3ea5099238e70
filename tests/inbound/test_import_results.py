"""The CSV import's result: links to the leads it created or merged, and the rejected rows as a CSV."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inbound.csv_import import csv_cell_safe, import_job_run_inline, import_job_start
from inbound.models import Lead
from sdr_desk.roles import Role
from tests.factories import LeadFactory, UserFactory
from tests.inbound.test_csv_import import HEADER, job_for, people, started

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def finished(source):
    """A done import: two new leads, one known lead converted again, two rows refused."""
    LeadFactory(email="known@acme.example", first_name="Known")
    job = started([
        ["Ada", "Lovelace", "ada@engine.example", "Engine", "CTO", "UK", "Open"],
        ["Known", "Person", "known@acme.example", "Acme", "", "", ""],
        ["=HYPERLINK(\"http://evil.example\")", "", "not-an-email", "+Acme", "-1", "", "@risk"],
        ["Grace", "Hopper", "grace@navy.example", "Navy", "", "", ""],
        ["Bob", "", "bob@narnia.example", "", "", "Narnia", ""],
    ], source)
    return import_job_run_inline(job)


def rows_of(response) -> list[list[str]]:
    text = response.content.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


class TestLeadsOfAnImport:
    def test_the_result_links_to_the_leads_it_created_and_merged(self, as_user, manager, finished):
        body = as_user(manager).get(f"/imports/{finished.pk}/").content.decode()
        assert f'href="/imports/{finished.pk}/leads/?outcome=created"><b>2</b> new leads created' in body
        assert f'href="/imports/{finished.pk}/leads/?outcome=merged"><b>1</b> merged' in body

    def test_the_created_leads_are_listed_in_file_order_with_links(self, as_user, manager, finished):
        body = as_user(manager).get(f"/imports/{finished.pk}/leads/").content.decode()
        ada, grace = Lead.objects.get(email="ada@engine.example"), Lead.objects.get(email="grace@navy.example")
        assert f'href="/leads/{ada.pk}/"' in body and f'href="/leads/{grace.pk}/"' in body
        assert body.index("Ada Lovelace") < body.index("Grace Hopper")
        assert "known@acme.example" not in body

    def test_the_merged_leads_are_the_known_ones(self, as_user, manager, finished):
        body = as_user(manager).get(f"/imports/{finished.pk}/leads/", {"outcome": "merged"}).content.decode()
        assert "known@acme.example" in body and "ada@engine.example" not in body

    def test_an_unknown_outcome_shows_the_created_ones(self, as_user, manager, finished):
        body = as_user(manager).get(f"/imports/{finished.pk}/leads/", {"outcome": "<x>"}).content.decode()
        assert "ada@engine.example" in body and "<x>" not in body

    def test_the_page_takes_the_same_queries_for_few_leads_or_many(self, as_user, manager, source):
        client = as_user(manager)

        def queries(count: int, start: int) -> int:
            job = import_job_run_inline(started(people(count, start=start), source))
            with CaptureQueriesContext(connection) as captured:
                assert client.get(f"/imports/{job.pk}/leads/").status_code == 200
            return len(captured)

        assert queries(2, 0) == queries(30, 100)

    def test_who_may_not_import_may_not_see_them(self, as_user, sdr, marketing, finished):
        for user in (sdr, marketing, UserFactory(username="ae", roles=[Role.AE])):
            assert as_user(user).get(f"/imports/{finished.pk}/leads/").status_code == 403

    def test_a_missing_import_is_404(self, as_user, manager):
        assert as_user(manager).get("/imports/999999/leads/").status_code == 404


class TestRejectedRowsCsv:
    def test_the_result_offers_the_download(self, as_user, manager, finished):
        body = as_user(manager).get(f"/imports/{finished.pk}/").content.decode()
        assert f'href="/imports/{finished.pk}/rejected.csv" download>Download rejected rows (CSV)</a>' in body

    def test_it_gives_each_rejected_row_its_number_reason_and_every_cell_of_the_file(
            self, as_user, manager, finished):
        response = as_user(manager).get(f"/imports/{finished.pk}/rejected.csv")
        assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
        assert response["Content-Disposition"] == 'attachment; filename="leads-rejected-rows.csv"'
        rows = rows_of(response)
        assert rows[0] == ["Row", "Status", "Reason", *HEADER]
        assert [row[0] for row in rows[1:]] == ["4", "6"]  # the spreadsheet's numbers: the header is row 1
        bad, narnia = rows[1], rows[2]
        assert bad[1] == "rejected" and "Email: Enter a valid email address." in bad[2]
        assert narnia[2].startswith("Country: Unknown country 'Narnia'")
        # Every column of the file comes back, the ignored "Lead Status" too, so it can be fixed and imported again.
        assert narnia[3:] == ["Bob", "", "bob@narnia.example", "", "", "Narnia", ""]

    def test_formulas_are_neutralised(self, as_user, manager, finished):
        bad = rows_of(as_user(manager).get(f"/imports/{finished.pk}/rejected.csv"))[1]
        assert bad[3] == "'=HYPERLINK(\"http://evil.example\")"
        assert bad[6] == "'+Acme" and bad[7] == "'-1" and bad[9] == "'@risk"
        assert bad[5] == "not-an-email"

    @pytest.mark.parametrize(("value", "safe"), [
        ("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"),
        ("\rx", "'\rx"), ("plain", "plain"), ("a=b", "a=b"), ("", ""), (None, ""), (42, "42"),
    ])
    def test_a_cell_is_made_safe(self, value, safe):
        assert csv_cell_safe(value) == safe

    def test_a_formula_in_a_column_name_is_neutralised_too(self, as_user, manager, source):
        job = job_for([["x", "not-an-email"]], source, header=["=cmd", "Email"])
        job = import_job_run_inline(import_job_start(job, job.mapping, enqueue=False))
        assert rows_of(as_user(manager).get(f"/imports/{job.pk}/rejected.csv"))[0] == [
            "Row", "Status", "Reason", "'=cmd", "Email"]

    def test_without_the_stored_file_the_imported_values_are_given(self, as_user, manager, finished):
        finished.file.storage.delete(finished.file.name)
        rows = rows_of(as_user(manager).get(f"/imports/{finished.pk}/rejected.csv"))
        assert rows[2][0] == "6" and "bob@narnia.example" in rows[2] and "Narnia" in rows[2]

    def test_an_import_that_rejected_nothing_gives_the_header_only_and_no_link(self, as_user, manager, source):
        job = import_job_run_inline(started(people(2), source))
        client = as_user(manager)
        assert rows_of(client.get(f"/imports/{job.pk}/rejected.csv")) == [["Row", "Status", "Reason", *HEADER]]
        assert "Download rejected rows" not in client.get(f"/imports/{job.pk}/").content.decode()

    def test_who_may_not_import_may_not_download(self, as_user, sdr, marketing, finished, client):
        for user in (sdr, marketing):
            assert as_user(user).get(f"/imports/{finished.pk}/rejected.csv").status_code == 403
        client.logout()
        assert client.get(f"/imports/{finished.pk}/rejected.csv")["Location"].startswith("/accounts/login/")
