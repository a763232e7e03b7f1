"""What looks at bytes: rule packs, the prefilter, detect-secrets, content sniffing."""
