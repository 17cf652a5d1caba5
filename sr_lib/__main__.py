from sr_lib.cli import main

raise SystemExit(main())
