"""Background jobs for supervisees: thin wrappers over services."""
from celery import shared_task

from . import services


@shared_task(name="people.export_build")
def export_build(job_id: int, ip: str = "") -> None:
    services.export_job_build(job_id=job_id, ip=ip)


@shared_task(name="people.sweep_files", ignore_result=True)
def sweep_files() -> dict:
    """Daily: staged import sheets never confirmed, export files past their keeping time."""
    return {"imports": services.staged_imports_sweep(), "exports": services.export_jobs_sweep()}
