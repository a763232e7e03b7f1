from hubguard.cli import main

raise SystemExit(main())
