# syntax=docker/dockerfile:1
FROM node:20-slim
ARG NPM_TOKEN
RUN cat <<EOF > /root/.npmrc
//registry.example.invalid/:_authToken=${NPM_TOKEN}
EOF
RUN npm ci
# expect: dockerfile-secret-arg-env@3 dockerfile-secret-in-file@4
