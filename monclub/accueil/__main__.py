import sys
from functools import partial

from monclub import program
from monclub.accueil.desk import NAME, Accueil
from monclub.service import main

sys.exit(program.run(NAME, partial(main, service=Accueil)))
