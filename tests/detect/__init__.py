"""What looks at bytes: rules, the detection engine, decoders and gitleaks configs."""
