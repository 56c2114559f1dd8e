"""Routes for interactions, tasks and purchases, spliced into flywheel_crm.api_urls."""

from django.urls import path

from interactions.api.views import (
    InteractionBatchApi,
    InteractionDetailApi,
    InteractionListCreateApi,
    PurchaseBatchApi,
    PurchaseDetailApi,
    PurchaseListCreateApi,
    SupportCaseCloseApi,
    TaskCancelApi,
    TaskCompleteApi,
    TaskDetailApi,
    TaskListCreateApi,
)

urlpatterns = [
    path("interactions/", InteractionListCreateApi.as_view(), name="interaction-list"),
    path("interactions/batch/", InteractionBatchApi.as_view(), name="interaction-batch"),
    path("interactions/<int:pk>/", InteractionDetailApi.as_view(), name="interaction-detail"),
    path("interactions/<int:pk>/close/", SupportCaseCloseApi.as_view(), name="interaction-close"),
    path("tasks/", TaskListCreateApi.as_view(), name="task-list"),
    path("tasks/<int:pk>/", TaskDetailApi.as_view(), name="task-detail"),
    path("tasks/<int:pk>/complete/", TaskCompleteApi.as_view(), name="task-complete"),
    path("tasks/<int:pk>/cancel/", TaskCancelApi.as_view(), name="task-cancel"),
    path("purchases/", PurchaseListCreateApi.as_view(), name="purchase-list"),
    path("purchases/batch/", PurchaseBatchApi.as_view(), name="purchase-batch"),
    path("purchases/<int:pk>/", PurchaseDetailApi.as_view(), name="purchase-detail"),
]
