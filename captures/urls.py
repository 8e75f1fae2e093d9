from django.urls import URLPattern, path

from captures.alerts import views as alert_views
from captures.review import views as review_views
from captures.search import holds as search_holds
from captures.search import views as search_views
from captures.sharing import views as sharing_views
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
    # Sharing between agencies (captures/sharing): reads of a granting agency, and the grants.
    path(
        "shared/<slug:agency>/captures/<uuid:capture_id>/",
        sharing_views.shared_capture,
        name="shared-capture",
    ),
    path(
        "shared/<slug:agency>/captures/<uuid:capture_id>/image/<str:kind>/",
        sharing_views.shared_image,
        name="shared-image",
    ),
    path("sharing/", sharing_views.grants, name="sharing"),
    path("sharing/<int:grant_id>/accept/", sharing_views.grant_accept_view, name="sharing-accept"),
    path("sharing/<int:grant_id>/renew/", sharing_views.grant_renew_view, name="sharing-renew"),
    path("sharing/<int:grant_id>/revoke/", sharing_views.grant_revoke_view, name="sharing-revoke"),
    path("alerts/", alert_views.alert_list, name="alerts"),
    path("alerts/poll/", alert_views.alert_poll, name="alerts-poll"),
    path("alerts/<int:hit_id>/", alert_views.alert_detail, name="alert"),
    path("alerts/<int:hit_id>/decide/", alert_views.alert_decide_view, name="alert-decide"),
    path("alerts/<int:hit_id>/act/", alert_views.alert_act_view, name="alert-act"),
    path(
        "alerts/<int:hit_id>/image/<str:kind>/",
        alert_views.alert_image_view,
        name="alert-image",
    ),
    path("hotlists/", alert_views.hotlists_page, name="hotlists"),
    path(
        "hotlists/entries/<int:entry_id>/change/",
        alert_views.entry_change_view,
        name="hotlist-entry-change",
    ),
    path(
        "hotlists/entries/<int:entry_id>/remove/",
        alert_views.entry_remove_view,
        name="hotlist-entry-remove",
    ),
    path("hotlists/report/", alert_views.hotlist_report, name="hotlist-report"),
]
