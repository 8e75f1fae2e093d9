from django.urls import path

from captures import image_views

app_name = "captures"
urlpatterns: list = [
    # Images (captures helper). Keep these first; search, capture and review pages follow.
    path(
        "captures/<uuid:capture_id>/image/<str:kind>/",
        image_views.capture_image,
        name="capture-image",
    ),
]
