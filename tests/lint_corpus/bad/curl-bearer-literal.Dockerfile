FROM alpine:3.20
RUN apk add --no-cache curl \
 && curl -fsS -H "Authorization: Bearer {b64url:40}" -o /data.json https://api.example.invalid/v1/data
# expect: dockerfile-literal-secret@3
