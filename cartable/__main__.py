from cartable.cli import main

main()
