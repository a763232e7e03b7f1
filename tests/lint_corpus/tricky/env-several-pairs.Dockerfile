FROM alpine:3.20
ENV APP_PORT=8080 \
    LOG_LEVEL=info \
    SESSION_SECRET=$SESSION_SECRET
# expect: dockerfile-secret-arg-env@4
