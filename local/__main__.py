from local.run import main

main()
