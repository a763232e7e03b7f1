"""``hubguard push NAME[:TAG]``: scan, decide, then docker push or refuse (0 pushed, 1 refused,
2 usage or input error, 3 scan or push failed). The suppression files are checked before
anything else runs, as for ``scan``: a mistake in them costs no scan."""

from __future__ import annotations

import argparse

from hubguard.commands.common import COLOR_CHOICES, load_checked_suppressions, scan_options


def run(args: argparse.Namespace) -> int:
    from hubguard.detect.rules import load_rules
    from hubguard.push.flow import PushRequest, guarded_push

    options = scan_options(args)
    request = PushRequest(
        target=args.target,
        all_tags=args.all_tags,
        quiet=args.quiet,
        platform=args.platform,
        disable_content_trust=args.disable_content_trust,
        scan_options=options,
        baseline=args.baseline,
        report_format=args.format,
        report_output=args.output,
        color=COLOR_CHOICES[args.color],
        suppressions=load_checked_suppressions(
            args.baseline, lambda: load_rules(options.rules_dirs), args.ignore_file
        ),
        create_private=args.create_private,
        dry_run=args.dry_run,
        decision_json=args.decision_json,
    )
    return guarded_push(request)
