#!/usr/bin/env python3
"""Subscribes to the master's operator event stream with pymesos's
MesosOperatorMasterDriver; prints `subscribed`, then `TASK_ADDED <task id>` and
`TASK_UPDATED <state>` per event; exits 0 after a TASK_UPDATED to TASK_FINISHED.
Usage: operator_watcher.py MASTER"""
import logging
import sys
import threading

from pymesos import MesosOperatorMasterDriver, OperatorMaster


class Watcher(OperatorMaster):
    def __init__(self):
        self.finished = threading.Event()

    def taskAdded(self, task_info):
        print("TASK_ADDED", task_info["task_id"]["value"], flush=True)

    def taskUpdated(self, task_info):
        print("TASK_UPDATED", task_info["state"], flush=True)
        if task_info["state"] == "TASK_FINISHED":
            self.finished.set()


class Driver(MesosOperatorMasterDriver):
    def on_subscribed(self, info):
        assert "get_state" in info
        print("subscribed", flush=True)


def main():
    logging.basicConfig(level=logging.INFO)
    watcher = Watcher()
    driver = Driver(sys.argv[1], watcher)
    driver.start()
    ok = watcher.finished.wait(120)
    driver.stop()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
