"""Dashboard routes for customers."""

from django.urls import path

from customers.views import (
    CustomerCreateView,
    CustomerDeleteView,
    CustomerDetailView,
    CustomerExportView,
    CustomerListView,
    CustomerUpdateView,
)

app_name = "customers"
urlpatterns = [
    path("", CustomerListView.as_view(), name="list"),
    path("new/", CustomerCreateView.as_view(), name="create"),
    path("export.csv", CustomerExportView.as_view(), name="export"),
    path("<int:pk>/", CustomerDetailView.as_view(), name="detail"),
    path("<int:pk>/edit/", CustomerUpdateView.as_view(), name="update"),
    path("<int:pk>/delete/", CustomerDeleteView.as_view(), name="delete"),
]
