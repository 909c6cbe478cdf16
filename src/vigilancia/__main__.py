from vigilancia.cli import main

main()
