# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""All or nothing for modules that make several changes: each step carries its
undo; when a step fails, whatever the exception (the kernel's, a file's, a helper
program's), the steps done are undone newest first and the module fails listing
what was done, undone and not run. A step raises; it never calls fail_json (that
would exit before the undo)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type


class StepError(Exception):
    """A step that failed for a reason of its own (not a kernel error)."""


class Step(object):
    """One change: text (what it does), do() and undo() (None: cannot be undone)."""

    def __init__(self, text, do, undo=None):
        self.text, self.do, self.undo = text, do, undo


def run(steps, errors=()):
    """Run steps in order. Returns None when all succeeded, else a dict for fail_json:
    msg, failed_step, steps_done, steps_undone, steps_not_run, undo_errors, changed.

    Any exception of a step rolls back the steps before it (errors: kept for the callers
    that name the errors they expect; every Exception is caught)."""
    errors = (Exception,)
    done = []
    for i, step in enumerate(steps):
        try:
            step.do()
        except errors as exc:
            undone, undo_errors = [], []
            for d in reversed(done):
                if d.undo is None:
                    undo_errors.append("%s: cannot be undone" % d.text)
                    continue
                try:
                    d.undo()
                    undone.append(d.text)
                except errors as uexc:
                    undo_errors.append("undo of %s: %s" % (d.text, _reason(uexc)))
            if undo_errors:
                tail = "undoing failed: %s" % "; ".join(undo_errors)
            else:
                tail = "the %d step(s) done before were undone" % len(done)
            return dict(msg="%s failed: %s; %s" % (step.text, _reason(exc), tail), failed_step=step.text,
                        steps_done=[d.text for d in done], steps_undone=undone,
                        steps_not_run=[s.text for s in steps[i + 1:]], undo_errors=undo_errors,
                        changed=bool(undo_errors))
        done.append(step)
    return None


def _reason(exc):
    """The error text; with the exception's type where it is not an expected one (a KeyError...)."""
    if isinstance(exc, (StepError, EnvironmentError)) or type(exc).__name__ in ("GenlError", "NetlinkError"):
        return str(exc)
    return "%s (%s)" % (exc, type(exc).__name__)


def apply(module, todo, result, errors=()):
    """Run todo unless in check mode; on a failure fail the module with the report."""
    if module.check_mode or not todo:
        return
    failure = run(todo, errors=errors)
    if failure:
        result.update(failure)
        module.fail_json(**result)
