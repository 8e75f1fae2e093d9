from django.urls import URLPattern, path

from captures.review import views as review_views
from captures.search import holds as search_holds
from captures.search import views as search_views
from captures.viewing import views as viewing_views

app_name = "captures"
urlpatterns: list[URLPattern] = [
    path(
        "captures/<uuid:capture_id>/image/<str:kind>/",
        viewing_views.capture_image,
        name="capture-image",
    ),
    path("search/", search_views.search, name="search"),
    path("search/<int:search_id>/hold/", search_holds.search_hold, name="search_hold"),
    path("captures/<uuid:capture_id>/", viewing_views.capture_detail, name="capture"),
    path("captures/<uuid:capture_id>/print/", viewing_views.capture_print_page, name="print"),
    path("review/", review_views.review_next, name="review"),
    path("review/<uuid:capture_id>/", review_views.review_item, name="review_item"),
]
