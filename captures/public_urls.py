"""Public pages of an agency's host (no sign-in)."""

from django.urls import path

from captures import public_views

urlpatterns: list = [
    path("policy/", public_views.policy, name="policy"),
    path("transparency/", public_views.transparency, name="transparency"),
    path(
        "transparency/checkpoint.json",
        public_views.transparency_checkpoint,
        name="transparency-checkpoint",
    ),
]
