FROM alpine:3.20
ARG DEPLOY_USER=ci
ADD https://${DEPLOY_USER}:${DEPLOY_PASS}@files.example.invalid/app.tgz /tmp/app.tgz
# expect: dockerfile-add-url-credentials@3
