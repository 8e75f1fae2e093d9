from django.urls import URLPattern, path

from audit.incidents import views

app_name = "incidents"
urlpatterns: list[URLPattern] = [
    path("", views.incident_list, name="list"),
    path("new/", views.incident_new, name="new"),
    path("<int:incident_id>/", views.incident_detail, name="detail"),
    path("<int:incident_id>/edit/", views.incident_edit, name="edit"),
    path("<int:incident_id>/items/add/", views.item_add, name="item_add"),
    path("<int:incident_id>/items/<int:item_id>/remove/", views.item_remove, name="item_remove"),
    path("<int:incident_id>/notifications/add/", views.notification_new, name="notification_add"),
    path(
        "<int:incident_id>/notifications/<int:notification_id>/done/",
        views.notification_record,
        name="notification_done",
    ),
    path("<int:incident_id>/close/", views.incident_close_view, name="close"),
    path("<int:incident_id>/affected.csv", views.affected_csv, name="csv"),
]
