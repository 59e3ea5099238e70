from __future__ import annotations

import factory
from django.contrib.auth.models import Group, User

from inbound.models import ApiKey, HostedForm, Lead, Source


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@desk.test")
    password = factory.django.Password("pw")

    @factory.post_generation
    def roles(self, create: bool, extracted: list[str] | None, **kwargs: object) -> None:
        for role in extracted or []:
            self.groups.add(Group.objects.get(name=role))


class SourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Source
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"Source {n}")
    channel = "web_form"


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    email = factory.Sequence(lambda n: f"lead{n}@acme{n}.example")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    company = factory.Faker("company")
    source = factory.SubFactory(SourceFactory)


class HostedFormFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HostedForm

    slug = factory.Sequence(lambda n: f"form-{n}")
    name = factory.Sequence(lambda n: f"Form {n}")
    title = "Book a demo"
    source = factory.SubFactory(SourceFactory)
    form_type = "demo_request"
    fields = ["first_name", "last_name", "company", "job_title", "phone", "country"]
    required_fields = ["first_name", "company"]


def api_key_for(source: Source) -> str:
    return ApiKey.generate(source=source)[1]
