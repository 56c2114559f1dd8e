"""Dashboard routes for interactions, follow-up tasks and purchases."""

from django.urls import path

from interactions.views import (
    InteractionCreateView,
    InteractionDeleteView,
    InteractionUpdateView,
    MyTasksView,
    PurchaseCreateView,
    QuickLogView,
    SupportCaseCloseView,
    TaskCancelView,
    TaskCreateView,
    TaskDoneView,
)

app_name = "interactions"
urlpatterns = [
    path("interactions/log/<int:customer_pk>/", QuickLogView.as_view(), name="quick_log"),
    path("interactions/new/<int:customer_pk>/", InteractionCreateView.as_view(), name="create"),
    path("interactions/<int:pk>/edit/", InteractionUpdateView.as_view(), name="update"),
    path("interactions/<int:pk>/delete/", InteractionDeleteView.as_view(), name="delete"),
    path("interactions/<int:pk>/close/", SupportCaseCloseView.as_view(), name="close_case"),
    path("tasks/", MyTasksView.as_view(), name="my_tasks"),
    path("tasks/new/<int:customer_pk>/", TaskCreateView.as_view(), name="task_create"),
    path("tasks/<int:pk>/done/", TaskDoneView.as_view(), name="task_done"),
    path("tasks/<int:pk>/cancel/", TaskCancelView.as_view(), name="task_cancel"),
    path("purchases/new/<int:customer_pk>/", PurchaseCreateView.as_view(), name="purchase_create"),
]
