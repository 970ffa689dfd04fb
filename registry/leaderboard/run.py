"""One trial of a leaderboard, and the board's bookkeeping."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from registry.models import TRIAL_ACTIVE, Leaderboard, Trial


def update_board(board_id: int) -> None:
    """Count the board's finished trials; once none is left to run, the board is done
    (cancelled boards stay cancelled)."""
    with transaction.atomic():
        trials = Trial.objects.filter(leaderboard_id=board_id)
        done = trials.exclude(status__in=TRIAL_ACTIVE).count()
        board = Leaderboard.objects.filter(pk=board_id)
        board.update(trials_done=done)
        if not trials.filter(status__in=TRIAL_ACTIVE).exists():
            board.filter(status__in=(Leaderboard.Status.QUEUED, Leaderboard.Status.RUNNING)).update(
                status=Leaderboard.Status.DONE, finished_at=timezone.now()
            )
