from django.urls import URLPattern, path

from captures.holds import views

app_name = "holds"
urlpatterns: list[URLPattern] = [
    path("", views.hold_list, name="list"),
    path("new/", views.hold_new, name="new"),
    path("<int:hold_id>/", views.hold_detail, name="detail"),
    path("<int:hold_id>/record/", views.hold_record, name="record"),
    path("<int:hold_id>/renew/", views.hold_renew_view, name="renew"),
    path("<int:hold_id>/release/", views.hold_release_view, name="release"),
    path(
        "<int:hold_id>/captures/<uuid:capture_id>/image/<str:kind>/",
        views.hold_image_view,
        name="image",
    ),
]
