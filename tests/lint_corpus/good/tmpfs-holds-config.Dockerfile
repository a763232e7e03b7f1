FROM alpine:3.20
RUN --mount=type=secret,id=t,env=API_TOKEN --mount=type=tmpfs,target=/root/.config \
    echo "$API_TOKEN" > /root/.config/token && /usr/local/bin/fetch-assets
# expect: none
