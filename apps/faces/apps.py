from django.apps import AppConfig


class FacesConfig(AppConfig):
    name = "apps.faces"
    label = "faces"
    verbose_name = "人脸核验"
