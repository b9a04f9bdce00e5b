"""Background jobs of the case lifecycle."""
from celery import shared_task


@shared_task(name="cases.daily", ignore_result=True)
def daily() -> dict:
    """Missed intakes, overdue deadlines and the release stage, once a day (see services.cases_daily)."""
    from .daily import run_daily

    return run_daily()
