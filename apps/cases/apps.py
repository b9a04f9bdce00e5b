from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "apps.cases"
    label = "cases"
    verbose_name = "社区矫正案件"

    def ready(self):
        from apps.people.extensions import register_case_hooks, register_demo_step, register_tab_panel

        from . import demo, panels, services

        register_case_hooks(opened=services.cases_open, changed=services.case_person_changed,
                            readmitted=services.case_readmit, readmit_check=services.readmission_refusal,
                            team_changed=services.case_team_changed)
        register_tab_panel("case", panels.case_panel)
        register_tab_panel("documents", panels.documents_panel)
        register_demo_step(demo.seed_stages)
