from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from inbound.models import (
    Account,
    Activity,
    ApiKey,
    HostedForm,
    IdempotencyKey,
    ImportJob,
    Lead,
    RateLimitBucket,
    Source,
    Submission,
    TimelineEntry,
    VisitorLink,
)
from inbound.services import submissions_replay


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    extra = 0
    fields = ["name", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "created_at", "last_used_at"]
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        # Keys are made with `manage.py create_api_key`, which shows the secret once.
        return False


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ["name", "channel", "is_active", "created_at"]
    list_filter = ["channel", "is_active"]
    search_fields = ["name"]
    inlines = [ApiKeyInline]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["prefix", "source", "name", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["source"]
    readonly_fields = ["prefix", "hashed_key", "created_at", "last_used_at"]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {count} key(s).")


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["domain", "name", "industry", "employee_count", "country"]
    search_fields = ["domain", "name"]


class ActivityInline(admin.TabularInline):
    model = Activity
    extra = 0
    fields = ["type", "form_type", "name", "url", "occurred_at", "source"]
    readonly_fields = fields
    show_change_link = True


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = ["email", "first_name", "last_name", "company", "status", "source", "created_at"]
    list_filter = ["status", "source", "is_personal_email", "last_form_type"]
    search_fields = ["email", "first_name", "last_name", "company"]
    raw_id_fields = ["account"]
    readonly_fields = ["created_at", "updated_at", "conversion_count", "last_converted_at",
                       "merged_into"]  # set by the desk's merge only (it moves the history too)
    list_select_related = ["source"]
    inlines = [ActivityInline]


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = ["type", "form_type", "name", "lead", "occurred_at", "pending_visitor_id", "pending_email"]
    list_filter = ["type"]
    raw_id_fields = ["lead", "submission"]
    list_select_related = ["lead"]


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "channel", "source", "status", "received_at", "attempts", "lead"]
    list_filter = ["status", "kind", "channel", "source"]
    search_fields = ["error", "lead__email"]
    raw_id_fields = ["lead", "import_job", "hosted_form", "api_key"]
    readonly_fields = ["received_at", "processed_at", "attempts", "remote_addr", "user_agent", "created_lead"]
    list_select_related = ["source", "lead"]
    actions = ["replay"]

    @admin.action(description="Replay the selected submissions")
    def replay(self, request: HttpRequest, queryset: QuerySet[Submission]) -> None:
        counts = submissions_replay(queryset)
        level = messages.WARNING if counts.get("failed") or counts.get("rejected") else messages.SUCCESS
        self.message_user(request, ", ".join(f"{n} {status}" for status, n in counts.items()), level)


@admin.register(TimelineEntry)
class TimelineEntryAdmin(admin.ModelAdmin):
    list_display = ["lead", "kind", "summary", "actor", "actor_label", "occurred_at"]
    list_filter = ["kind"]
    raw_id_fields = ["lead", "actor"]
    list_select_related = ["lead", "actor"]


@admin.register(HostedForm)
class HostedFormAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "form_type", "source", "is_active"]
    list_filter = ["form_type", "is_active"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = ["id", "original_name", "source", "status", "next_row", "total_rows", "created_count",
                    "merged_count", "rejected_count", "created_at"]
    list_filter = ["status"]
    readonly_fields = ["headers", "started_at", "finished_at"]


@admin.register(VisitorLink)
class VisitorLinkAdmin(admin.ModelAdmin):
    list_display = ["visitor_id", "lead", "created_at"]
    raw_id_fields = ["lead"]


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(admin.ModelAdmin):
    list_display = ["key", "endpoint", "api_key", "response_status", "created_at"]


@admin.register(RateLimitBucket)
class RateLimitBucketAdmin(admin.ModelAdmin):
    list_display = ["key", "window_start", "count"]
