from django.urls import path

from . import views

app_name = "documents"
urlpatterns = [
    path("<int:pk>.pdf", views.document_pdf_view, name="pdf"),
    path("<int:pk>.docx", views.document_docx_view, name="docx"),
]
