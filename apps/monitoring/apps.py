from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "apps.monitoring"
    label = "monitoring"
    verbose_name = "信息化核查与定位监控"

    def ready(self):
        from django.db.models.signals import post_save

        from apps.cases.daily import register_case_moved, register_daily_step
        from apps.supervision.models import Request

        from . import location, services

        register_daily_step("monitoring", services.monitoring_daily)
        register_daily_step("location", location.daily)
        register_case_moved(location.case_moved)

        def leave_changed(sender, instance, **kwargs):
            # an approved leave is a temporary allowed area for its dates (the destination county's boundary);
            # the case's fences follow the request in the same transaction
            if instance.kind == "leave" and instance.case_id:
                location.fences_sync_if_monitored(instance.case_id)

        post_save.connect(leave_changed, sender=Request, weak=False, dispatch_uid="monitoring.leave_fences")
