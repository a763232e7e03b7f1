# syntax=docker/dockerfile:1
FROM alpine:3.20
RUN apk add --no-cache git openssh-client
RUN --mount=type=ssh git clone git@github.com:example/private.git /src
# expect: none
