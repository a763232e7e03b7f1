# syntax=docker/dockerfile:1
FROM alpine:3.20
RUN --mount=type=secret,id=t,env=API_TOKEN cat <<'EOF' > /etc/motd
Tokens like $API_TOKEN are mounted at build time only.
EOF
# expect: none
