FROM alpine:3.20
# hubguard: ignore=dockerfile-secret-arg-env
ARG BUILD_TOKEN
# expect: dockerfile-secret-arg-env@3
