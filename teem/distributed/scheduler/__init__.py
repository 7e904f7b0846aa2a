"""The distributed scheduler: its decisions as a pure state machine (events in, instructions out)."""

from teem.distributed.scheduler.events import (AddReplicas, AddWorker, CancelKeys, CloseWorker, Event,
                                               Execute, ExecuteTask, FreeKeys, Heartbeat, Instruction,
                                               KeyUpdate, MissingData, ReleaseKeys, RemoveClient,
                                               RemoveWorker, Report, RetireWorker, TaskErred,
                                               TaskFinished, TaskSpec, Tick, UpdateGraph)
from teem.distributed.scheduler.records import InvalidSchedulerState, PrefixState, TaskState, WorkerState
from teem.distributed.scheduler.state import SchedulerState

__all__ = [
    "SchedulerState", "TaskState", "WorkerState", "PrefixState", "InvalidSchedulerState",
    "Event", "TaskSpec", "UpdateGraph", "ReleaseKeys", "CancelKeys", "RemoveClient", "AddWorker",
    "RemoveWorker", "RetireWorker", "TaskFinished", "TaskErred", "AddReplicas", "MissingData",
    "Heartbeat", "Tick",
    "Instruction", "Execute", "ExecuteTask", "FreeKeys", "Report", "KeyUpdate", "CloseWorker",
]
