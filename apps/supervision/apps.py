from django.apps import AppConfig


class SupervisionConfig(AppConfig):
    name = "apps.supervision"
    label = "supervision"
    verbose_name = "日常监管与审批"

    def ready(self):
        from apps.cases.daily import register_case_moved, register_daily_step
        from apps.people.extensions import register_demo_step, register_tab_panel

        from . import demo, panels, services

        register_daily_step("supervision", services.supervision_daily)
        register_case_moved(services.case_moved)
        register_tab_panel("checkins", panels.checkins_panel)
        register_tab_panel("approvals", panels.approvals_panel)
        register_demo_step(demo.seed_supervision)
