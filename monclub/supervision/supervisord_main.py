"""supervisord, the root of the tree, under a name that says so in ps (`monclub supervisord`)."""

import sys

from supervisor import supervisord

from monclub.supervision.process import set_title

if __name__ == "__main__":
    set_title("supervisord")
    supervisord.main(sys.argv[1:])
