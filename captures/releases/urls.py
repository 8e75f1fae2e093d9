"""The disclosure register's pages (under /releases/)."""

from django.urls import URLPattern, path

from captures.releases import views

app_name = "releases"
urlpatterns: list[URLPattern] = [
    path("", views.register, name="register"),
    path("new/", views.prepare, name="prepare"),
    path("export.csv", views.export_csv, name="export_csv"),
    path("export.xlsx", views.export_xlsx, name="export_xlsx"),
    path("<int:disclosure_id>/", views.detail, name="detail"),
    path("<int:disclosure_id>/decide/", views.decide, name="decide"),
    path("<int:disclosure_id>/package/", views.package_start, name="package_start"),
    path(
        "<int:disclosure_id>/package/<int:package_id>/status.json",
        views.package_status,
        name="package_status",
    ),
    path(
        "<int:disclosure_id>/package/<int:package_id>/download/",
        views.package_file,
        name="package_download",
    ),
]
