"""Lab-kernel CPU seconds per task (tests/bench/converge_cost.py): an aggregate callback.

At each task start (and at the end) it reads kernel_cpu_seconds() on the machine
and charges the difference to the task that ran before; the table is written as JSON to
$KERNEL_CPU_OUT.
"""
import json
import os

from ansible.plugins.callback import CallbackBase

from lab.machine import kernel_cpu_seconds  # PYTHONPATH of the lab run

DOCUMENTATION = """
name: kernel_cpu
type: aggregate
short_description: lab-kernel CPU seconds per task
description: lab-kernel CPU seconds per task, written as JSON to $KERNEL_CPU_OUT.
"""


class CallbackModule(CallbackBase):
    """Charges lab-kernel CPU to each task (by play and task name)."""
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "kernel_cpu"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self.rows = []
        self.current = None
        self.play = ""
        self.last = kernel_cpu_seconds()

    def _charge(self, label):
        now = kernel_cpu_seconds()
        if self.current is not None and now is not None and self.last is not None:
            self.rows.append([self.current, round(now - self.last, 2)])
        self.last, self.current = now, label

    def v2_playbook_on_play_start(self, play):
        self._charge(None)
        self.play = play.get_name()

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._charge("%s | %s" % (self.play, task.get_name()))

    def v2_playbook_on_handler_task_start(self, task):
        self._charge("%s | handler %s" % (self.play, task.get_name()))

    def v2_playbook_on_stats(self, stats):
        self._charge(None)
        with open(os.environ["KERNEL_CPU_OUT"], "w") as f:
            json.dump(self.rows, f)
