#!/usr/bin/env python3
"""Subscribes with pymesos, prints `registered <id>`, and exits 0 once pymesos has
re-subscribed with that id (the master restarted) and prints `reregistered <id>`.
Usage: reconnecting_scheduler.py MASTER"""
import getpass
import logging
import sys
import threading

from pymesos import MesosSchedulerDriver, Scheduler


class Reconnecting(Scheduler):
    def __init__(self):
        self.reregistered_event = threading.Event()

    def registered(self, driver, framework_id, master_info):
        print("registered", framework_id["value"], flush=True)

    def reregistered(self, driver, master_info):
        print("reregistered", driver.framework_id, flush=True)
        self.reregistered_event.set()

    def resourceOffers(self, driver, offers):
        for offer in offers:
            driver.declineOffer(offer["id"], filters={"refuse_seconds": 60})


def main():
    logging.basicConfig(level=logging.INFO)
    scheduler = Reconnecting()
    framework = {"user": getpass.getuser(), "name": "pymesos-reconnecting",
                 "failover_timeout": 300}
    driver = MesosSchedulerDriver(scheduler, framework, sys.argv[1], use_addict=False)
    driver.start()
    ok = scheduler.reregistered_event.wait(120)
    driver.stop()
    driver.join()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
