from minicontainer.cli import main

raise SystemExit(main())
