from django.contrib import admin

from sdr_desk.sequences.models import (
    Enrollment,
    InboundMessage,
    Outbox,
    RepSignature,
    SequenceTemplate,
    Step,
    StepRun,
    StepVariant,
    Unsubscribe,
)


class StepInline(admin.TabularInline):
    model = Step
    extra = 0


@admin.register(SequenceTemplate)
class SequenceTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "team", "tier", "auto_enroll", "is_active"]
    inlines = [StepInline]


@admin.register(Enrollment)
class EnrollmentAdmin(admin.ModelAdmin):
    list_display = ["lead", "template", "status", "stop_reason", "started_at"]
    list_filter = ["status"]
    raw_id_fields = ["lead"]


admin.site.register(StepRun)
admin.site.register(Outbox)
admin.site.register(Unsubscribe)


@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):
    """Every inbound message, the unmatched ones too: nothing posted is lost."""

    list_display = ["received_at", "kind", "from_address", "subject", "rule"]
    list_filter = ["kind"]
    raw_id_fields = ["enrollment"]


@admin.register(StepVariant)
class StepVariantAdmin(admin.ModelAdmin):
    """A/B variants of a step's text (an inline of an inline is not possible in the admin)."""

    list_display = ["step", "label", "subject"]
    list_select_related = ["step__template"]


@admin.register(RepSignature)
class RepSignatureAdmin(admin.ModelAdmin):
    list_display = ["user", "updated_at"]
    raw_id_fields = ["user"]
