import sys

from monclub.events.listener import main
from monclub.paiements import Paiements

sys.exit(main(Paiements()))
