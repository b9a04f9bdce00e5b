"""Background jobs of 信息化核查."""
from celery import shared_task


@shared_task(name="monitoring.sweep", ignore_result=True)
def sweep() -> int:
    """Open spot checks past their answer window become 未答复 (every minute under beat)."""
    from .services import sweep as run

    return run()


@shared_task(name="monitoring.location_sweep", ignore_result=True)
def location_sweep() -> dict:
    """Stored batches not yet evaluated, silent wristbands (signal lost), unacknowledged alerts to the county."""
    from .location import sweep as run

    return run()
