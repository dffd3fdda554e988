from codedreamer.cli.app import main

main()
