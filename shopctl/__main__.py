from shopctl.app import main

main()
