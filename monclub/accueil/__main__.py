import sys
from functools import partial

from monclub.accueil.desk import NAME, Accueil
from monclub.shards.service import main
from monclub.supervision import program

sys.exit(program.run(NAME, partial(main, service=Accueil)))
