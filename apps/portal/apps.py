from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "apps.portal"
    label = "portal"
    verbose_name = "社区矫正对象手机端"

    def ready(self):
        from apps.monitoring.services import register_reachable

        from .models import Device

        register_reachable(lambda: Device.objects.filter(state=Device.State.ACTIVE).values("account__person_id"))

        from apps.people.extensions import register_tab_panel

        from . import panels

        register_tab_panel("monitoring", panels.monitoring_panel)
