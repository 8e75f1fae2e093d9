"""Public pages of an agency's host (no sign-in)."""

from django.urls import path

from captures.transparency import views

urlpatterns: list = [
    path("policy/", views.policy, name="policy"),
    path("transparency/", views.transparency, name="transparency"),
    path(
        "transparency/checkpoint.json",
        views.transparency_checkpoint,
        name="transparency-checkpoint",
    ),
]
