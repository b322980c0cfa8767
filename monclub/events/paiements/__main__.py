import sys

from monclub.events.listener import main
from monclub.events.paiements import NAME, Paiements

sys.exit(main(NAME, lambda config: Paiements()))
