from katapult_ipam.cli import main

main()
