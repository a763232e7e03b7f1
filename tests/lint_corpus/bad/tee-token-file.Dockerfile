FROM alpine:3.20
RUN --mount=type=secret,id=api,env=API_TOKEN printf '%s' "$API_TOKEN" | tee /etc/app/token >/dev/null
# expect: dockerfile-secret-in-file@2
