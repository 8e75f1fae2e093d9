from django.urls import path

from audit import views

app_name = "audit"
urlpatterns = [
    path("", views.events, name="events"),
    path("events/<int:event_id>/", views.event_detail, name="event"),
    path("users/<str:username>/", views.user_detail, name="user"),
    path("flags/", views.flags, name="flags"),
    path("flags/refresh/", views.flags_refresh, name="flags_refresh"),
    path("flags/<int:flag_id>/review/", views.flag_review_view, name="flag_review"),
    path("charts/", views.charts_view, name="charts"),
    path("export.csv", views.export_csv, name="export_csv"),
    path("export.xlsx", views.export_xlsx, name="export_xlsx"),
    path("reports/", views.reports, name="reports"),
    path("reports/generate/", views.report_generate, name="report_generate"),
    path("reports/<int:report_id>/", views.report_detail, name="report"),
    path("reports/<int:report_id>/download/", views.report_download, name="report_download"),
    path("changes/", views.changes, name="changes"),
]
