from local.stack.run import main

main()
