from django.urls import path

from captures import image_views, views

app_name = "captures"
urlpatterns: list = [
    path(
        "captures/<uuid:capture_id>/image/<str:kind>/",
        image_views.capture_image,
        name="capture-image",
    ),
    path("search/", views.search, name="search"),
    path("captures/<uuid:capture_id>/", views.capture_detail, name="capture"),
    path("captures/<uuid:capture_id>/print/", views.capture_print, name="print"),
    path("review/", views.review_next, name="review"),
    path("review/<uuid:capture_id>/", views.review_item, name="review_item"),
]
