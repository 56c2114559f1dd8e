from django.apps import AppConfig


class CustomersConfig(AppConfig):
    """Customers: contact data, ownership, consent, and where they stand on the wheel."""

    name = "customers"
    verbose_name = "Customers"
