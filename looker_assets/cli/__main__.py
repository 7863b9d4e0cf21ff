from looker_assets.cli import main

main()
