from errorkb.faces.cli import main

main()
