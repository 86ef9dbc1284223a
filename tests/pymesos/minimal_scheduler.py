#!/usr/bin/env python3
"""Runs one command task with pymesos and exits 0 when it saw TASK_RUNNING and then
TASK_FINISHED. Usage: minimal_scheduler.py MASTER [COMMAND]"""
import getpass
import logging
import socket
import sys
import threading
import uuid

from pymesos import MesosSchedulerDriver, Scheduler

TERMINAL = {"TASK_FINISHED", "TASK_FAILED", "TASK_KILLED", "TASK_LOST",
            "TASK_ERROR", "TASK_DROPPED", "TASK_GONE"}


class OneTask(Scheduler):
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
                "name": "pymesos-minimal",
                "command": {"value": self.command, "shell": True},
                "resources": [
                    {"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}},
                    {"name": "mem", "type": "SCALAR", "scalar": {"value": 32}},
                ],
            }
            driver.launchTasks(offer["id"], [task])
            self.launched = True

    def statusUpdate(self, driver, update):
        print("status", update["task_id"]["value"], update["state"], flush=True)
        self.states.append(update["state"])
        if update["state"] in TERMINAL:
            self.done.set()


def main():
    logging.basicConfig(level=logging.INFO)
    scheduler = OneTask(sys.argv[2] if len(sys.argv) > 2 else "echo hello")
    framework = {"user": getpass.getuser(), "name": "pymesos-minimal",
                 "hostname": socket.gethostname(), "failover_timeout": 0}
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
