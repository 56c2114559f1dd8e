"""Dashboard routes for customers."""

from django.urls import path

from customers.views import CustomerDetailView, CustomerListView

app_name = "customers"
urlpatterns = [
    path("", CustomerListView.as_view(), name="list"),
    path("<int:pk>/", CustomerDetailView.as_view(), name="detail"),
]
