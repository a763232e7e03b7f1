FROM alpine:3.20
ARG GITHUB_TOKEN
RUN git clone "https://x-access-token:${GITHUB_TOKEN}@github.com/example/private.git" /src
# expect: dockerfile-secret-arg-env@2 dockerfile-secret-in-file@3
