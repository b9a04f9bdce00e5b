from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "apps.people"
    label = "people"
    verbose_name = "社区矫正对象"

    def ready(self):
        from apps.orgs.extensions import register_org_counter
        from apps.orgs.rules import Action

        from .selectors import supervisee_counts_by_org

        register_org_counter(action=Action.SUPERVISEE_VIEW, label="在矫人数", count=supervisee_counts_by_org)
