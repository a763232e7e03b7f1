FROM alpine:3.20
ARG GITHUB_TOKEN=ghp_{alnum:36}
RUN apk add --no-cache git
# expect: dockerfile-secret-arg-env@2 dockerfile-literal-secret@2
