#!/usr/bin/env python3
"""A pymesos executor (unmodified pymesos 0.3.15, v1 executor API): on LAUNCH it sends
TASK_RUNNING, waits for the agent's ACKNOWLEDGED of it, then sends TASK_FINISHED (or
TASK_FAILED when no ACKNOWLEDGED came). With `--wait-for FILE` it sends TASK_FINISHED
only once FILE exists (a test restarts the agent meanwhile). It stops on SHUTDOWN."""
import logging
import os
import sys
import threading
import time

from pymesos import Executor, MesosExecutorDriver


def status(task, state, message):
    return {"task_id": task["task_id"], "state": state, "message": message}


class AckingExecutor(Executor):
    def launchTask(self, driver, task):
        def run():
            driver.sendStatusUpdate(status(task, "TASK_RUNNING", "running"))
            deadline = time.time() + 60
            while driver.updates and time.time() < deadline:
                time.sleep(0.05)
            if driver.updates:
                driver.sendStatusUpdate(status(task, "TASK_FAILED", "no ACKNOWLEDGED"))
                return
            if GO_FILE:
                while not os.path.exists(GO_FILE):
                    time.sleep(0.05)
            driver.sendStatusUpdate(status(task, "TASK_FINISHED", "acknowledged"))
        threading.Thread(target=run, daemon=True).start()

    def shutdown(self, driver):
        driver.stop()


GO_FILE = sys.argv[2] if len(sys.argv) > 2 and sys.argv[1] == "--wait-for" else None

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    MesosExecutorDriver(AckingExecutor(), use_addict=False).run()
