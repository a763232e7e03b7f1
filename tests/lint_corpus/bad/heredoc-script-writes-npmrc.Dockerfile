# syntax=docker/dockerfile:1
FROM node:20-slim
ARG NPM_TOKEN
RUN <<EOF
set -e
echo "//registry.example.invalid/:_authToken=$NPM_TOKEN" > /root/.npmrc
npm ci
EOF
# expect: dockerfile-secret-arg-env@3 dockerfile-secret-in-file@6
