import sys

from monclub.events.listener import main
from monclub.events.notifications import NAME, Notifications

sys.exit(main(NAME, Notifications))
