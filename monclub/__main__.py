from monclub.cli import main

main()
