"""The trash: how long an object stays, and what purging a virtual machine takes."""

from __future__ import annotations

from datetime import timedelta

# Production keeps a deleted VM for 48 hours (lifecycle-facts §1.5).
TRASH_RETENTION = timedelta(hours=48)
VIRTUAL_MACHINE = "VirtualMachine"
PURGE_TASK_NAME = "Purge items from trash"
