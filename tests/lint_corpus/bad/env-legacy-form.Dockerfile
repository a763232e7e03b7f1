FROM alpine:3.20
ENV API_SECRET set-by-ci
# expect: dockerfile-secret-arg-env@2
