from tools.search.cli import main

main()
