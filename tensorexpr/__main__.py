from tensorexpr.cli import main

raise SystemExit(main())
