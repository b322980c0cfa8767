import sys

from monclub.supervision import program
from monclub.web.server import serve

if __name__ == "__main__":
    sys.exit(program.run("web", serve))
