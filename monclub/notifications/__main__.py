import sys

from monclub.events.listener import main
from monclub.notifications import NAME, Notifications

sys.exit(main(NAME, Notifications))
