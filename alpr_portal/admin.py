"""Admin registrations that need more than one app (wiring lives here)."""

from django.contrib import admin

from captures.agency_settings import AgencySettingsAdmin
from tenants.models import AgencySettings

admin.site.register(AgencySettings, AgencySettingsAdmin)
