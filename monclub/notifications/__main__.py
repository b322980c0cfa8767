import sys

from monclub import config as configuration
from monclub.events.listener import main
from monclub.notifications import Notifications

sys.exit(main(Notifications(configuration.load())))
