"""CSV import: header mapping, the browser flow, chunks in Django-Q, the command."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inbound import csv_import
from inbound.csv_import import (
    CUSTOM,
    IGNORE,
    import_chunk_run,
    import_job_create,
    import_job_run_inline,
    import_job_start,
    mapping_propose,
)
from inbound.models import ImportJob, ImportStatus, Lead, Source, Submission, SubmissionChannel, SubmissionStatus
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

HEADER = ["First Name", "Last Name", "Email", "Company", "Title", "Country", "Lead Status"]


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path: Path) -> Path:
    """Uploaded files go to a directory of this test only."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def csv_bytes(rows: list[list[str]], *, delimiter: str = ",", encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    for row in rows:
        writer.writerow(row)
    return out.getvalue().encode(encoding)


def upload(content: bytes, name: str = "leads.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="text/csv")


def people(count: int, *, start: int = 0) -> list[list[str]]:
    return [[f"P{n}", "Tester", f"p{n}@firm{n}.example", f"Firm {n}", "CTO", "Germany", "Open"]
            for n in range(start, start + count)]


def job_for(rows: list[list[str]], source: Source, *, header: list[str] = HEADER) -> ImportJob:
    return import_job_create(uploaded_file=upload(csv_bytes([header, *rows])), source=source, user=None)


def started(rows: list[list[str]], source: Source) -> ImportJob:
    job = job_for(rows, source)
    return import_job_start(job, job.mapping, enqueue=False)


class TestHeaderMapping:
    def test_a_salesforce_lead_export_maps_to_lead_fields(self):
        headers = ["Lead ID", "First Name", "Last Name", "Title", "Company", "Email", "Phone", "Mobile",
                   "Lead Source", "Lead Status", "Industry", "No. of Employees", "Country", "State/Province", "City",
                   "Website", "Lead Owner", "Rating", "Email Opt Out", "Created Date"]
        assert mapping_propose(headers) == {
            "Lead ID": CUSTOM, "First Name": "first_name", "Last Name": "last_name", "Title": "job_title",
            "Company": "company", "Email": "email", "Phone": "phone", "Mobile": CUSTOM,
            "Lead Source": "utm_source", "Lead Status": IGNORE, "Industry": "industry",
            "No. of Employees": "employee_count", "Country": "country", "State/Province": "state", "City": "city",
            "Website": "website", "Lead Owner": CUSTOM, "Rating": IGNORE, "Email Opt Out": IGNORE,
            "Created Date": IGNORE,
        }

    def test_a_hubspot_contact_export_maps_to_lead_fields(self):
        headers = ["Record ID", "First Name", "Last Name", "Email Address", "Mobile Phone Number", "Job Title",
                   "Company Name", "Website URL", "Number of Employees", "Industry", "Country/Region",
                   "State/Region", "City", "Time Zone", "Original Source", "Lifecycle Stage", "Lead Status",
                   "Create Date"]
        assert mapping_propose(headers) == {
            "Record ID": CUSTOM, "First Name": "first_name", "Last Name": "last_name", "Email Address": "email",
            "Mobile Phone Number": "phone", "Job Title": "job_title", "Company Name": "company",
            "Website URL": "website", "Number of Employees": "employee_count", "Industry": "industry",
            "Country/Region": "country", "State/Region": "state", "City": "city", "Time Zone": "time_zone",
            "Original Source": "utm_source", "Lifecycle Stage": IGNORE, "Lead Status": IGNORE,
            "Create Date": IGNORE,
        }

    def test_names_match_whatever_the_case_spaces_or_underscores(self):
        assert mapping_propose(["EMAIL", "first_name", "last-name", "JobTitle", "account name"]) == {
            "EMAIL": "email", "first_name": "first_name", "last-name": "last_name", "JobTitle": "job_title",
            "account name": "company",
        }

    def test_a_column_named_like_an_email_is_proposed_for_email_but_an_opt_out_is_not(self):
        assert mapping_propose(["Email Opt Out", "Contact e-mail 1"]) == {
            "Email Opt Out": IGNORE, "Contact e-mail 1": "email",
        }

    def test_the_better_named_of_two_columns_wins_a_field_and_the_other_is_kept(self):
        assert mapping_propose(["Mobile", "Email", "Phone"]) == {"Mobile": CUSTOM, "Email": "email", "Phone": "phone"}

    def test_the_mapping_needs_exactly_one_email_and_no_field_twice(self, source):
        job = job_for(people(1), source)
        with pytest.raises(Exception, match="Map one column to Email"):
            import_job_start(job, {**job.mapping, "Email": ""}, enqueue=False)
        with pytest.raises(Exception, match="Email is mapped from 2 columns"):
            import_job_start(job, {**job.mapping, "Company": "email"}, enqueue=False)
        with pytest.raises(Exception, match="Unknown lead field 'salary'"):
            import_job_start(job, {**job.mapping, "Title": "salary"}, enqueue=False)
        job.refresh_from_db()
        assert job.status == ImportStatus.MAPPING

    def test_unmapped_columns_are_ignored_or_kept_as_custom_fields_as_chosen(self, source):
        for keep, custom in [(False, {}), (True, {"Lead Status": "Open"})]:
            job = job_for([["Ada", "L", f"ada{int(keep)}@engine.example", "Engine", "CTO", "UK", "Open"]], source)
            import_job_start(job, job.mapping, keep_unmapped=keep, enqueue=False)
            import_job_run_inline(job)
            assert Lead.objects.get(email=f"ada{int(keep)}@engine.example").custom == custom


class TestBrowserFlow:
    def test_a_manager_uploads_confirms_the_mapping_and_reads_the_result(
        self, as_user, manager, source, django_capture_on_commit_callbacks
    ):
        LeadFactory(email="known@acme.example")
        rows = [
            ["Ada", "Lovelace", "ada@engine.example", "Engine", "CTO", "UK", "Open"],
            ["Known", "Person", "KNOWN@acme.example", "Acme", "", "", ""],
            ["", "", "not-an-email", "", "", "", ""],
            ["Ada", "", "ada@engine.example", "", "", "", ""],
            ["Bob", "", "bob@narnia.example", "", "", "Narnia", ""],
        ]
        client = as_user(manager)
        response = client.post("/imports/new/", {"source": source.pk, "file": upload(csv_bytes([HEADER, *rows]))})
        job = ImportJob.objects.get()
        assert response.status_code == 302 and response["Location"] == f"/imports/{job.pk}/mapping/"
        assert job.created_by == manager and job.total_rows == 5 and job.status == ImportStatus.MAPPING

        page = client.get(f"/imports/{job.pk}/mapping/").content.decode()
        assert '<option value="email" selected>' in page
        assert "ada@engine.example" in page  # sample values
        mapping = {f"col-{i}": job.mapping[header] for i, header in enumerate(job.headers)}
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(f"/imports/{job.pk}/mapping/", mapping)
        assert response.status_code == 302 and response["Location"] == f"/imports/{job.pk}/"

        job.refresh_from_db()
        assert job.status == ImportStatus.DONE and job.finished_at and job.percent == 100
        assert (job.created_count, job.merged_count, job.rejected_count, job.failed_count) == (1, 2, 2, 0)
        page = client.get(f"/imports/{job.pk}/").content.decode()
        assert "hx-trigger" not in page  # finished: no more polling
        assert "Email: Enter a valid email address." in page
        assert "Country: Unknown country &#x27;Narnia&#x27;" in page
        assert "not-an-email" in page  # the raw values of the rejected row
        assert client.get(f"/imports/{job.pk}/mapping/")["Location"] == f"/imports/{job.pk}/"  # started already
        assert "leads.csv" in client.get("/imports/").content.decode()

    def test_the_mapping_page_shows_what_is_wrong_with_a_mapping_and_starts_nothing(self, as_user, manager, source):
        job = job_for(people(2), source)
        mapping = {f"col-{i}": job.mapping[header] for i, header in enumerate(job.headers)}
        response = as_user(manager).post(f"/imports/{job.pk}/mapping/", {**mapping, "col-2": ""})
        assert response.status_code == 400
        assert "Map one column to Email" in response.content.decode()
        job.refresh_from_db()
        assert job.status == ImportStatus.MAPPING

    def test_the_progress_fragment_is_served_to_htmx_and_polls_only_while_running(self, as_user, manager, source):
        job = started(people(3), source)
        client = as_user(manager)
        response = client.get(f"/imports/{job.pk}/progress/", HTTP_HX_REQUEST="true")
        body = response.content.decode()
        assert response.status_code == 200 and "<html" not in body
        assert 'id="import-progress"' in body and 'hx-trigger="every 1s"' in body
        assert "0 of 3 rows" in body

        import_job_run_inline(job)
        body = client.get(f"/imports/{job.pk}/progress/", HTTP_HX_REQUEST="true").content.decode()
        assert "hx-trigger" not in body and "3 of 3 rows" in body and "100%" in body
        assert client.get(f"/imports/{job.pk}/progress/")["Location"] == f"/imports/{job.pk}/"

    def test_the_detail_page_of_a_running_import_polls_for_progress(self, as_user, manager, source):
        job = started(people(3), source)
        body = as_user(manager).get(f"/imports/{job.pk}/").content.decode()
        assert "<html" in body and f'hx-get="/imports/{job.pk}/progress/"' in body

    def test_rejected_rows_are_paginated(self, as_user, manager, source, monkeypatch):
        monkeypatch.setattr("inbound.views_imports.PROBLEMS_PER_PAGE", 2)
        job = started([["", "", f"bad{n}", "", "", "", ""] for n in range(5)], source)
        import_job_run_inline(job)
        client = as_user(manager)
        first = client.get(f"/imports/{job.pk}/").content.decode()
        last = client.get(f"/imports/{job.pk}/", {"page": 3}).content.decode()
        assert "bad0" in first and "bad4" not in first and "Page 1 of 3" in first
        assert "bad4" in last and "bad0" not in last


class TestPermissions:
    def test_an_sdr_may_not_import(self, as_user, sdr, source):
        job = job_for(people(1), source)
        client = as_user(sdr)
        for url in ["/imports/", f"/imports/{job.pk}/mapping/", f"/imports/{job.pk}/", f"/imports/{job.pk}/progress/"]:
            assert client.get(url).status_code == 403, url
        response = client.post("/imports/new/", {"source": source.pk, "file": upload(csv_bytes([HEADER, *people(1)]))})
        assert response.status_code == 403
        assert client.post(f"/imports/{job.pk}/mapping/", {}).status_code == 403
        assert ImportJob.objects.count() == 1

    def test_anonymous_visitors_are_sent_to_sign_in(self, client, source):
        job = job_for(people(1), source)
        for url in ["/imports/", "/imports/new/", f"/imports/{job.pk}/mapping/", f"/imports/{job.pk}/"]:
            response = client.get(url)
            assert response.status_code == 302 and "/accounts/login/" in response["Location"], url

    def test_a_manager_sees_the_import_list_with_the_upload_form(self, as_user, manager, source):
        body = as_user(manager).get("/imports/").content.decode()
        assert 'enctype="multipart/form-data"' in body and "Website" in body and "No imports yet" in body


class TestUploadChecks:
    @pytest.mark.parametrize(
        "name, content, message",
        [
            ("leads.csv", b"", "file is empty."),
            ("leads.csv", b"ada@engine.example,Ada,Lovelace\r\nbob@b.example,Bob,B\r\n", "not column names"),
            ("leads.csv", b" , , \r\nx,y,z\r\n", "needs a header row"),
            ("leads.csv", csv_bytes([["Name", "Company"], ["Ada", "Engine"]]), "No column holds email addresses"),
            ("leads.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "This is not a CSV file"),
            ("leads.xlsx", b"PK\x03\x04", "This is a spreadsheet, not a CSV file"),
            ("leads.pdf", b"%PDF-1.4", "Upload a .csv file"),
            ("leads.csv", csv_bytes([["Email", "Name"]]), "no rows to import"),
            ("leads.csv", b"\xff\xfeE\x00m\x00a\x00i\x00l\x00\n\x00\x00\xd8", "is not valid utf-16 text"),
            ("leads.csv", b"Email,Notes\r\na@b.example,\"" + b"x" * 200_000 + b"\"\r\n", "cannot be read as CSV"),
        ],
    )
    def test_a_bad_file_is_refused_with_a_clear_message_and_no_job(self, as_user, manager, source, name, content,
                                                                  message):
        response = as_user(manager).post("/imports/new/", {"source": source.pk, "file": upload(content, name)})
        assert response.status_code == 400
        assert message in response.content.decode().replace("&#x27;", "'")
        assert ImportJob.objects.count() == 0

    def test_a_file_over_the_size_limit_is_refused(self, as_user, manager, source, settings):
        settings.IMPORT_MAX_FILE_BYTES = 1024
        content = csv_bytes([HEADER, *people(40)])
        response = as_user(manager).post("/imports/new/", {"source": source.pk, "file": upload(content)})
        assert response.status_code == 400
        assert "The file is 2 KB; the limit is 1 KB. Split it and import the parts." in response.content.decode()
        assert ImportJob.objects.count() == 0

    def test_a_source_must_be_chosen(self, as_user, manager):
        response = as_user(manager).post("/imports/new/", {"file": upload(csv_bytes([HEADER, *people(1)]))})
        assert response.status_code == 400 and ImportJob.objects.count() == 0

    def test_windows_encoded_semicolon_separated_files_with_a_bom_or_not_are_read(self, source):
        rows = [["Email", "First Name", "City"], ["rene@cafe.example", "René", "Zürich"]]
        for content in [csv_bytes(rows, delimiter=";", encoding="cp1252"),
                        b"\xef\xbb\xbf" + csv_bytes(rows, encoding="utf-8"),
                        csv_bytes(rows, delimiter="\t", encoding="utf-16")]:
            job = import_job_create(uploaded_file=upload(content), source=source, user=None)
            assert job.headers == ["Email", "First Name", "City"]
            assert csv_import.import_job_preview(job)["City"] == ["Zürich"]

    def test_a_large_upload_streamed_to_a_temporary_file_is_read(self, as_user, manager, source, settings):
        settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 10  # force Django's temporary-file upload handler
        response = as_user(manager).post("/imports/new/", {"source": source.pk,
                                                           "file": upload(csv_bytes([HEADER, *people(50)]))})
        assert response.status_code == 302
        assert ImportJob.objects.get().total_rows == 50

    def test_blank_and_repeated_column_names_are_told_apart(self, source):
        job = job_for(people(1), source, header=["First Name", "", "Email", "Company", "Title", "Country", "Email"])
        assert job.headers == ["First Name", "Column 2", "Email", "Company", "Title", "Country", "Email (2)"]


class TestRows:
    def test_created_and_merged_are_told_apart_in_the_database_and_within_the_file(self, source):
        LeadFactory(email="known@acme.example", first_name="Kim", company="")
        job = started([
            ["Kay", "", "known@acme.example", "Acme", "", "", ""],
            ["New", "", "new@n.example", "", "", "", ""],
            ["New", "Again", "NEW@n.example", "", "", "", ""],
        ], source)
        import_job_run_inline(job)
        assert (job.created_count, job.merged_count) == (1, 2)
        assert Lead.objects.count() == 2
        known = Lead.objects.get(email="known@acme.example")
        assert known.first_name == "Kim" and known.company == "Acme"  # known values kept, blanks filled
        assert Lead.objects.get(email="new@n.example").last_name == "Again"

    def test_every_row_is_stored_raw_with_its_row_number_and_blank_rows_are_skipped(self, source):
        content = (
            b"Email,First Name,Country\r\n"
            b"ada@engine.example,Ada,UK\r\n"
            b",,\r\n"
            b"\r\n"
            b"bad-email,Bob,\r\n"
            b"cy@c.example,Cy,Narnia\r\n"
        )
        job = import_job_create(uploaded_file=upload(content), source=source, user=None)
        import_job_run_inline(import_job_start(job, job.mapping, enqueue=False))
        job.refresh_from_db()
        submissions = list(Submission.objects.filter(import_job=job).order_by("row_number"))
        assert [(s.row_number, s.status) for s in submissions] == [
            (2, SubmissionStatus.PROCESSED), (5, SubmissionStatus.REJECTED), (6, SubmissionStatus.REJECTED),
        ]
        assert all(s.channel == SubmissionChannel.CSV and s.source == source for s in submissions)
        assert submissions[0].payload == {"email": "ada@engine.example", "first_name": "Ada", "country": "UK"}
        assert submissions[1].error == "email: Enter a valid email address."
        assert "Unknown country 'Narnia'" in submissions[2].error
        counts = (job.created_count, job.merged_count, job.rejected_count, job.next_row, job.total_rows)
        assert counts == (1, 0, 2, 5, 5)

    def test_a_rejected_row_is_told_in_the_files_column_names(self, source):
        job = job_for([["", "", "nope", "", "", "", ""]], source, header=[*HEADER[:2], "Email Address", *HEADER[3:]])
        import_job_run_inline(import_job_start(job, job.mapping, enqueue=False))
        problem = csv_import.row_problem(job, csv_import.import_job_problems(job).get())
        assert problem.reason == "Email Address: Enter a valid email address."
        assert problem.values == [csv_import.CellValue("Email Address", "nope", at_fault=True)]
        assert problem.row_number == 2


class TestChunks:
    def test_a_chunk_task_run_twice_does_nothing_the_second_time(self, source):
        job = started(people(3), source)
        assert import_chunk_run(job.pk, 0) == "done"
        assert import_chunk_run(job.pk, 0) == "skipped"
        job.refresh_from_db()
        assert job.created_count == 3 and Submission.objects.count() == 3 and Lead.objects.count() == 3

    def test_a_chunk_task_with_a_stale_start_row_does_nothing(self, source):
        job = started(people(3), source)
        assert import_chunk_run(job.pk, 2) == "skipped"
        job.refresh_from_db()
        assert job.next_row == 0 and job.status == ImportStatus.QUEUED and Submission.objects.count() == 0

    def test_a_job_still_waiting_for_its_mapping_is_not_run(self, source):
        job = job_for(people(1), source)
        assert import_chunk_run(job.pk, 0) == "skipped"
        assert Submission.objects.count() == 0

    def test_an_interrupted_import_resumes_from_next_row_without_duplicates(
        self, source, monkeypatch, django_capture_on_commit_callbacks
    ):
        monkeypatch.setattr(csv_import, "CHUNK_ROWS", 2)
        job = started(people(5), source)
        with django_capture_on_commit_callbacks(execute=False):  # the worker dies: the next task is lost
            import_chunk_run(job.pk, 0)
        job.refresh_from_db()
        assert (job.status, job.next_row, job.created_count) == (ImportStatus.RUNNING, 2, 2)

        with django_capture_on_commit_callbacks(execute=True):
            csv_import.import_job_resume(job)
        job.refresh_from_db()
        assert (job.status, job.next_row, job.created_count) == (ImportStatus.DONE, 5, 5)
        rows = list(Submission.objects.values_list("row_number", flat=True).order_by("row_number"))
        assert rows == [2, 3, 4, 5, 6]
        assert import_chunk_run(job.pk, 2) == "skipped"  # the lost task, delivered late

    def test_a_file_of_chunk_rows_plus_one_runs_in_two_chunks(
        self, source, monkeypatch, django_capture_on_commit_callbacks
    ):
        monkeypatch.setattr(csv_import, "CHUNK_ROWS", 3)
        runs: list[int] = []
        real = csv_import.import_chunk_run

        def spy(job_id: int, start_row: int) -> str:
            runs.append(start_row)
            return real(job_id, start_row)

        monkeypatch.setattr(csv_import, "import_chunk_run", spy)  # Django-Q finds the task by its dotted path
        for count, expected in [(3, [0]), (4, [0, 3])]:
            runs.clear()
            job = job_for(people(count, start=10 * count), source)
            with django_capture_on_commit_callbacks(execute=True):
                import_job_start(job, job.mapping)
            job.refresh_from_db()
            assert runs == expected
            assert (job.status, job.next_row, job.created_count) == (ImportStatus.DONE, count, count)

    def test_a_missing_file_fails_the_job_with_its_reason(self, source):
        job = started(people(2), source)
        job.file.storage.delete(job.file.name)
        assert import_chunk_run(job.pk, 0) == "failed"
        job.refresh_from_db()
        assert job.status == ImportStatus.FAILED and "Stopped at row 2" in job.error and job.finished_at

    def test_processing_a_chunk_costs_a_constant_number_of_queries_per_row(self, source):
        def queries_for(count: int, start: int) -> int:
            job = started(people(count, start=start), source)
            with CaptureQueriesContext(connection) as captured:
                import_chunk_run(job.pk, 0)
            job.refresh_from_db()
            assert job.created_count == count
            return len(captured)

        ten, twenty, forty = queries_for(10, 0), queries_for(20, 100), queries_for(40, 200)
        per_row = (forty - twenty) / 20
        assert per_row == (twenty - ten) / 10  # linear: no query grows with the chunk
        assert per_row <= 16
        assert ten - 10 * per_row <= 6  # the fixed cost: lock the job, save it


class TestCommand:
    def write(self, tmp_path: Path, rows: list[list[str]], header: list[str] = HEADER) -> str:
        path = tmp_path / "leads.csv"
        path.write_bytes(csv_bytes([header, *rows]))
        return str(path)

    def test_it_imports_a_file_and_prints_the_mapping_progress_and_summary(self, tmp_path):
        path = self.write(tmp_path, [*people(3), ["", "", "broken", "", "", "", ""]])
        out = io.StringIO()
        call_command("import_leads", path, "--source", "Trade show", stdout=out, stderr=io.StringIO())
        text = out.getvalue()
        assert "Email" in text and "->  email" in text and "(ignored)" in text
        assert "4 / 4 rows (100%)" in text
        assert "created 3, merged 0, rejected 1, failed 0" in text
        assert "row 5: Email: Enter a valid email address." in text
        assert Source.objects.get(name="Trade show").channel == "import"
        job = ImportJob.objects.get()
        assert job.status == ImportStatus.DONE and job.created_by is None
        assert Lead.objects.filter(source__name="Trade show").count() == 3

    def test_map_overrides_the_proposal(self, tmp_path, source):
        path = self.write(tmp_path, people(1))
        call_command("import_leads", path, "--source", source.name, "--map", "Lead Status=custom", "--map",
                     "Title=", stdout=io.StringIO(), stderr=io.StringIO())
        lead = Lead.objects.get()
        assert lead.custom == {"Lead Status": "Open"} and lead.job_title == ""

    def test_a_dry_run_reports_real_numbers_and_keeps_nothing(self, tmp_path, media_root):
        LeadFactory(email="p0@firm0.example")
        path = self.write(tmp_path, people(3))
        out = io.StringIO()
        call_command("import_leads", path, "--source", "Fresh", "--dry-run", stdout=out, stderr=io.StringIO())
        assert "created 2, merged 1, rejected 0, failed 0 (dry run: nothing was kept)" in out.getvalue()
        assert ImportJob.objects.count() == 0 and Submission.objects.count() == 0 and Lead.objects.count() == 1
        assert not Source.objects.filter(name="Fresh").exists()
        assert not [p for p in media_root.rglob("*") if p.is_file()]

    @pytest.mark.parametrize(
        "args, message",
        [
            (["--map", "Title"], 'write it as "Column name=field"'),
            (["--map", "Title=salary"], "'salary' is not a lead field"),
            (["--map", "Nope=phone"], "--map names no column of the file: Nope"),
            (["--map", "Email="], "Map one column to Email"),
        ],
    )
    def test_a_bad_map_is_an_error(self, tmp_path, args, message):
        path = self.write(tmp_path, people(1))
        with pytest.raises(CommandError, match=message):
            call_command("import_leads", path, "--source", "S", *args, stdout=io.StringIO(), stderr=io.StringIO())
        assert ImportJob.objects.count() == 0 and Lead.objects.count() == 0

    def test_a_missing_file_is_an_error(self, tmp_path):
        with pytest.raises(CommandError, match="No such file"):
            call_command("import_leads", str(tmp_path / "nope.csv"), "--source", "S")

    def test_a_file_without_an_email_column_is_an_error(self, tmp_path):
        path = self.write(tmp_path, [["Ada"]], header=["Name"])
        with pytest.raises(CommandError, match="No column holds email addresses"):
            call_command("import_leads", path, "--source", "S", stdout=io.StringIO(), stderr=io.StringIO())
