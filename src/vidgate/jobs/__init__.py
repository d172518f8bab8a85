"""Jobs: the record and its status (models, status), the store (store), its engine (database)."""

from vidgate.jobs.database import create_engine
from vidgate.jobs.models import NO_OWNER, Attempt, Job, JobEvent, new_job_id
from vidgate.jobs.status import ACTIVE_STATUSES, TERMINAL_STATUSES, Status
from vidgate.jobs.store import CreatedJob, JobChanges, JobPage, JobStore, StaleJob, hash_request

__all__ = [
    "ACTIVE_STATUSES",
    "NO_OWNER",
    "TERMINAL_STATUSES",
    "Attempt",
    "CreatedJob",
    "Job",
    "JobChanges",
    "JobEvent",
    "JobPage",
    "JobStore",
    "StaleJob",
    "Status",
    "create_engine",
    "hash_request",
    "new_job_id",
]
