#!/usr/bin/env python3
"""Runs one task whose custom executor is tests/pymesos/http_executor.py, a pymesos
executor, and exits 0 when it saw TASK_RUNNING and then TASK_FINISHED (which that
executor sends only after the agent's ACKNOWLEDGED).
Usage: executor_scheduler.py MASTER PYTHON EXECUTOR_SCRIPT [GO_FILE]
With GO_FILE the framework checkpoints and its executor finishes once GO_FILE exists."""
import getpass
import logging
import socket
import sys
import threading
import uuid

from pymesos import MesosSchedulerDriver, Scheduler

TERMINAL = {"TASK_FINISHED", "TASK_FAILED", "TASK_KILLED", "TASK_LOST",
            "TASK_ERROR", "TASK_DROPPED", "TASK_GONE"}


def scalar(name, value):
    return {"name": name, "type": "SCALAR", "scalar": {"value": value}}


class CustomExecutorTask(Scheduler):
    def __init__(self, command):
        self.command = command
        self.launched = False
        self.states = []
        self.done = threading.Event()

    def resourceOffers(self, driver, offers):
        for offer in offers:
            if self.launched:
                driver.declineOffer(offer["id"], filters={"refuse_seconds": 60})
                continue
            task = {
                "task_id": {"value": "t-" + uuid.uuid4().hex[:8]},
                "agent_id": offer["agent_id"],
                "name": "pymesos-executor-task",
                "executor": {
                    "executor_id": {"value": "pymesos-executor"},
                    "name": "pymesos executor",
                    "command": {"value": self.command, "shell": True},
                    "resources": [scalar("cpus", 0.1), scalar("mem", 32)],
                },
                "resources": [scalar("cpus", 0.1), scalar("mem", 32)],
            }
            driver.launchTasks(offer["id"], [task])
            self.launched = True

    def statusUpdate(self, driver, update):
        print("status", update["task_id"]["value"], update["state"],
              update.get("message", ""), flush=True)
        self.states.append(update["state"])
        if update["state"] in TERMINAL:
            self.done.set()


def main():
    logging.basicConfig(level=logging.INFO)
    go_file = sys.argv[4] if len(sys.argv) > 4 else None
    command = sys.argv[2] + " " + sys.argv[3]
    if go_file:
        command += " --wait-for " + go_file
    scheduler = CustomExecutorTask(command)
    framework = {"user": getpass.getuser(), "name": "pymesos-executor",
                 "hostname": socket.gethostname(), "failover_timeout": 0,
                 "checkpoint": bool(go_file)}
    driver = MesosSchedulerDriver(scheduler, framework, sys.argv[1], use_addict=False)
    driver.start()
    finished = scheduler.done.wait(120)
    driver.stop()
    driver.join()
    print("states:", scheduler.states, flush=True)
    ok = finished and "TASK_RUNNING" in scheduler.states and scheduler.states[-1] == "TASK_FINISHED"
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
