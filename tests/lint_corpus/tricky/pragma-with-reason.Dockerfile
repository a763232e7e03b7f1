FROM alpine:3.20
# hubguard: ignore=dockerfile-secret-arg-env the value is a public build id, not a credential
ARG BUILD_TOKEN
# expect: none
