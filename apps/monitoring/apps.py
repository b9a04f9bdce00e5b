from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "apps.monitoring"
    label = "monitoring"
    verbose_name = "信息化核查与定位监控"

    def ready(self):
        from apps.cases.daily import register_daily_step

        from . import services

        register_daily_step("monitoring", services.monitoring_daily)
