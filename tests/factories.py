"""factory_boy factories for the domain models. Customers are created through the service."""

from __future__ import annotations

from typing import Any

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, User

from customers.models import Customer
from customers.services import CONSENT_FIELDS, customer_create
from stages.models import ActorKind, Stage


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.django.Password("pass-word-123")

    @factory.post_generation
    def role(self: User, create: bool, extracted: str | None, **kwargs: Any) -> None:
        # A post-generation hook is called with the built user, not the factory.
        if create and extracted:
            self.groups.add(Group.objects.get(name=extracted))


class StageFactory(factory.django.DjangoModelFactory[Stage]):
    class Meta:
        model = Stage

    slug = factory.Sequence(lambda n: f"stage-{n}")
    name = factory.LazyAttribute(lambda o: o.slug.replace("-", " ").title())
    phase = "engage"
    position = factory.Sequence(lambda n: 1000 + n)


class CustomerFactory(factory.Factory[Customer]):
    """Builds customers with `customer_create`, so each has its entry transition."""

    class Meta:
        model = Customer

    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    company = factory.Faker("company")

    @classmethod
    def _create(cls, model_class: type, *args: Any, **kwargs: Any) -> Customer:
        stage = kwargs.pop("stage", None)
        if isinstance(stage, str):
            stage = Stage.objects.get(slug=stage)
        kwargs.setdefault("actor_kind", ActorKind.SYSTEM)
        # Test setup, not a consent change: the flags are set on the row with no history entry
        # (the service refuses them; `consent.services.consent_record` is what tests exercise).
        flags = {name: kwargs.pop(name) for name in CONSENT_FIELDS if name in kwargs}
        customer = customer_create(stage=stage, **kwargs)
        if flags:
            stamps = {f"{name}_at": customer.created_at for name, value in flags.items() if value}
            Customer.objects.filter(pk=customer.pk).update(**flags, **stamps)
            for name, value in {**flags, **stamps}.items():
                setattr(customer, name, value)
        return customer
